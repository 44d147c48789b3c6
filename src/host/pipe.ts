/**
 * Host pipes.  Node cannot call pipe(2), but it can open a FIFO: a FIFO made
 * in a private temporary directory, opened once for reading and once for
 * writing and then unlinked, is a pipe in every way that matters (S_IFIFO,
 * the kernel's pipe buffer, EOF when the last writer closes, EPIPE when the
 * last reader closes) and its two ends are real host descriptors, so a child
 * process started with them inherits a working pipe.
 *
 * FIFOs are made with mkfifo(1) a batch at a time; each one serves one pipe.
 */
import { hostTool } from "./tools.js";
import * as fs from "node:fs";
import { makeTempDir } from "./temp-dirs.js";
import path from "node:path";
import { childProcess } from "./builtin.js";

const BATCH = 16;
let dir: string | undefined;
const ready: string[] = [];
let serial = 0;

function refill(): void {
  if (dir === undefined) {
    dir = makeTempDir("pipes");
    const made = dir;
    process.on("exit", () => {
      try { fs.rmSync(made, { recursive: true, force: true }); } catch { /* already gone */ }
    });
  }
  const names: string[] = [];
  for (let i = 0; i < BATCH; i++) names.push(path.join(dir, `p${serial++}`));
  const r = childProcess().spawnSync(hostTool("mkfifo"), ["-m", "600", "--", ...names], { stdio: "ignore" });
  if (r.error !== undefined || r.status !== 0) {
    throw Object.assign(new Error("mkfifo failed"), { code: "ENFILE" });
  }
  ready.push(...names);
}

/**
 * A new pipe: [read end, write end] as host descriptors (both close-on-exec
 * on the host, as everything Node opens).  Throws a Node-style error with a
 * `code` on failure.
 */
export function makePipe(nonblock: boolean): [number, number] {
  if (ready.length === 0) refill();
  const fifo = ready.pop() as string;
  const C = fs.constants;
  let probe = -1, r = -1, w = -1;
  try {
    // Opening the read end without O_NONBLOCK would wait for a writer, and
    // the write end would wait for a reader: open a non-blocking reader
    // first, then the writer, then (when wanted) a blocking reader.
    probe = fs.openSync(fifo, C.O_RDONLY | C.O_NONBLOCK);
    w = fs.openSync(fifo, C.O_WRONLY | (nonblock ? C.O_NONBLOCK : 0));
    if (nonblock) {
      r = probe;
      probe = -1;
    } else {
      r = fs.openSync(fifo, C.O_RDONLY);
    }
    return [r, w];
  } catch (e) {
    if (r >= 0) fs.closeSync(r);
    if (w >= 0) fs.closeSync(w);
    throw e;
  } finally {
    if (probe >= 0) fs.closeSync(probe);
    try { fs.unlinkSync(fifo); } catch { /* the pipe works regardless */ }
  }
}

/** Whether a /proc/self/fd link target names one of the FIFOs behind makePipe's pipes. */
export function isPipeFifo(link: string): boolean {
  return /\/tsemu-pipes-[^/]+\/p\d+ \(deleted\)$/.test(link);
}

/** mkfifo(3): make a FIFO at `file` with permissions `mode` (after the umask). */
export function makeFifo(file: string, mode: number): void {
  if (fs.lstatSync(file, { throwIfNoEntry: false }) !== undefined) {
    throw Object.assign(new Error("file exists"), { code: "EEXIST" });
  }
  const parent = fs.statSync(path.dirname(path.resolve(file)));
  if (!parent.isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  const r = childProcess().spawnSync(hostTool("mkfifo"), ["-m", (mode & 0o7777).toString(8), "--", file], { stdio: "ignore" });
  if (r.error !== undefined || r.status !== 0) {
    fs.accessSync(path.dirname(path.resolve(file)), fs.constants.W_OK);
    throw Object.assign(new Error("mkfifo failed"), { code: "EIO" });
  }
}
