/**
 * virtio-pci end to end, with qemu-system-riscv64 as the oracle in the same
 * run: Linux 6.1 on the PLIC board with `-device virtio-rng-pci` and a raw
 * disk on `-drive if=virtio` (a virtio-blk-pci, as on QEMU).  The kernel
 * enumerates the same functions at the same addresses with the same IDs,
 * classes, BARs and INTx lines on both; on tsemu the guest then reads
 * entropy through virtio-rng-pci, writes it to the disk through
 * virtio-blk-pci, reads it back past the page cache, and the host finds the
 * same bytes in the image after poweroff.  The monitor's `info pci` is
 * QEMU's, line for line.
 *
 * Settings as in boot.test.ts: TSEMU_SYSTEM_TIMEOUT_S, TSEMU_SYSTEM_LOG=1.
 */
import { before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";
const DISK_MIB = 8;
/** Where the pattern goes on the disk, and how long it is (4 KiB blocks). */
const SEEK_BLOCKS = 16;
const PATTERN_BLOCKS = 64;

let images: { kernel: string; initrd: string } | undefined;
let imagesMissing = "";

before(() => {
  try {
    images = defaultGuest(ROOT);
  } catch (err) {
    imagesMissing = `the guest images are not built: ${(err as Error).message}`;
  }
});

const sh = (con: Console, command: string): Promise<string> => shell(con, command, PROMPT, STEP_MS);

interface Seen {
  /** The kernel's PCI enumeration, without timestamps. */
  enumeration: string[];
  /** vendor device class revision subsystem, and the BARs, per function. */
  functions: string;
  /** The virtio lines of /proc/interrupts: controller, hwirq, trigger, name. */
  interrupts: string[];
  /** The monitor's `info pci`. */
  infoPci: string;
}

function boot(emu: string, disk: string): Console {
  if (images === undefined) throw new Error(imagesMissing);
  return new Console([emu, "-M", "virt", "-m", "256M", "-nographic",
    "-kernel", images.kernel, "-initrd", images.initrd, "-append", "console=ttyS0",
    "-device", "virtio-rng-pci,id=rng0", "-drive", `file=${disk},format=raw,if=virtio`],
  { onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
}

async function look(con: Console): Promise<Seen> {
  const dmesg = await sh(con, "dmesg | grep -E '\\] (pci|virtio)'");
  const enumeration = dmesg.trim().split("\n").map((l) => l.replace(/^\[[ 0-9.]+\] /, ""));
  const functions = await sh(con, "for d in /sys/bus/pci/devices/*; do echo ${d##*/} "
    + "$(cat $d/vendor $d/device $d/class $d/revision $d/subsystem_vendor $d/subsystem_device); "
    + "head -5 $d/resource | grep -v '^0x0000000000000000 0x0000000000000000'; done");
  const interrupts = (await sh(con, "grep virtio /proc/interrupts")).trim().split("\n")
    .map((l) => l.trim().split(/\s+/).slice(2).join(" "));
  // The human monitor, through Ctrl-A c on the multiplexed console, and back.
  con.send("\x01c");
  await con.expect("(qemu) ", STEP_MS);
  con.send("info pci\n");
  const reply = (await con.expect("(qemu) ", STEP_MS)).replace(/\r/g, "");
  const infoPci = reply.slice(reply.indexOf("\n") + 1, reply.length - "(qemu) ".length);
  con.send("\x01c\n");
  await con.expect(PROMPT, STEP_MS);
  return { enumeration, functions, interrupts, infoPci };
}

async function powerOff(con: Console): Promise<void> {
  con.send("poweroff\n");
  const status = await con.waitExit(STEP_MS);
  assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
}

test("virtio-blk-pci and virtio-rng-pci: the bus Linux finds is QEMU's; entropy in, disk out and back", async (t: TestContext) => {
  if (images === undefined) return t.skip(imagesMissing);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-vpci-"));
  try {
    const disk = path.join(dir, "disk.img");
    fs.writeFileSync(disk, new Uint8Array(DISK_MIB << 20));

    let oracle: Seen | undefined;
    if (QEMU !== undefined) {
      const q = boot(QEMU, disk);
      try {
        await q.expect(PROMPT, STEP_MS);
        oracle = await look(q);
        await powerOff(q);
      } finally {
        q.kill();
      }
    } else {
      t.diagnostic("qemu-system-riscv64 is not installed: tsemu is checked alone");
    }

    let guestSum = "";
    const con = boot(TSEMU, disk);
    try {
      await con.expect(PROMPT, STEP_MS);
      const seen = await look(con);
      assert.match(seen.functions, /^0000:00:01\.0 0x1af4 0x1005 0x00ff00 0x00 0x1af4 0x0004$/m, "virtio-rng-pci at 00:01.0");
      assert.match(seen.functions, /^0000:00:02\.0 0x1af4 0x1001 0x010000 0x00 0x1af4 0x0002$/m, "virtio-blk-pci at 00:02.0");
      assert.deepEqual(seen.interrupts, ["SiFive PLIC 33 Edge virtio0", "SiFive PLIC 34 Edge virtio1"]);
      assert.match(seen.infoPci, /device {3}1, function 0:\n {4}Class 0255: PCI device 1af4:1005\n[^]*id "rng0"\n/);
      if (oracle !== undefined) {
        assert.deepEqual(seen.enumeration.filter((l) => l.startsWith("pci ")), oracle.enumeration.filter((l) => l.startsWith("pci ")));
        assert.equal(seen.functions, oracle.functions);
        assert.deepEqual(seen.interrupts, oracle.interrupts);
        assert.equal(seen.infoPci, oracle.infoPci);
      }

      // Entropy through virtio-rng-pci onto the disk through virtio-blk-pci, then back past the page cache.
      const bytes = PATTERN_BLOCKS * 4096;
      const written = await sh(con, `dd if=/dev/hwrng of=/tmp/p bs=4096 count=${PATTERN_BLOCKS} 2>/dev/null; md5sum /tmp/p; `
        + `dd if=/tmp/p of=/dev/vda bs=4096 seek=${SEEK_BLOCKS} conv=fsync 2>/dev/null; sync; echo 3 > /proc/sys/vm/drop_caches; `
        + `dd if=/dev/vda bs=4096 skip=${SEEK_BLOCKS} count=${PATTERN_BLOCKS} 2>/dev/null | md5sum`);
      const sums = [...written.matchAll(/^([0-9a-f]{32})\s/gm)].map((m) => m[1]);
      assert.equal(sums.length, 2, `two md5sums expected:\n${written}`);
      assert.equal(sums[1], sums[0], "the disk gave back other bytes than were written");
      guestSum = sums[0];
      assert.notEqual(sums[0], createHash("md5").update(new Uint8Array(bytes)).digest("hex"), "the entropy was all zeros");
      const interrupts = await sh(con, "grep virtio /proc/interrupts");
      const counts = [...interrupts.matchAll(/^\s*\d+:\s+(\d+)/gm)].map((m) => Number(m[1]));
      assert.ok(counts.length === 2 && counts.every((n) => n > 0), `interrupts were delivered:\n${interrupts}`);
      await powerOff(con);
    } finally {
      con.kill();
    }
    const image = fs.readFileSync(disk).subarray(SEEK_BLOCKS * 4096, (SEEK_BLOCKS + PATTERN_BLOCKS) * 4096);
    assert.equal(createHash("md5").update(image).digest("hex"), guestSum, "the image on the host lacks what the guest wrote");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
