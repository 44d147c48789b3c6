/**
 * `npm run web`'s program (web/server/main.ts): it prints the page's URL and
 * serves it; a bad option or a missing file is one line on stderr and status 1.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const MAIN = path.join(ROOT, "dist", "web", "server", "main.js");

test("bad options and missing files: one line on stderr, status 1", () => {
  for (const [args, env, message] of [
    [["--port", "http"], {}, /^tsemu-web: --port http: expected a port number, 0 to 65535\n$/],
    [[], { PORT: "70000" }, /^tsemu-web: PORT= 70000: expected a port number/],
    [["--frobnicate"], {}, /^tsemu-web: unknown option --frobnicate \(try --help\)\n$/],
    [["--port"], {}, /^tsemu-web: --port needs a value\n$/],
    [["--kernel", "/nonexistent/Image", "--initrd", "/nonexistent/initrd", "--port", "0"], {}, /^tsemu-web: the kernel \/nonexistent\/Image does not exist\n$/],
  ] as const) {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { ...process.env, PORT: "", ...env } });
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});

test("it prints the URL it serves the page at, with a disk's URL", async () => {
  const child = spawn(process.execPath, [MAIN, "--port", "0", "--disk", path.join(ROOT, "package.json")], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const out = await new Promise<string>((resolve, reject) => {
      let text = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (s: string) => { text += s; if (/\n.*\n/.test(text)) resolve(text); });
      child.on("exit", (code) => reject(new Error(`exited with ${code}: ${text}`)));
    });
    const m = /^tsemu web page: (http:\/\/127\.0\.0\.1:\d+\/)\ndisk \S+package\.json: (\S+)\n/.exec(out);
    assert.ok(m, out);
    const page = await fetch(m[1]);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>tsemu/);
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.equal(m[2], `${m[1]}?disk=disk%2Fpackage.json`);
    const disk = await fetch(`${m[1]}disk/package.json`, { headers: { Range: "bytes=0-0" } });
    assert.equal(disk.status, 206);
    assert.equal(await disk.text(), "{");
  } finally {
    child.kill();
  }
});
