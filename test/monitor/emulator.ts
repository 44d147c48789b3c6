/**
 * Running tsemu-system-riscv64 for the monitor's end-to-end tests, with a
 * guest that never stops counting: a0 goes up by one per instruction pair,
 * so `p $a0` shows whether the guest runs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot } from "../util/env.js";

export const ROOT = repoRoot(import.meta.url);
export const EMU = path.join(ROOT, "bin/tsemu-system-riscv64");

/** addi a0,a0,1; j .-4 */
const COUNTER = Uint8Array.of(0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff);

/** The counting guest as a firmware image in `dir`. */
export function counterFirmware(dir: string): string {
  const file = path.join(dir, "counter.bin");
  fs.writeFileSync(file, COUNTER);
  return file;
}

export class Emulator {
  readonly child: ChildProcessWithoutNullStreams;
  stderr = "";
  stdout = "";
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(EMU, args, { stdio: "pipe" });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (s: string) => { this.stderr += s; });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (s: string) => { this.stdout += s; });
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }

  /** The exit status, or a rejection after `timeoutMs`. */
  async exit(timeoutMs = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the emulator did not exit; stderr:\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A raw socket connection that collects what it receives, as text. */
export class RawClient {
  text = "";
  closed = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (s: string) => { this.text += s; });
    socket.on("close", () => { this.closed = true; });
    socket.on("error", () => { this.closed = true; });
  }

  static async connect(address: { path: string } | { port: number }, timeoutMs = 20_000): Promise<RawClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = "path" in address ? net.createConnection(address.path) : net.createConnection(address.port, "127.0.0.1");
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        return new RawClient(socket);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Wait until the text received so far matches. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; got ${JSON.stringify(this.text.slice(-500))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.text;
  }
}
