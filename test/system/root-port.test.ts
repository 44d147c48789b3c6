/**
 * A PCIe root port with a disk behind it, end to end: Linux 6.12 on
 * `-M virt,aia=aplic-imsic` (console hvc0, see QEMU-COMPAT.md) with
 * `-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1 -device
 * virtio-blk-pci,bus=rp0,drive=d0,aer=on`, run on qemu-system-riscv64 7.2 and then
 * on tsemu, and compared:
 *
 * - the kernel's enumeration of 00:01.0 and 01:00.0 (bridge windows, BARs,
 *   "pcieport 0000:00:01.0: AER: enabled with IRQ N", pciehp's slot line);
 * - the sysfs configuration space of the port and of the disk;
 * - the PCI-MSIX lines of /proc/interrupts (the port's "aerdrv, pciehp"
 *   vector and its count, the disk's vectors);
 * - `info pci` through QMP's human-monitor-command;
 * - the disk works behind the port (a write read back);
 * - with SERR# Enable set on the port (QEMU 7.2 forwards only then),
 *   `pcie_aer_inject_error vd COMP_ABORT` in the disk (it has aer=on), then
 *   `rp0 COMP_TIME` and `-c rp0 RCVR` at the port: the monitor's replies,
 *   the kernel's AER messages and recovery, the port's configuration space
 *   afterwards;
 * - a secondary bus reset (the driver unbound, `reset_method` bus): the
 *   kernel's messages, the disk still reads what was written, the vectors;
 * - system_reset from the monitor: after the second boot the same again.
 *
 * Without qemu-system-riscv64 tsemu is checked against the values QEMU
 * gave when this test was written.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { linux612Guest } from "../util/guest-images.js";
import { QmpClient } from "../monitor/qmp-client.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";
const PORT = "/sys/bus/pci/devices/0000:00:01.0/config";
const DISK = "/sys/bus/pci/devices/0000:01:00.0/config";

interface Observed {
  enumeration: string[];
  portConfig: string;
  diskConfig: string;
  msix: string[];
  infoPci: string;
  /** query-pci's answer as JSON text (keys in the order they came). */
  queryPci: string;
  disk: string[];
  replies: string[];
  aerLog: string[];
  portAfter: string;
  /** After a secondary bus reset from the guest (driver unbound, reset_method bus, bound again). */
  resetLog: string[];
  diskAfterReset: string[];
  msixAfterReset: string[];
  /** After system_reset from the monitor and a second boot. */
  diskAfterSystemReset: string[];
  msixAfterSystemReset: string[];
}

const kernelLines = (text: string): string[] =>
  text.split("\n").map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, "").trimEnd()).filter((l) => l !== "");

/** A shell command setting SERR# Enable (Command bit 8: byte 5, bit 0) in a sysfs config file, as a guest could. */
const setSerr = (config: string): string =>
  `b=$(od -An -tu1 -j5 -N1 ${config}); printf "\\\\$(printf %o $((b | 1)))" | dd of=${config} bs=1 seek=5 count=1 conv=notrunc 2>/dev/null`;

const md5sums = (text: string): string[] => [...text.matchAll(/^([0-9a-f]{32})\s/gm)].map((m) => m[1]);

