/**
 * The system emulator's gdbstub on a virt machine built here as the CLI
 * builds it (machine.ts), running a bare-metal counting loop: gdb-multiarch
 * sessions compared with the same session on qemu-system-riscv64 -S -gdb,
 * and through the raw protocol, attaching to a running machine, Ctrl-C,
 * detach, and the pause/resume contract with the run loop.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { which } from "../util/env.js";
import { GDB, MISSING_GDB, freePort, runGdb, start } from "./gdb.js";
import { RspClient } from "./rsp-client.js";
import { firmware, startMachine } from "./machine.js";
import { parseGdbAddress } from "../../src/gdbstub/system.js";

const QEMU = which("qemu-system-riscv64");

/** Up to the point where hart 1 matters: QEMU runs the harts in parallel, tsemu in turns. */
const SESSION = [
  "info threads", "p/x $pc", "stepi", "p/x $pc", "x/3i 0x80000000",
  "break *0x80000010", "continue", "p/x $t0", "p $t2", "stepi", "p/x $pc", "x/gx 0x80001000", "delete",
  "watch *(long *)0x80001000", "continue", "continue", "delete", "info registers priv", "p/x $mhartid",
  "p/x $mstatus & 0x1888", "set var *(long *)0x80001000 = 100", "x/gx 0x80001000", "p $a0", "thread 2", "p $a0",
];

