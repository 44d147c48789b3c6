/** The SiFive test finisher, and the device-tree nodes of the virt board's simple devices, checked with dtc. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { SifiveTest, Finisher } from "../../../src/hw/misc/sifive-test.js";
import { Serial } from "../../../src/hw/char/serial.js";
import { GoldfishRtc } from "../../../src/hw/rtc/goldfish-rtc.js";
import { Fdt } from "../../../src/hw/core/fdt.js";
import { IrqLevel } from "../../../src/hw/core/irq.js";
import { TimerList } from "../../../src/hw/core/clock.js";

function finisher() {
  const events: string[] = [];
  const dev = new SifiveTest({
    base: 0x100000,
    shutdown: (status) => events.push(`shutdown ${status}`),
    reset: () => events.push("reset"),
  });
  return { dev, events, write: (offset: number, size: 1 | 2 | 4, v: number) => dev.region.ops.write(offset, size, v) };
}

test("finisher codes: PASS powers off with 0, FAIL exits with value >> 16, RESET resets", () => {
  const f = finisher();
  assert.equal(f.dev.region.base, 0x100000);
  assert.equal(f.dev.region.size, 0x1000);
  f.write(0, 4, Finisher.PASS);
  f.write(0, 4, (3 << 16) | Finisher.FAIL);
  f.write(0, 4, (0xffff << 16) | Finisher.FAIL);
  f.write(0, 4, Finisher.RESET);
  f.write(0, 4, (0x1234 << 16) | Finisher.PASS);
  assert.deepEqual(f.events, ["shutdown 0", "shutdown 3", "shutdown 65535", "reset", "shutdown 0"]);
});

test("finisher ignores other values, other offsets and byte writes; reads 0", () => {
  const f = finisher();
  f.write(0, 4, 0x1234);
  f.write(0, 4, 0x5556);
  f.write(4, 4, Finisher.PASS); // the high word of an 8-byte store
  f.write(0, 1, 0x55);
  assert.deepEqual(f.events, []);
  f.write(0, 2, Finisher.FAIL);
  assert.deepEqual(f.events, ["shutdown 0"], "a 16-bit FAIL carries no status");
  assert.equal(f.dev.region.ops.read(0, 4), 0);
});

test("FDT: serial, rtc, test and the syscon poweroff/reboot nodes decode with dtc as QEMU's do", () => {
  const fdt = new Fdt();
  fdt.root.u32("#address-cells", 2).u32("#size-cells", 2);
  const soc = fdt.root.child("soc");
  soc.u32("#address-cells", 2).u32("#size-cells", 2);
  const plic = soc.child("plic@c000000");
  plic.phandle();
  const timers = new TimerList({ ticks: () => 0 });
  const irq = new IrqLevel();
  const serial = new Serial({ base: 0x10000000, irq, timers, backend: { write: () => undefined } });
  const rtc = new GoldfishRtc({ base: 0x101000, irq, timers, now: () => 0n });
  const finish = finisher().dev;

  assert.equal(finish.fdtNode(soc, fdt.root).name, "test@100000");
  assert.equal(serial.fdtNode(soc, plic, 10).name, "serial@10000000");
  assert.equal(rtc.fdtNode(soc, plic, 11).name, "rtc@101000");

  const dtc = spawnSync("dtc", ["-I", "dtb", "-O", "dts", "-"], { input: fdt.toBlob(), encoding: "utf8" });
  assert.equal(dtc.status, 0, dtc.stderr);
  const dts = dtc.stdout;
  const node = (name: string): string => {
    const m = new RegExp(`\\n(\\t*)${name.replace(/[@]/g, "\\$&")} \\{\\n([^]*?)\\n\\1\\};`).exec(dts);
    assert.ok(m, `${name} in\n${dts}`);
    return m[2].replace(/^\t+/gm, "");
  };
  assert.equal(node("serial@10000000"), [
    "interrupts = <0x0a>;",
    "interrupt-parent = <0x01>;",
    // The bytes 00 38 40 00 (3686400) look like a string to dtc, as in a dump of QEMU's own blob.
    'clock-frequency = "\\08@";',
    "reg = <0x00 0x10000000 0x00 0x100>;",
    'compatible = "ns16550a";',
  ].join("\n"));
  assert.equal(node("rtc@101000"), [
    "interrupts = <0x0b>;",
    "interrupt-parent = <0x01>;",
    "reg = <0x00 0x101000 0x00 0x1000>;",
    'compatible = "google,goldfish-rtc";',
  ].join("\n"));
  assert.equal(node("test@100000"), [
    "phandle = <0x02>;",
    "reg = <0x00 0x100000 0x00 0x1000>;",
    'compatible = "sifive,test1\\0sifive,test0\\0syscon";',
  ].join("\n"));
  assert.equal(node("poweroff"), [
    "value = <0x5555>;",
    "offset = <0x00>;",
    "regmap = <0x02>;",
    'compatible = "syscon-poweroff";',
  ].join("\n"));
  assert.equal(node("reboot"), [
    "value = <0x7777>;",
    "offset = <0x00>;",
    "regmap = <0x02>;",
    'compatible = "syscon-reboot";',
  ].join("\n"));
  assert.ok(dts.indexOf("poweroff {") < dts.indexOf("reboot {"), "poweroff precedes reboot, as in QEMU's blob");
});
