/**
 * gdb-multiarch against tsemu-system-riscv64 booting Linux, as a kernel
 * developer uses QEMU's gdb stub: -gdb tcp::PORT -S, the vmlinux symbols,
 * a breakpoint in a kernel function (reached with the MMU on), registers,
 * a single step, continue to a second breakpoint, kill.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot, which } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const GDB = which("gdb-multiarch");
const LINUX = path.join(ROOT, ".cache/linux/current");
const INITRD = path.join(ROOT, ".cache/initramfs/current/rootfs.cpio.gz");
const missing = GDB === undefined ? "needs gdb-multiarch"
  : !fs.existsSync(path.join(LINUX, "vmlinux")) || !fs.existsSync(INITRD) ? "the default guest is not built" : false;

test("gdb-multiarch: break in start_kernel, registers, stepi, continue, kill", { skip: missing, timeout: 300_000 }, async () => {
  const port = 20000 + (process.pid % 20000);
  const emu = spawn(path.join(ROOT, "bin/tsemu-system-riscv64"), ["-M", "virt", "-m", "256M", "-nographic",
    "-gdb", `tcp::${port}`, "-S", "-kernel", path.join(LINUX, "Image"), "-initrd", INITRD, "-append", "console=ttyS0"],
  { stdio: ["pipe", "pipe", "pipe"] });
  let serial = "";
  emu.stdout.on("data", (d: Buffer) => { serial += d.toString(); });
  const exited = new Promise<number | null>((resolve) => emu.on("close", (code) => resolve(code)));
  try {
    // The stub listens before the first instruction runs (-S holds the harts).
    await new Promise((r) => setTimeout(r, 1500));
    const r = spawnSync(GDB as string, ["-batch", "-nx", "-ex", "set pagination off",
      "-ex", `file ${path.join(LINUX, "vmlinux")}`, "-ex", `target remote :${port}`,
      "-ex", "break start_kernel", "-ex", "continue", "-ex", "info registers pc ra",
      "-ex", "stepi", "-ex", "info registers pc", "-ex", "break cpu_startup_entry", "-ex", "continue",
      "-ex", "kill"], { encoding: "utf8", timeout: 240_000 });
    const out = r.stdout + r.stderr;
    assert.match(out, /Breakpoint 1, 0x[0-9a-f]+ in start_kernel \(\)/);
    assert.match(out, /pc\s+0x(ffffffff8[0-9a-f]+)\s+0x\1 <start_kernel>/);
    assert.match(out, /ra\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <_start_kernel\+\d+>/);
    assert.match(out, /pc\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <start_kernel\+[24]>/, "stepi moves one instruction");
    assert.match(out, /Breakpoint 2, 0x[0-9a-f]+ in cpu_startup_entry \(\)/);
    assert.match(out, /\[Inferior 1 \(process 1\) killed\]/);
    assert.equal(await exited, 0, "gdb's kill ends the emulator with status 0");
    assert.match(serial, /Linux version 6\.1/, "the kernel printed its banner before the second breakpoint");
  } finally {
    emu.kill();
  }
});