async function run(emu: string, dir: string, guest: { kernel: string; initrd: string }): Promise<Observed> {
  const disk = path.join(dir, `disk-${path.basename(emu)}.img`);
  fs.writeFileSync(disk, new Uint8Array(8 << 20));
  const sock = path.join(dir, `qmp-${path.basename(emu)}.sock`);
  const con = new Console([emu, "-M", "virt,aia=aplic-imsic", "-smp", "1", "-m", "256M", "-nographic",
    "-kernel", guest.kernel, "-initrd", guest.initrd, "-append", "console=hvc0",
    "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1",
    "-drive", `file=${disk},format=raw,if=none,id=d0`, "-device", "virtio-blk-pci,bus=rp0,drive=d0,aer=on,id=vd",
    "-qmp", `unix:${sock},server=on,wait=off`], { onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect({ path: sock }, STEP_MS);
    await qmp.negotiate();
    await con.expect(PROMPT, STEP_MS);
    const sh = (command: string): Promise<string> => shell(con, command, PROMPT, STEP_MS);
    const hmp = async (command: string): Promise<string> => {
      const r = await (qmp as QmpClient).execute("human-monitor-command", { "command-line": command });
      return String(r.reply.value.return ?? JSON.stringify(r.reply.value));
    };
    await sh("dmesg -n 1");
    const enumeration = kernelLines(await sh("dmesg -c")).filter((l) => /0000:0[01]:|pci_bus 0000:01|pcieport|AER/.test(l));
    const portConfig = await sh(`hexdump -C ${PORT}`);
    const diskConfig = await sh(`hexdump -C ${DISK}`);
    const msix = kernelLines(await sh("grep PCI-MSIX /proc/interrupts")).map((l) => l.trim().split(/\s+/).slice(1).join(" "));
    const infoPci = await hmp("info pci");
    const queryPci = JSON.stringify((await (qmp as QmpClient).execute("query-pci")).reply.value.return);
    const wrote = await sh("dd if=/dev/urandom of=/tmp/p bs=4096 count=64 2>/dev/null; md5sum /tmp/p; "
      + "dd if=/tmp/p of=/dev/vda bs=4096 conv=fsync 2>/dev/null; echo 3 > /proc/sys/vm/drop_caches; "
      + "dd if=/dev/vda bs=4096 count=64 2>/dev/null | md5sum");
    const sums = md5sums(wrote);
    // SERR# Enable in the port's Command register (byte 5, bit 0), as a guest could set it.
    await sh(setSerr(PORT));
    // An error in the disk travels up through the port (SERR# set on the disk too).
    await sh(setSerr(DISK));
    const replies = [await hmp("pcie_aer_inject_error vd COMP_ABORT")];
    await sh("sleep 2");
    replies.push(await hmp("pcie_aer_inject_error rp0 COMP_TIME"));
    await sh("sleep 2");
    replies.push(await hmp("pcie_aer_inject_error -c rp0 RCVR"));
    await sh("sleep 2");
    // (The shell's drop_caches note names its process id: only the PCI lines are compared.)
    const aerLog = kernelLines(await sh("dmesg -c")).filter((l) => /0000:0[01]:/.test(l));
    const portAfter = await sh(`hexdump -C ${PORT}`);
    // A secondary bus reset through the port's Bridge Control, as Linux does it for a bus
    // reset of the device: the disk works again afterwards, on new vectors.
    const dev = "/sys/bus/pci/devices/0000:01:00.0";
    await sh(`echo 0000:01:00.0 > /sys/bus/pci/drivers/virtio-pci/unbind; echo bus > ${dev}/reset_method; echo 1 > ${dev}/reset`);
    await sh("echo 0000:01:00.0 > /sys/bus/pci/drivers/virtio-pci/bind; sleep 1");
    const resetLog = kernelLines(await sh("dmesg -c")).filter((l) => /0000:0[01]:|virtio_blk|vda/.test(l));
    const again = md5sums(await sh("dd if=/dev/vda bs=4096 count=64 2>/dev/null | md5sum"));
    const diskAfterReset = again.length === 1 && again[0] === sums[0] ? ["same"] : again;
    const msixAfterReset = kernelLines(await sh("grep PCI-MSIX /proc/interrupts")).map((l) => l.trim().split(/\s+/).slice(1).join(" "));
    // system_reset: the port and the disk start over; the guest finds them again.
    await hmp("system_reset");
    await con.expect(PROMPT, STEP_MS);
    const third = md5sums(await sh("dd if=/dev/vda bs=4096 count=64 2>/dev/null | md5sum"));
    const diskAfterSystemReset = third.length === 1 && third[0] === sums[0] ? ["same"] : third;
    const msixAfterSystemReset = kernelLines(await sh("grep PCI-MSIX /proc/interrupts")).map((l) => l.trim().split(/\s+/).slice(1).join(" "));
    con.send("poweroff\n");
    const status = await con.waitExit(STEP_MS);
    assert.deepEqual(status, { code: 0, signal: null }, `${emu} ended with ${describeStatus(status)}\n${con.tail()}`);
    return {
      enumeration, portConfig, diskConfig, msix, infoPci, queryPci, disk: sums.length === 2 && sums[0] === sums[1] ? ["same"] : sums,
      replies, aerLog, portAfter, resetLog, diskAfterReset, msixAfterReset, diskAfterSystemReset, msixAfterSystemReset,
    };
  } finally {
    qmp?.close();
    con.kill();
  }
}

test("a virtio-blk-pci behind pcie-root-port: enumeration, config space, vectors, the disk and AER as on QEMU 7.2", async (t: TestContext) => {
  let guest: { kernel: string; initrd: string };
  try {
    guest = linux612Guest(ROOT);
  } catch (err) {
    return t.skip(`the Linux 6.12 guest is not built: ${(err as Error).message}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-rp-"));
  try {
    const oracle = QEMU !== undefined ? await run(QEMU, dir, guest) : undefined;
    if (oracle === undefined) t.diagnostic("qemu-system-riscv64 is not installed: tsemu is checked alone");
    const ts = await run(TSEMU, dir, guest);

    assert.ok(ts.enumeration.includes("pci 0000:00:01.0: [1b36:000c] type 01 class 0x060400 PCIe Root Port"), ts.enumeration.join("\n"));
    assert.ok(ts.enumeration.includes("pci 0000:01:00.0: [1af4:1042] type 00 class 0x010000 PCIe Endpoint"), ts.enumeration.join("\n"));
    assert.ok(ts.enumeration.some((l) => /^pcieport 0000:00:01\.0: AER: enabled with IRQ \d+$/.test(l)), ts.enumeration.join("\n"));
    assert.deepEqual(ts.disk, ["same"], "the disk behind the port gives back what was written");
    assert.deepEqual(ts.diskAfterReset, ["same"], "after the secondary bus reset the disk reads the same bytes");
    assert.deepEqual(ts.diskAfterSystemReset, ["same"], "after system_reset the disk reads the same bytes");
    assert.match(ts.msixAfterSystemReset[0] ?? "", /PCI-MSIX-0000:00:01\.0 0 Edge aerdrv, pciehp$/);
    t.diagnostic(`after the bus reset: ${ts.resetLog.join(" | ")}`);
    assert.ok(ts.resetLog.some((l) => /virtio_blk virtio\d+: \[vda\]/.test(l)), "the driver found the disk again");
    assert.deepEqual(ts.replies, ["OK id: vd root bus: 0000:00, bus: 1 devfn: 0.0\r\n",
      ...Array(2).fill("OK id: rp0 root bus: 0000:00, bus: 0 devfn: 1.0\r\n")]);
    assert.match(ts.msix[0], /^1 PCI-MSIX-0000:00:01\.0 0 Edge aerdrv, pciehp$/);
    if (oracle !== undefined) {
      assert.deepEqual(ts.enumeration, oracle.enumeration);
      assert.equal(ts.portConfig, oracle.portConfig);
      assert.equal(ts.diskConfig, oracle.diskConfig);
      // The port's line with its count; the disk's lines by name (their counts depend on I/O timing).
      assert.deepEqual([ts.msix[0], ...ts.msix.slice(1).map((l) => l.replace(/^\d+ /, ""))],
        [oracle.msix[0], ...oracle.msix.slice(1).map((l) => l.replace(/^\d+ /, ""))]);
      assert.equal(ts.infoPci, oracle.infoPci);
      assert.equal(ts.queryPci, oracle.queryPci);
      assert.deepEqual(ts.replies, oracle.replies);
      assert.deepEqual(ts.aerLog, oracle.aerLog);
      assert.equal(ts.portAfter, oracle.portAfter);
      assert.deepEqual(ts.resetLog, oracle.resetLog);
      assert.deepEqual([ts.msixAfterReset[0], ...ts.msixAfterReset.slice(1).map((l) => l.replace(/^\d+ /, ""))],
        [oracle.msixAfterReset[0], ...oracle.msixAfterReset.slice(1).map((l) => l.replace(/^\d+ /, ""))]);
      assert.deepEqual(ts.msixAfterSystemReset.map((l) => l.replace(/^\d+ /, "")), oracle.msixAfterSystemReset.map((l) => l.replace(/^\d+ /, "")));
    }
    // The disk's error reaches the AER driver through the port, with the disk's requester ID
    // (the whole log, the port's errors after it included, is compared with QEMU's above).
    assert.deepEqual(ts.aerLog.filter((l) => /AER: .*received from/.test(l))[0],
      "pcieport 0000:00:01.0: AER: Uncorrectable (Non-Fatal) error message received from 0000:01:00.0");
    assert.ok(ts.aerLog.includes("virtio-pci 0000:01:00.0:    [15] CmpltAbrt              (First)"), ts.aerLog.join("\n"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
