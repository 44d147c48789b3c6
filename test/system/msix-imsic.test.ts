/**
 * MSI-X end to end: Linux 6.12 on `-M virt,aia=aplic-imsic` (console hvc0,
 * see QEMU-COMPAT.md) with a virtio-blk-pci disk and a virtio-rng-pci.  The
 * kernel gives each device its MSI-X vectors through the S-level IMSIC, and
 * /proc/interrupts lists the same PCI-MSIX lines as under
 * qemu-system-riscv64 7.2 in the same run.  On tsemu the vectors reach the
 * IMSIC through the machine's MSI route table; the guest reads entropy,
 * writes it to the disk and reads it back, then the machine is reset from
 * the monitor (`system_reset`: MSI-X tables, routes and queues start over),
 * boots again, and the disk still holds the bytes and the vectors still
 * arrive: nothing lost across the reset.
 *
 * The kernel is guest/'s Linux 6.12 (guest/build-linux.sh 6.12, cached).
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { linux612Guest } from "../util/guest-images.js";
import { msixLines, type MsixLine } from "../util/proc-interrupts.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";
const BLOCKS = 256; // 4 KiB blocks of entropy written to the disk: 1 MiB

const sh = (con: Console, command: string): Promise<string> => shell(con, command, PROMPT, STEP_MS);

function boot(emu: string, disk: string, guest: { kernel: string; initrd: string }): Console {
  return new Console([emu, "-M", "virt,aia=aplic-imsic", "-smp", "2", "-m", "256M", "-nographic",
    "-kernel", guest.kernel, "-initrd", guest.initrd, "-append", "console=hvc0",
    "-device", "virtio-rng-pci", "-drive", `file=${disk},format=raw,if=virtio`],
  { onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
}

/** The PCI-MSIX lines of /proc/interrupts. */
async function interrupts(con: Console): Promise<MsixLine[]> {
  return msixLines(await sh(con, "grep PCI-MSIX /proc/interrupts"));
}

const md5sums = (text: string): string[] => [...text.matchAll(/^([0-9a-f]{32})\s/gm)].map((m) => m[1]);

test("MSI-X through the IMSIC: QEMU's vectors, a disk and entropy on them, and nothing lost across system_reset", async (t: TestContext) => {
  let guest: { kernel: string; initrd: string };
  try {
    guest = linux612Guest(ROOT);
  } catch (err) {
    return t.skip(`the Linux 6.12 guest is not built: ${(err as Error).message}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-msix-"));
  try {
    const disk = path.join(dir, "disk.img");
    fs.writeFileSync(disk, new Uint8Array(8 << 20));

    let oracle: string[] | undefined;
    if (QEMU !== undefined) {
      const q = boot(QEMU, disk, guest);
      try {
        await q.expect(PROMPT, STEP_MS);
        oracle = (await interrupts(q)).map((l) => l.text);
        q.send("poweroff\n");
        await q.waitExit(STEP_MS);
      } finally {
        q.kill();
      }
    } else {
      t.diagnostic("qemu-system-riscv64 is not installed: tsemu is checked alone");
    }

    const con = boot(TSEMU, disk, guest);
    try {
      await con.expect(PROMPT, STEP_MS);
      const before = await interrupts(con);
      assert.deepEqual(before.map((l) => l.text), [
        "PCI-MSIX-0000:00:01.0 0 Edge virtio0-config", "PCI-MSIX-0000:00:01.0 1 Edge virtio0-input",
        "PCI-MSIX-0000:00:02.0 0 Edge virtio1-config", "PCI-MSIX-0000:00:02.0 1 Edge virtio1-req.0",
        "PCI-MSIX-0000:00:02.0 2 Edge virtio1-req.1",
      ]);
      if (oracle !== undefined) assert.deepEqual(before.map((l) => l.text), oracle);

      const wrote = await sh(con, `dd if=/dev/hwrng of=/tmp/p bs=4096 count=${BLOCKS} 2>/dev/null; md5sum /tmp/p; `
        + `dd if=/tmp/p of=/dev/vda bs=4096 conv=fsync 2>/dev/null; sync; echo 3 > /proc/sys/vm/drop_caches; `
        + `dd if=/dev/vda bs=4096 count=${BLOCKS} 2>/dev/null | md5sum`);
      const [sum, readBack] = md5sums(wrote);
      assert.ok(sum !== undefined && readBack === sum, `the disk gave back what was written:\n${wrote}`);
      const after = await interrupts(con);
      assert.ok(after[1].count > before[1].count, "virtio-rng-pci's queue vector was delivered");
      assert.ok(after[3].count + after[4].count > before[3].count + before[4].count, "virtio-blk-pci's queue vectors were delivered");

      // system_reset from the monitor: the second boot finds the devices afresh.
      con.send("\x01c");
      await con.expect("(qemu) ", STEP_MS);
      con.send("system_reset\n");
      await con.expect("(qemu) ", STEP_MS);
      con.send("\x01c");
      await con.expect(/Linux version 6\.12/, STEP_MS);
      await con.expect(PROMPT, STEP_MS);
      const again = await sh(con, `dd if=/dev/vda bs=4096 count=${BLOCKS} 2>/dev/null | md5sum`);
      assert.deepEqual(md5sums(again), [sum], "after system_reset the disk still holds the bytes");
      const reset = await interrupts(con);
      assert.ok(reset[3].count + reset[4].count > 0, `virtio-blk-pci's vectors arrive after the reset:\n${JSON.stringify(reset)}`);
      const rng = await sh(con, "dd if=/dev/hwrng bs=64 count=8 2>/dev/null | md5sum");
      assert.equal(md5sums(rng).length, 1);
      assert.ok((await interrupts(con))[1].count > reset[1].count, "virtio-rng-pci's vector arrives after the reset");

      con.send("poweroff\n");
      const status = await con.waitExit(STEP_MS);
      assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
    } finally {
      con.kill();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
