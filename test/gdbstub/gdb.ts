/**
 * Running gdb-multiarch against a stub for the end-to-end tests: a free
 * port, a batch-mode session from a list of commands with its output in
 * order (stdout and stderr together), and the normalisation that makes
 * sessions on different emulators comparable.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { which } from "../util/env.js";

export const GDB = which("gdb-multiarch");
export const MISSING_GDB = "gdb-multiarch is not installed: run scripts/deps.sh gdb";

/** A TCP port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Exited {
  status: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Wait for a child whose output goes to `file`; kill it after `ms`. */
function finish(child: ChildProcess, file: string, ms: number): Promise<Exited> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("exit", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, output: fs.readFileSync(file, "utf8") });
    });
  });
}

/** Start a program with stdout and stderr together in one file; `done` resolves when it exits. */
export function start(cmd: string, args: string[], ms = 60_000): { child: ChildProcess; done: Promise<Exited> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-gdb-"));
  const file = path.join(dir, "output");
  const fd = fs.openSync(file, "w");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const done = finish(child, file, ms).then((r) => {
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
  });
  return { child, done };
}

/** gdb-multiarch in batch mode: connect to 127.0.0.1:port, then run `commands` in order. */
export function runGdb(port: number, commands: string[], program?: string): Promise<Exited> {
  const args = ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
    "-ex", "set tcp connect-timeout 30", "-ex", `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push("-ex", c);
  if (program !== undefined) args.push(program);
  return start(GDB as string, args).done;
}

/** What differs between emulators and runs but not in meaning: pids, tids, stack addresses. */
export function normalize(text: string): string {
  return text
    .replace(/\(process \d+\)/g, "(process N)")
    .replace(/Thread \d+\.\d+/g, "Thread P.T")
    .replace(/argv=0x[0-9a-f]+/g, "argv=ADDR")
    // info threads pads its columns to the longest thread name.
    .replace(/ {2,}/g, " ");
}
