/**
 * -M virt,aia=aplic-imsic and aia=aplic end to end: Debian's OpenSBI 1.1
 * finds the APLIC and IMSICs in the device tree, programs them and prints
 * the same platform lines as on qemu-system-riscv64 7.2; Linux 6.1 (which
 * has no APLIC/IMSIC drivers) brings up its second hart with IPIs that
 * OpenSBI sends through the IMSIC, and powers off as on QEMU.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";

const ROOT = repoRoot(import.meta.url);
const EMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

let work = "";
before(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-aia-")); });
after(() => { if (work !== "") fs.rmSync(work, { recursive: true, force: true }); });

/** OpenSBI's banner on `emu` (no kernel: it stops being interesting after the last Boot HART line). */
async function banner(emu: string, aia: string): Promise<string[]> {
  const con = new Console([emu, "-M", `virt,aia=${aia}`, "-smp", "2", "-m", "256M", "-nographic"], { cwd: work });
  try {
    await con.expect(/Boot HART MEDELEG[^\n]*\n/, STEP_MS);
    return con.output.replace(/\r/g, "").split("\n");
  } finally {
    con.kill();
    await con.waitExit(STEP_MS).catch(() => undefined);
  }
}

/** The lines that describe the platform and its protected regions, not the CPU (tsemu has no H, Sstc or PMU). */
const PLATFORM = /^(Platform |Domain0 Region|Domain0 HARTs|Firmware )/;

for (const aia of ["aplic-imsic", "aplic"]) {
  test(`OpenSBI 1.1 on aia=${aia}: the platform lines of qemu-system-riscv64's`, {
    skip: QEMU === undefined || !fs.existsSync(FW) ? "needs qemu-system-riscv64 and Debian's opensbi" : false,
  }, async () => {
    const ours = await banner(EMU, aia);
    const theirs = await banner(QEMU as string, aia);
    const platform = (lines: string[]): string[] => lines.filter((l) => PLATFORM.test(l));
    assert.ok(platform(theirs).length >= 10, `QEMU's banner was not understood:\n${theirs.join("\n")}`);
    assert.deepEqual(platform(ours), platform(theirs));
    const ipi = ours.find((l) => l.startsWith("Platform IPI Device"));
    assert.match(ipi ?? "", aia === "aplic-imsic" ? /aia-imsic/ : /aclint-mswi/);
    // OpenSBI finds Smaia by probing mtopi: it has to exist exactly when the IMSICs do.
    const ext = (lines: string[]): boolean => /\baia\b/.test(lines.find((l) => l.startsWith("Boot HART ISA Extensions")) ?? "");
    assert.equal(ext(ours), ext(theirs));
    assert.equal(ext(ours), aia === "aplic-imsic");
  });
}

test("Linux 6.1 on aia=aplic-imsic -smp 2: the second hart comes up through IMSIC IPIs; init runs; power off", async (t: TestContext) => {
  let images: { kernel: string; initrd: string };
  try {
    images = defaultGuest(ROOT);
  } catch (err) {
    t.skip(`the guest images are not built: ${(err as Error).message}`);
    return;
  }
  // Linux 6.1 has no APLIC driver, so the UART has no interrupt and no console: earlycon (SBI) prints the log.
  // Guest time by the instruction count: a loaded host slows the run but does not starve the guest.
  const con = new Console([EMU, "-M", "virt,aia=aplic-imsic", "-smp", "2", "-m", "256M", "-nographic", "-icount", "shift=2",
    "-kernel", images.kernel, "-initrd", images.initrd, "-append", "console=ttyS0 earlycon=sbi"], { cwd: work });
  try {
    await con.expect("smp: Brought up 1 node, 2 CPUs", STEP_MS);
    await con.expect("Run /init as init process", STEP_MS);
    // The initramfs finds no console and powers off, as it does on QEMU 7.2.
    await con.expect("reboot: Power down", STEP_MS);
    const status = await con.waitExit(STEP_MS);
    assert.equal(status.code, 0, con.tail());
  } finally {
    con.kill();
  }
});
