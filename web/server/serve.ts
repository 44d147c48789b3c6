/**
 * The page's HTTP server: a fixed table of URL paths, each naming bytes in
 * memory or a host file, and nothing else (no path is ever joined to a
 * folder, so nothing outside the table can be reached).  Every answer
 * carries the headers that make the page cross-origin isolated
 * (SharedArrayBuffer and Atomics work there); GET and HEAD only; a single
 * `Range: bytes=` is answered with 206 and Content-Range, as disks from a
 * URL need.  Loopback only.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export type Resource =
  | { kind: "bytes"; bytes: Uint8Array; type: string }
  | { kind: "file"; path: string; type: string };

/** Headers on every answer: cross-origin isolation, no sniffing, no stale builds. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
};

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  json: "application/json; charset=utf-8",
};

/** The content type for a file name: by its extension, else raw bytes. */
export function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot < 0 ? undefined : TYPES[name.slice(dot + 1).toLowerCase()]) ?? "application/octet-stream";
}

/**
 * The byte range a `Range` header asks of a `size`-byte body: `null` when
 * the header is absent or not one we answer with a range (several ranges,
 * another unit: the whole body is sent, as HTTP allows), "unsatisfiable"
 * when it lies outside the body.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) return null;
  const [, first, last] = m;
  if (first === "" && last === "") return null;
  let start: number;
  let end: number;
  if (first === "") {
    // bytes=-N: the last N bytes.
    const n = Number(last);
    if (n === 0) return "unsatisfiable";
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== "" && Number(last) < start) return null;
  }
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  return { start, end };
}

export interface PageServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Told of each answer: method, path, status, Range header (for a log, and the tests). */
export type RequestLog = (method: string, path: string, status: number, range: string | undefined) => void;

function answer(req: http.IncomingMessage, res: http.ServerResponse, routes: ReadonlyMap<string, Resource>, log?: RequestLog): void {
  const pathname = (req.url ?? "/").split("?")[0];
  const resource = routes.get(pathname);
  res.on("finish", () => log?.(req.method ?? "", pathname, res.statusCode, req.headers.range));
  const plain = (status: number, text: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { ...COMMON_HEADERS, "Content-Type": "text/plain; charset=utf-8", ...extra });
    res.end(req.method === "HEAD" ? undefined : `${text}\n`);
  };
  if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "only GET and HEAD", { Allow: "GET, HEAD" });
  if (resource === undefined) return plain(404, "not found");
  let size: number;
  try {
    size = resource.kind === "bytes" ? resource.bytes.length : fs.statSync(resource.path).size;
  } catch (e) {
    return plain(500, `cannot read the file: ${(e as Error).message}`);
  }
  const headers: Record<string, string> = { ...COMMON_HEADERS, "Content-Type": resource.type, "Accept-Ranges": "bytes" };
  const range = parseRange(req.headers.range, size);
  if (range === "unsatisfiable") return plain(416, "range not satisfiable", { "Content-Range": `bytes */${size}` });
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const length = Math.max(0, end - start + 1);
  headers["Content-Length"] = String(length);
  if (range !== null) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range === null ? 200 : 206, headers);
  if (req.method === "HEAD" || length === 0) {
    res.end();
    return;
  }
  if (resource.kind === "bytes") {
    res.end(resource.bytes.subarray(start, end + 1));
    return;
  }
  const stream = fs.createReadStream(resource.path, { start, end });
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

/** Serves `routes` on 127.0.0.1:`port` (0: any free port). */
export function servePage(routes: ReadonlyMap<string, Resource>, port: number, log?: RequestLog): Promise<PageServer> {
  const server = http.createServer((req, res) => {
    try {
      answer(req, res, routes, log);
    } catch {
      res.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const bound = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${bound}/`,
        port: bound,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
