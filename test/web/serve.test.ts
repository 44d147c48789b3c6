/**
 * The page's server without a browser: only its route table is reachable,
 * every answer is cross-origin isolated, ranges are answered 206 with
 * Content-Range (416 outside the body), HEAD gives the size, other methods
 * are refused.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { contentType, parseRange, servePage, type PageServer, type Resource } from "../../web/server/serve.js";

let server: PageServer;
let tmp: string;
const body = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-serve-"));
  fs.writeFileSync(path.join(tmp, "disk.img"), body);
  fs.writeFileSync(path.join(tmp, "secret"), "not published");
  const routes = new Map<string, Resource>([
    ["/", { kind: "bytes", bytes: new TextEncoder().encode("<!doctype html>"), type: contentType("index.html") }],
    ["/disk/disk.img", { kind: "file", path: path.join(tmp, "disk.img"), type: contentType("disk.img") }],
  ]);
  server = await servePage(routes, 0);
});

after(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A raw request (no URL normalisation on the client's side), its status, headers and body. */
function request(method: string, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.port, method, path: rawPath, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("the page is cross-origin isolated, with its content type", async () => {
  const r = await request("GET", "/");
  assert.equal(r.status, 200);
  assert.equal(r.headers["cross-origin-opener-policy"], "same-origin");
  assert.equal(r.headers["cross-origin-embedder-policy"], "require-corp");
  assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
  assert.equal(contentType("app/worker.js"), "text/javascript; charset=utf-8");
  assert.equal(contentType("Image"), "application/octet-stream");
});

test("ranges: 206 with Content-Range, the open and suffix forms, 416 outside the body", async () => {
  const r = await request("GET", "/disk/disk.img", { Range: "bytes=100-199" });
  assert.equal(r.status, 206);
  assert.equal(r.headers["content-range"], "bytes 100-199/1000");
  assert.deepEqual(new Uint8Array(r.body), body.subarray(100, 200));
  const tail = await request("GET", "/disk/disk.img", { Range: "bytes=-10" });
  assert.equal(tail.headers["content-range"], "bytes 990-999/1000");
  assert.deepEqual(new Uint8Array(tail.body), body.subarray(990));
  const open = await request("GET", "/disk/disk.img", { Range: "bytes=995-" });
  assert.deepEqual(new Uint8Array(open.body), body.subarray(995));
  const past = await request("GET", "/disk/disk.img", { Range: "bytes=1000-1001" });
  assert.equal(past.status, 416);
  assert.equal(past.headers["content-range"], "bytes */1000");
  const whole = await request("GET", "/disk/disk.img");
  assert.equal(whole.status, 200);
  assert.equal(whole.headers["accept-ranges"], "bytes");
  assert.deepEqual(new Uint8Array(whole.body), body);
  const head = await request("HEAD", "/disk/disk.img");
  assert.equal(head.headers["content-length"], "1000");
  assert.equal(head.body.length, 0);
});

test("parseRange: what is answered with a range and what is not", () => {
  assert.deepEqual(parseRange("bytes=0-0", 10), { start: 0, end: 0 });
  assert.deepEqual(parseRange("bytes=5-100", 10), { start: 5, end: 9 });
  assert.equal(parseRange(undefined, 10), null);
  assert.equal(parseRange("bytes=0-1,4-5", 10), null, "several ranges: the whole body");
  assert.equal(parseRange("items=0-1", 10), null);
  assert.equal(parseRange("bytes=5-2", 10), null);
  assert.equal(parseRange("bytes=-0", 10), "unsatisfiable");
  assert.equal(parseRange("bytes=10-", 10), "unsatisfiable");
});

test("nothing outside the route table is reachable; only GET and HEAD", async () => {
  for (const p of ["/secret", "/disk/../secret", "/disk/%2e%2e/secret", "/../../etc/passwd", "/disk/disk.img/", "//disk/disk.img"]) {
    const r = await request("GET", p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(r.body.toString(), /not published/);
  }
  const post = await request("POST", "/");
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, "GET, HEAD");
});
