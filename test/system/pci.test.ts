/**
 * End to end: Linux's pci-host-generic driver finds the virt board's PCIe host
 * (ECAM at 0x30000000, the I/O and the two memory windows of the device
 * tree) and, on bus 0, only the host bridge 1b36:0008 with QEMU's
 * configuration header; fw_cfg and the platform bus are in the device tree.
 * The emulator is a parameter, as in boot.test.ts, so the same steps
 * validate qemu-system-riscv64:
 *
 *   TSEMU_SYSTEM_EMU=qemu-system-riscv64 node --test dist/test/system/pci.test.js
 *
 * Settings: TSEMU_SYSTEM_EMU, TSEMU_SYSTEM_TIMEOUT_S and TSEMU_SYSTEM_LOG as
 * in boot.test.ts.
 */
import { before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Console, describeStatus, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";

const ROOT = repoRoot(import.meta.url);
const EMU = process.env.TSEMU_SYSTEM_EMU ?? path.join(ROOT, "bin/tsemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";

const emulator = which(EMU);
let kernel: string | undefined;
let initrd: string | undefined;
let imagesMissing = "";


before(() => {
  if (emulator === undefined) return;
  try {
    ({ kernel, initrd } = defaultGuest(ROOT));
  } catch (err) {
    imagesMissing = `the guest images are not built: ${(err as Error).message}`;
    kernel = initrd = undefined;
  }
});

const sh = (con: Console, command: string): Promise<string> => shell(con, command, PROMPT, STEP_MS);

test("Linux finds the PCIe host: ECAM, windows, bus 0 with the host bridge 1b36:0008 only; fw-cfg and platform-bus in the tree", async (t: TestContext) => {
  if (emulator === undefined) return t.skip(`no emulator at ${EMU} (set TSEMU_SYSTEM_EMU)`);
  if (kernel === undefined || initrd === undefined) return t.skip(imagesMissing);

  const con = new Console([EMU, "-M", "virt", "-m", "256M", "-nographic",
    "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0"], { onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
  try {
    await con.expect(PROMPT, STEP_MS);

    // vendor, device and class of every function, as sysfs shows them.
    const devices = await sh(con, "for d in /sys/bus/pci/devices/*; do echo ${d##*/} $(cat $d/vendor $d/device $d/class); done");
    assert.equal(devices.trim(), "0000:00:00.0 0x1b36 0x0008 0x060000");

    const dmesg = await sh(con, "dmesg | grep -i pci");
    for (const line of [
      /pci-host-generic 30000000\.pci: host bridge \/soc\/pci@30000000 ranges:/,
      /pci-host-generic 30000000\.pci: +IO 0x0003000000\.\.0x000300ffff -> 0x0000000000/,
      /pci-host-generic 30000000\.pci: +MEM 0x0040000000\.\.0x007fffffff -> 0x0040000000/,
      /pci-host-generic 30000000\.pci: +MEM 0x0400000000\.\.0x07ffffffff -> 0x0400000000/,
      /pci-host-generic 30000000\.pci: ECAM at \[mem 0x30000000-0x3fffffff\] for \[bus 00-ff\]/,
      /pci_bus 0000:00: root bus resource \[io {2}0x0000-0xffff\]/,
      /pci 0000:00:00\.0: \[1b36:0008\] type 00 class 0x060000/,
    ]) {
      assert.match(dmesg, line, `the kernel log lacks ${String(line)}:\n${dmesg}`);
    }
    assert.doesNotMatch(dmesg, /pci 0000:0[0-9a-f]:(0[1-9a-f]|1[0-9a-f])\./, "a function other than 00:00.0");

    // The host bridge's configuration header, byte for byte as under QEMU (od: no hexdump needed).
    const config = await sh(con, "od -An -tx1 -N64 /sys/bus/pci/devices/0000:00:00.0/config");
    assert.deepEqual(config.trim().split(/\s+/), [
      "36", "1b", "08", "00", "00", "00", "00", "00", "00", "00", "00", "06", "00", "00", "00", "00",
      "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00",
      "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "f4", "1a", "00", "11",
      "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00",
    ]);

    const iomem = await sh(con, "grep -i -e pci /proc/iomem; cat /proc/ioports");
    assert.match(iomem, /^30000000-3fffffff : PCI ECAM$/m);
    assert.match(iomem, /^40000000-7fffffff : pci@30000000$/m);
    assert.match(iomem, /^400000000-7ffffffff : pci@30000000$/m);
    assert.match(iomem, /^00000000-0000ffff : pci@30000000$/m);

    const tree = await sh(con, "for n in fw-cfg@10100000 platform-bus@4000000; do tr '\\0' ' ' < /proc/device-tree/$n/compatible; echo; done");
    assert.match(tree, /^qemu,fw-cfg-mmio $/m);
    assert.match(tree, /^qemu,platform simple-bus $/m);

    con.send("poweroff\n");
    const status = await con.waitExit(STEP_MS);
    assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
  } finally {
    con.kill();
  }
});
