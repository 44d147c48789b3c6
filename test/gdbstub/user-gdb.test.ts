/**
 * tsemu-riscv64 -g with Debian's gdb-multiarch, end to end, on
 * test/guest/gdbtest.c: the same batch sessions against qemu-riscv64 -g
 * must print the same (up to pids, tids and stack addresses), and what QEMU
 * 7.2's user mode cannot do (watchpoints) must do what gdb expects.  Also
 * Ctrl-C and detach through the raw protocol, and -g's errors.
 *
 * Needs gdb-multiarch (scripts/deps.sh gdb) and the guest programs
 * (guest/build-tests.sh, run here).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot, which } from "../util/env.js";
import { GDB, MISSING_GDB, freePort, normalize, runGdb, start, type Exited } from "./gdb.js";
import { RspClient } from "./rsp-client.js";

const ROOT = repoRoot(import.meta.url);
const CLI = path.join(ROOT, "dist/src/cli/tsemu-riscv64.js");
const QEMU = which("qemu-riscv64");
let bin = "";

before(() => {
  const r = spawnSync("bash", [path.join(ROOT, "guest/build-tests.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error("guest/build-tests.sh failed");
  bin = r.stdout.trim().split("\n").pop() ?? "";
});

function program(name = "gdbtest"): string {
  const p = path.join(bin, name);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing (guest/build-tests.sh builds it)`);
  return p;
}

/** One session: the emulator waiting on a free port, gdb running `commands` against it. */
async function session(emulator: "tsemu" | "qemu", commands: string[], args: string[] = []): Promise<{ gdb: Exited; emu: Exited }> {
  if (GDB === undefined) throw new Error(MISSING_GDB);
  const port = await freePort();
  const prog = program();
  const emu = emulator === "tsemu" ? start(process.execPath, [CLI, "-g", String(port), prog, ...args])
    : start(QEMU ?? "qemu-riscv64", ["-g", String(port), prog, ...args]);
  const gdb = await runGdb(port, commands, prog);
  if (gdb.status !== 0) emu.child.kill();
  return { gdb, emu: await emu.done };
}

/** Where the threads that did not stop are: QEMU runs threads in parallel, so that depends on timing there. */
const otherThreads = (text: string): string => text.replace(/^ \d+ Thread P\.T .*\n/gm, "");

async function sameAsQemu(commands: string[], args: string[] = []): Promise<string> {
  if (QEMU === undefined) throw new Error("qemu-riscv64 is not installed: run scripts/deps.sh user");
  const ours = await session("tsemu", commands, args);
  const theirs = await session("qemu", commands, args);
  assert.equal(otherThreads(normalize(ours.gdb.output)), otherThreads(normalize(theirs.gdb.output)),
    "gdb's view of tsemu and of qemu");
  assert.equal(ours.emu.output, theirs.emu.output, "the program's own output");
  return ours.gdb.output;
}

test("break, next, print, finish, stepi, registers, continue to the end: as with qemu-riscv64", async () => {
  const out = await sameAsQemu([
    "break main", "continue", "next", "next", "print local", "print ratio", "break bump", "continue", "info args",
    "finish", "stepi", "print $pc > &main", "p $fcsr", "p $priv", "info registers a0", "p $ft0", "x/2i $pc",
    "info threads", "delete", "continue",
  ]);
  assert.match(out, /Breakpoint 1, main \(argc=1, argv=0x[0-9a-f]+\) at .*gdbtest\.c:\d+/);
  assert.match(out, /\$1 = 42\n\$2 = 1\.5\n/);
  assert.match(out, /Breakpoint 2, bump \(by=42\) at .*gdbtest\.c:\d+/);
  assert.match(out, /Value returned is \$3 = 42/);
  assert.match(out, /a0 +0x2a\s+42/);
  assert.match(out, /\[Inferior 1 \(process \d+\) exited normally\]/);
});