test("gdb-multiarch on tsemu's virt and on qemu-system-riscv64 -S sees the same", async () => {
  if (GDB === undefined) throw new Error(MISSING_GDB);
  if (QEMU === undefined) throw new Error("qemu-system-riscv64 is not installed: run scripts/deps.sh system");
  const m = startMachine(0, { harts: 2, startPaused: true });
  const port = await m.gdb.listening;
  const ours = await runGdb(port, [...SESSION, "kill"]);
  assert.equal(await m.quit, 0, "gdb's kill quits the machine");
  await m.stop();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-gdb-"));
  const bios = path.join(dir, "fw.bin");
  fs.writeFileSync(bios, firmware());
  const qport = await freePort();
  const qemu = start(QEMU, ["-M", "virt", "-smp", "2", "-m", "64M", "-bios", bios, "-display", "none",
    "-serial", "null", "-monitor", "none", "-S", "-gdb", `tcp:127.0.0.1:${qport}`]);
  const theirs = await runGdb(qport, [...SESSION, "kill"]);
  await qemu.done;
  fs.rmSync(dir, { recursive: true, force: true });

  // The stop at `thread 2` shows where hart 1 is: QEMU has run it meanwhile, tsemu's turn-taking has not.
  const upTo = (s: string): string => s.slice(0, s.indexOf("[Switching to thread 2"));
  assert.equal(upTo(ours.output), upTo(theirs.output));
  const out = ours.output;
  assert.match(out, /\* 1 +Thread 1\.1 \(CPU#0 \[running\]\) 0x0000000000001000 in \?\? \(\)\n +2 +Thread 1\.2 \(CPU#1/);
  assert.match(out, /\$1 = 0x1000\n0x0000000000001004 in \?\? \(\)\n\$2 = 0x1004\n/);
  assert.match(out, /Thread 1 hit Breakpoint 1, 0x0000000080000010 in \?\? \(\)\n\$3 = 0x80001000\n\$4 = 1\n/);
  assert.match(out, /Thread 1 hit Hardware watchpoint 2: \*\(long \*\)0x80001000\n\nOld value = 1\nNew value = 2\n/);
  assert.match(out, /priv +0x3\s+prv:3 \[Machine\]/);
  assert.match(out, /0x80001000:\s+0x0000000000000064\n/);
  assert.match(out, /\[Switching to thread 2 \(Thread 1\.2\)\]\n#0 +0x0000000000001000 in \?\? \(\)\n/, "hart 1 has not had a turn");
  assert.match(out, /\[Inferior 1 \(process 1\) killed\]/);
});

test("attaching to a running machine pauses it; Ctrl-C, continue, detach", async () => {
  const m = startMachine(await freePort(), { harts: 1, startPaused: false });
  const port = await m.gdb.listening;
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(m.turns() > 0, "running before gdb comes");
  const c = await RspClient.connect(port);
  await c.request("qSupported:multiprocess+;swbreak+");
  assert.ok(m.paused(), "gdb's arrival stops the machine");
  assert.equal(await c.request("?"), "T05thread:p01.01;");
  const turns = m.turns();
  const count = async (): Promise<bigint> => {
    const hex = await c.request("m80001000,8");
    return Buffer.from(hex, "hex").readBigUInt64LE(0);
  };
  const before = await count();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(m.turns(), turns, "no turn while stopped");
  assert.equal(await count(), before);
  assert.equal(await c.request("qfThreadInfo"), "mp01.01");
  assert.equal(await c.request("qAttached:1"), "1");
  assert.equal(await c.request("qC"), "QCp01.01");
  // Registers: pc in the loop, priv M, mstatus readable; the g packet holds x0-x31 and pc.
  assert.match(await c.request("p20"), /^(08|0c|10|14)00008000000000$/);
  assert.equal(await c.request("p41"), "0300000000000000");
  assert.equal((await c.request("g")).length, 33 * 16);
  // Run, interrupt.
  c.send("vCont;c:p1.-1");
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!m.paused());
  c.interrupt();
  assert.equal(await c.reply(), "T02thread:p01.01;");
  assert.ok(m.paused());
  const stopped = await count();
  assert.ok(stopped > before, "it ran meanwhile");
  // Single steps: exactly one instruction each, no other turn of the loop.
  const t = m.turns();
  for (let i = 0; i < 8; i++) assert.equal(await c.request("vCont;s:p1.1"), "T05thread:p01.01;");
  assert.equal(await count(), stopped + 2n, "8 steps are two rounds of the 4-instruction loop");
  assert.equal(m.turns(), t);
  // A watchpoint on a running machine.
  assert.equal(await c.request("Z2,80001000,8"), "OK");
  c.send("vCont;c");
  assert.equal(await c.reply(), "T05thread:p01.01;watch:80001000;");
  assert.equal(await c.request("p20"), "1000008000000000", "stopped before the sd");
  assert.equal(await c.request("z2,80001000,8"), "OK");
  // Detach: the machine runs on by itself.
  assert.equal(await c.request("D;1"), "OK");
  await c.close();
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!m.paused());
  assert.ok(m.machine.harts[0].debug === undefined, "no debug hooks without gdb");
  const bus = m.machine.bus;
  const counter = (): bigint => new DataView(bus.u8.buffer).getBigUint64(bus.hostOffset(0x80001000, 8), true);
  const detached = counter();
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(counter() > detached, "counting on");
  await m.stop();
});

test("-S: nothing runs until gdb continues; a second gdb is turned away", async () => {
  const m = startMachine(0, { harts: 2, startPaused: true });
  const port = await m.gdb.listening;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(m.turns(), 0);
  const c = await RspClient.connect(port);
  assert.equal(await c.request("?"), "T05thread:01;");
  const second = await RspClient.connect(port);
  await second.closed;
  assert.equal(await c.request("Hg2"), "OK");
  assert.equal(await c.request("p20"), "0010000000000000");
  assert.equal(await c.request("qThreadExtraInfo,2"), Buffer.from("CPU#1 [running]").toString("hex"));
  // Breakpoint where only hart 1 goes (its wfi).
  assert.equal(await c.request("Z0,80000018,4"), "OK");
  c.send("c");
  assert.equal(await c.reply(), "T05thread:02;");
  assert.equal(await c.request("Hg2"), "OK");
  assert.equal(await c.request("p20"), "1800008000000000");
  assert.equal(await c.request("p0a"), "0100000000000000");
  await c.close();
  await m.stop();
});

test("-gdb arguments", () => {
  assert.deepEqual(parseGdbAddress("tcp::1234"), { host: "127.0.0.1", port: 1234 });
  assert.deepEqual(parseGdbAddress("tcp:0.0.0.0:4321"), { host: "0.0.0.0", port: 4321 });
  assert.deepEqual(parseGdbAddress("tcp:localhost:1234,server=on,wait=off"), { host: "localhost", port: 1234 });
  assert.deepEqual(parseGdbAddress("1234"), { host: "127.0.0.1", port: 1234 });
  assert.equal(parseGdbAddress("unix:/tmp/gdb.sock"), undefined);
  assert.equal(parseGdbAddress("none"), undefined);
  assert.equal(parseGdbAddress("udp:1234"), undefined);
  assert.equal(parseGdbAddress("tcp::99999"), undefined);
});
