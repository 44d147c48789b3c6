/** The /proc/interrupts reader, on lines in the shapes Linux 6.12 prints them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInterrupts, total } from "./proc-interrupts.js";

test("numbered lines: counts per CPU, chip names with spaces, flow handlers, shared actions", () => {
  const text = [
    "           CPU0       CPU1       ",
    " 10:       2617       2242  RISC-V INTC   5 Edge      riscv-timer",
    " 11:     100000          0  APLIC-MSI-d000000.aplic  10 Level   -fasteoi   ttyS0",
    " 12:          0          1  PCI-MSIX-0000:00:01.0   0 Edge      aerdrv, pciehp",
    " 13:          3          0  PCI-MSIX-0000:01:00.0   0 Edge      eth0-rx-0",
    "IPI0:        31         31  Rescheduling interrupts",
    "",
  ].join("\r\n");
  const lines = parseInterrupts(text);
  assert.deepEqual(lines.map((l) => l.irq), [10, 11, 12, 13]);
  assert.deepEqual(lines[0], { irq: 10, counts: [2617, 2242], chip: "RISC-V INTC", hwirq: 5, trigger: "Edge", flow: "", actions: "riscv-timer" });
  assert.deepEqual(lines[1], { irq: 11, counts: [100000, 0], chip: "APLIC-MSI-d000000.aplic", hwirq: 10, trigger: "Level", flow: "fasteoi", actions: "ttyS0" });
  assert.equal(lines[2].actions, "aerdrv, pciehp");
  assert.equal(total(lines[0]), 4859);
});

test("a line with no action yet, and text that is not /proc/interrupts", () => {
  const lines = parseInterrupts("           CPU0\n  5:          0  SiFive PLIC  33 Level\n");
  assert.deepEqual(lines, [{ irq: 5, counts: [0], chip: "SiFive PLIC", hwirq: 33, trigger: "Level", flow: "", actions: "" }]);
  assert.throws(() => parseInterrupts("sh: cat: not found\n"), /no CPU header/);
  assert.throws(() => parseInterrupts("           CPU0       CPU1\n 10:  12  RISC-V INTC   5 Edge  riscv-timer\n"), /cannot read/);
});