test("threads: a breakpoint in the second thread, info threads, next", async () => {
  const out = await sameAsQemu(["break worker", "continue", "info threads", "print worker_ran", "next", "print worker_ran",
    "delete", "continue"], ["thread"]);
  assert.match(out, /Thread 2 hit Breakpoint 1, worker \(arg=0x0\)/);
  assert.match(out, /\n +1 +Thread \d+\.\d+ \(CPU#0 \[running\]\) 0x[0-9a-f]+ in __futex_abstimed_wait_common \(\)\n/);
  assert.match(out, /\* 2 +Thread \d+\.\d+ \(CPU#1 \[running\]\) worker/);
  assert.match(out, /\$1 = 0\n.*\n\$2 = 1\n/);
});

test("a fault stops with its signal, and continuing passes it on", async () => {
  const out = await sameAsQemu(["continue", "bt 1", "continue"], ["segv"]);
  assert.match(out, /Program received signal SIGSEGV, Segmentation fault\.\n0x[0-9a-f]+ in crash \(p=0x0\)/);
  assert.match(out, /Program terminated with signal SIGSEGV, Segmentation fault\./);
});

test("watchpoints: write, read and access, stopping after the access as gdb expects", async () => {
  const { gdb, emu } = await session("tsemu", [
    "break main", "continue", "watch counter", "continue", "delete",
    "awatch counter", "continue", "continue", "delete",
    "rwatch ratio", "continue", "delete", "continue",
  ]);
  const out = gdb.output;
  assert.match(out, /Hardware watchpoint 2: counter\n\nOld value = 0\nNew value = 42\nbump \(by=42\) at .*gdbtest\.c:26\n/);
  // The reads: bump(42)'s return, then bump(43)'s load before its store.
  assert.match(out, /Hardware access \(read\/write\) watchpoint 3: counter\n\nValue = 42\nbump \(by=42\) at .*:27\n/);
  assert.match(out, /Hardware access \(read\/write\) watchpoint 3: counter\n\nValue = 42\n0x[0-9a-f]+ in bump \(by=43\) at .*:25\n/);
  assert.match(out, /Hardware read watchpoint 4: ratio\n\nValue = 1\.5\n.* in main \(/);
  assert.match(out, /\[Inferior 1 \(process \d+\) exited normally\]/);
  assert.equal(emu.output, "total 256 counter 129 ratio 1.5 worker 0\n");
});

test("Ctrl-C stops a running program; detach lets it run to its end", async () => {
  const port = await freePort();
  const emu = start(process.execPath, [CLI, "-g", String(port), program("cpubench"), "40"]);
  const c = await RspClient.connect(port);
  assert.match(await c.request("qSupported:multiprocess+"), /qXfer:auxv:read\+/);
  assert.equal(await c.request("QStartNoAckMode"), "OK");
  assert.match(await c.request("?"), /^T05thread:p[0-9a-f]+\.[0-9a-f]+;$/);
  const auxv = await c.request("qXfer:auxv:read::0,ffb");
  assert.equal(auxv[0], "l");
  c.send("vCont;c");
  await new Promise((r) => setTimeout(r, 300));
  c.interrupt();
  const stop = await c.reply();
  assert.match(stop, /^T02thread:p[0-9a-f]+\.[0-9a-f]+;$/);
  const pc = await c.request("p20");
  assert.match(pc, /^[0-9a-f]{16}$/);
  assert.notEqual(pc, "0000000000000000");
  assert.equal(await c.request("D;1"), "OK");
  await c.close();
  const r = await emu.done;
  assert.equal(r.status, 0);
  assert.match(r.output, /^cpubench: iterations=40 checksum=[0-9a-f]+\n$/);
});

test("kill ends tsemu, as QEMU's 'Terminated via GDBstub'", async () => {
  if (GDB === undefined) throw new Error(MISSING_GDB);
  const port = await freePort();
  const emu = start(process.execPath, [CLI, "-g", String(port), program()]);
  const gdb = await runGdb(port, ["break bump", "continue", "kill"], program());
  assert.match(gdb.output, /\[Inferior 1 \(process \d+\) killed\]/);
  const r = await emu.done;
  assert.equal(r.status, 0);
  assert.match(r.output, /tsemu-riscv64: terminated via GDBstub\n$/);
});

test("-g errors: a bad port, a port in use", async () => {
  const bad = spawnSync(process.execPath, [CLI, "-g", "http", program()], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^tsemu-riscv64: invalid gdb port 'http'/);
  const busy = net.createServer();
  const port = await new Promise<number>((resolve) => busy.listen(0, "127.0.0.1", () => {
    const a = busy.address();
    resolve(typeof a === "object" && a !== null ? a.port : 0);
  }));
  const r = spawnSync(process.execPath, [CLI, "-g", String(port), program()], { encoding: "utf8", timeout: 30_000 });
  busy.close();
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^tsemu-riscv64: could not open gdbserver on port ${port}: .*EADDRINUSE`));
  const env = spawnSync(process.execPath, [CLI, program()], { encoding: "utf8", env: { ...process.env, QEMU_GDB: "0x10" } });
  assert.match(env.stderr, /invalid gdb port '0x10'/);
});
