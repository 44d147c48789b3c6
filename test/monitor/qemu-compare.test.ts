/**
 * The same QMP conversation (qmp-conversation.ts) against qemu-system-riscv64
 * and tsemu-system-riscv64: every step must get answers of the same shape,
 * the same error classes and texts, the same events in the same order with
 * the same data, and the same HMP text where QEMU's is deterministic.
 *
 *   TSEMU_QEMU_SYSTEM=/path/to/qemu-system-riscv64 overrides the QEMU used.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { QmpClient } from "./qmp-client.js";
import { converse, shape, type Entry } from "./qmp-conversation.js";
import { repoRoot, which } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const EMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which(process.env.TSEMU_QEMU_SYSTEM ?? "qemu-system-riscv64");

interface Run {
  greeting: unknown;
  transcript: Entry[];
  infoRegisters: string;
  infoCpus: string;
  pmem: Buffer;
  mem: Buffer;
  status: number | null;
}

async function runConversation(emulator: string, work: string, tag: string): Promise<Run> {
  const sock = path.join(work, `${tag}.qmp`);
  const disk = path.join(work, "disk.img");
  const files = { pmem: path.join(work, `${tag}.pmem`), mem: path.join(work, `${tag}.mem`) };
  const child = spawn(emulator, ["-M", "virt", "-m", "128M", "-display", "none", "-bios", "none", "-serial", "none",
    "-monitor", "none", "-drive", `file=${disk},format=raw,if=virtio`, "-qmp", `unix:${sock},server=on,wait=off`],
  { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => { stderr += s; });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  try {
    const client = await QmpClient.connect({ path: sock });
    const greeting = await client.next();
    const { transcript, raw } = await converse(client, files);
    const text = (label: string): string => String(raw.get(label)?.[0]?.value.return ?? "");
    const status = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000).unref())]);
    return {
      greeting: shape(greeting.value), transcript, status,
      infoRegisters: text("hmp: info registers"), infoCpus: text("hmp: info cpus"),
      pmem: fs.readFileSync(files.pmem), mem: fs.readFileSync(files.mem),
    };
  } catch (e) {
    throw new Error(`${emulator}: ${(e as Error).message}\n--- stderr:\n${stderr}`);
  } finally {
    child.kill("SIGKILL");
    // Gone before the next emulator opens the same disk (the image lock goes with the process).
    await exited;
  }
}

test("one QMP conversation: tsemu answers as QEMU 7.2 does", async (t: TestContext) => {
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-qmp-"));
  try {
    fs.writeFileSync(path.join(work, "disk.img"), Buffer.alloc(1024 * 1024));
    const qemu = await runConversation(QEMU, work, "qemu");
    const tsemu = await runConversation(EMU, work, "tsemu");

    assert.deepEqual(tsemu.greeting, qemu.greeting, "greeting");
    assert.equal(tsemu.transcript.length, qemu.transcript.length);
    for (let i = 0; i < qemu.transcript.length; i++) {
      assert.deepEqual(tsemu.transcript[i], qemu.transcript[i], `step "${qemu.transcript[i].label}"`);
    }
    for (const r of [qemu, tsemu]) {
      assert.match(r.infoRegisters, /^\r\nCPU#0\r\n/);
      assert.match(r.infoRegisters, /\r\n pc {7}[0-9a-f]{16}\r\n/);
      assert.match(r.infoRegisters, /\r\n mstatus {2}[0-9a-f]{16}\r\n/);
      assert.match(r.infoRegisters, / x10\/a0 {3}[0-9a-f]{16} x11\/a1 {3}[0-9a-f]{16}/);
      assert.match(r.infoRegisters, / f31\/ft11 [0-9a-f]{16}\r\n$/);
      assert.match(r.infoCpus, /^\* CPU #0: thread_id=\d+\r\n$/);
      assert.equal(r.status, 0, "quit exits with status 0");
    }
    // The boot ROM is the same bytes in both; memsave reads it through the (bare) MMU.
    assert.deepEqual(tsemu.pmem, qemu.pmem, "pmemsave 0x1000");
    assert.deepEqual(tsemu.mem, qemu.mem, "memsave 0x1000");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
