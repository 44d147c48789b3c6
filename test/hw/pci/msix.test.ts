/**
 * MSI-X as QEMU-COMPAT.md states QEMU's hw/pci/msix.c: one test per rule,
 * driven through configuration space and the BAR as a driver would.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PciCommand, PciReg } from "../../../src/hw/pci/config-space.js";
import { MsixCap, MsixControl, MsixEntry, PCI_CAP_ID_MSIX, type MsixVectorNotifier } from "../../../src/hw/pci/msix.js";
import type { MsiMessage } from "../../../src/hw/pci/msi.js";
import { CAP, MSIX_BAR, MsixFunction, imsicMessage } from "./msix-harness.js";

type Event = ["use", number, MsiMessage] | ["release", number];

class Recorder implements MsixVectorNotifier {
  readonly events: Event[] = [];
  use(vector: number, msg: MsiMessage): void {
    this.events.push(["use", vector, msg]);
  }
  release(vector: number): void {
    this.events.push(["release", vector]);
  }
  take(): Event[] {
    return this.events.splice(0);
  }
}

test("capability: in the list, table size - 1, table and PBA in BAR 1 with QEMU's exclusive-BAR layout", () => {
  const f = new MsixFunction(5);
  assert.equal(f.config.read(PciReg.CAPABILITY_LIST, 1), CAP);
  assert.equal(f.config.read(CAP, 1), PCI_CAP_ID_MSIX);
  assert.equal(f.control & MsixControl.TABLE_SIZE, 4);
  assert.equal(f.config.read(CAP + MsixCap.TABLE, 4), 0 | MSIX_BAR);
  assert.equal(f.config.read(CAP + MsixCap.PBA, 4), 0x800 | MSIX_BAR);
  const bar = f.config.bar(MSIX_BAR);
  assert.equal(bar?.size, 0x1000);
  // 300 vectors: the table passes 0x800, so the PBA follows it and the BAR grows to a power of two.
  const big = new MsixFunction(300);
  assert.equal(big.config.read(CAP + MsixCap.PBA, 4), (300 * 16) | MSIX_BAR);
  assert.equal(big.config.bar(MSIX_BAR)?.size, 0x2000);
});

test("only Enable and Function Mask are writable in Message Control; the table size is read-only", () => {
  const f = new MsixFunction(3);
  f.writeControl(0xffff);
  assert.equal(f.control, MsixControl.ENABLE | MsixControl.FUNCTION_MASK | 2);
  f.config.write(CAP + MsixCap.TABLE, 4, 0xffffffff);
  assert.equal(f.config.read(CAP + MsixCap.TABLE, 4), MSIX_BAR);
});

test("at init every vector is masked with an empty message and nothing is pending", () => {
  const f = new MsixFunction(4);
  for (let v = 0; v < 4; v++) {
    assert.equal(f.readEntry(v, MsixEntry.VECTOR_CONTROL), 1);
    assert.equal(f.readEntry(v, MsixEntry.ADDRESS_LOW), 0);
    assert.equal(f.readEntry(v, MsixEntry.DATA), 0);
    assert.equal(f.pbaBit(v), false);
  }
});

test("a vector is masked by its own bit, by the function mask, and while MSI-X is disabled", () => {
  const f = new MsixFunction(2);
  f.writeEntry(0, imsicMessage(0, 10), false);
  assert.equal(f.msix.isMasked(0), true, "disabled");
  f.writeControl(MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
  assert.equal(f.msix.isMasked(0), true, "function-masked");
  f.writeControl(MsixControl.ENABLE);
  assert.equal(f.msix.isMasked(0), false);
  assert.equal(f.msix.isMasked(1), true, "own bit (init)");
  f.mask(0, true);
  assert.equal(f.msix.isMasked(0), true, "own bit");
});

test("a message for a masked vector sets its PBA bit; unmasking clears it and delivers once", () => {
  const f = new MsixFunction(3);
  f.enableMasked();
  f.writeEntry(2, imsicMessage(1, 33), true);
  f.msix.notify(2);
  f.msix.notify(2);
  assert.equal(f.pbaBit(2), true);
  assert.deepEqual(f.sent, []);
  f.mask(2, false);
  assert.equal(f.pbaBit(2), false);
  assert.deepEqual(f.sent, [imsicMessage(1, 33)]);
  f.msix.notify(2);
  assert.deepEqual(f.sent, [imsicMessage(1, 33), imsicMessage(1, 33)]);
});

test("pending bits kept by the function mask are delivered when the function is unmasked", () => {
  const f = new MsixFunction(2);
  f.enableMasked();
  f.writeEntry(0, imsicMessage(0, 5), false);
  f.writeEntry(1, imsicMessage(0, 6), false);
  f.writeControl(MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
  f.msix.notify(1);
  assert.equal(f.pbaBit(1), true);
  assert.equal(f.pbaBit(0), false);
  f.writeControl(MsixControl.ENABLE);
  assert.deepEqual(f.sent, [imsicMessage(0, 6)]);
  assert.equal(f.pbaBit(1), false);
});

test("a message while MSI-X is disabled is kept pending and sent once the vector is enabled and unmasked", () => {
  const f = new MsixFunction(1);
  f.writeEntry(0, imsicMessage(0, 9), false);
  f.msix.notify(0);
  assert.equal(f.pbaBit(0), true);
  f.enableMasked();
  assert.deepEqual(f.sent, [imsicMessage(0, 9)]);
});

test("the PBA is read-only, and vector control bits other than the mask read 0", () => {
  const f = new MsixFunction(2);
  f.enableMasked();
  f.msix.notify(1);
  f.msix.pbaOps.write(0, 4, 0);
  assert.equal(f.pbaBit(1), true);
  f.msix.pbaOps.write(0, 4, 0xffffffff);
  assert.equal(f.pbaBit(0), false);
  f.msix.tableOps.write(MsixEntry.VECTOR_CONTROL, 4, 0xfffffffe);
  assert.equal(f.readEntry(0, MsixEntry.VECTOR_CONTROL), 0);
});

test("reset clears Enable, Function Mask, the table and the PBA, and masks every vector", () => {
  const f = new MsixFunction(3);
  f.enableMasked();
  f.writeControl(MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
  f.writeEntry(1, imsicMessage(0, 7), false);
  f.msix.notify(1);
  f.config.reset();
  f.msix.reset();
  assert.equal(f.control, 2);
  for (let v = 0; v < 3; v++) {
    assert.equal(f.readEntry(v, MsixEntry.VECTOR_CONTROL), 1);
    assert.equal(f.readEntry(v, MsixEntry.ADDRESS_LOW), 0);
    assert.equal(f.readEntry(v, MsixEntry.DATA), 0);
    assert.equal(f.pbaBit(v), false);
  }
  // Nothing left over comes out after the guest enables again.
  f.config.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.MASTER);
  f.enableMasked();
  f.mask(1, false);
  assert.deepEqual(f.sent, []);
});

test("use and release fire on every mask transition, whatever caused it", () => {
  const f = new MsixFunction(2);
  const r = new Recorder();
  f.msix.setVectorNotifier(r);
  f.writeEntry(0, imsicMessage(0, 40), false);
  f.writeEntry(1, imsicMessage(1, 41), false);
  assert.deepEqual(r.take(), [], "disabled: no transition");
  f.writeControl(MsixControl.ENABLE);
  assert.deepEqual(r.take(), [["use", 0, imsicMessage(0, 40)], ["use", 1, imsicMessage(1, 41)]]);
  f.mask(1, true);
  assert.deepEqual(r.take(), [["release", 1]]);
  f.mask(1, true);
  assert.deepEqual(r.take(), [], "no transition, no call");
  f.writeControl(MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
  assert.deepEqual(r.take(), [["release", 0]]);
  f.mask(1, false);
  assert.deepEqual(r.take(), [], "function still masked");
  f.writeControl(MsixControl.ENABLE);
  assert.deepEqual(r.take(), [["use", 0, imsicMessage(0, 40)], ["use", 1, imsicMessage(1, 41)]]);
  f.writeControl(0);
  assert.deepEqual(r.take(), [["release", 0], ["release", 1]], "disabling releases");
  f.writeControl(MsixControl.ENABLE);
  r.take();
  f.config.reset();
  f.msix.reset();
  assert.deepEqual(r.take(), [["release", 0], ["release", 1]], "reset releases");
});

test("a message rewritten while its vector is unmasked is released and used again with the new message", () => {
  const f = new MsixFunction(1);
  const r = new Recorder();
  f.msix.setVectorNotifier(r);
  f.enableMasked();
  f.writeEntry(0, imsicMessage(0, 1), false);
  r.take();
  f.msix.tableOps.write(MsixEntry.DATA, 4, 2);
  assert.deepEqual(r.take(), [["release", 0], ["use", 0, imsicMessage(0, 2)]]);
  f.msix.tableOps.write(MsixEntry.DATA, 4, 2);
  assert.deepEqual(r.take(), [], "same message: nothing");
});

test("a newly installed notifier is called for each vector already unmasked, only when enabled and not function-masked", () => {
  const f = new MsixFunction(3);
  f.writeEntry(0, imsicMessage(0, 1), false);
  f.writeEntry(2, imsicMessage(0, 3), false);
  const r1 = new Recorder();
  f.msix.setVectorNotifier(r1);
  assert.deepEqual(r1.take(), [], "disabled");
  f.msix.unsetVectorNotifier();
  f.writeControl(MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
  const r2 = new Recorder();
  f.msix.setVectorNotifier(r2);
  assert.deepEqual(r2.take(), [], "function-masked");
  f.msix.unsetVectorNotifier();
  f.writeControl(MsixControl.ENABLE);
  const r3 = new Recorder();
  f.msix.setVectorNotifier(r3);
  assert.deepEqual(r3.take(), [["use", 0, imsicMessage(0, 1)], ["use", 2, imsicMessage(0, 3)]]);
  assert.throws(() => f.msix.setVectorNotifier(new Recorder()), /already installed/);
  f.msix.unsetVectorNotifier();
  assert.deepEqual(r3.take(), [["release", 0], ["release", 2]]);
});

test("without bus mastering no message leaves; a vector outside the table is ignored", () => {
  const f = new MsixFunction(1);
  f.enableMasked();
  f.writeEntry(0, imsicMessage(0, 8), false);
  f.config.write(PciReg.COMMAND, 2, PciCommand.MEMORY);
  f.msix.notify(0);
  assert.deepEqual(f.sent, []);
  f.msix.notify(1);
  f.msix.notify(-1);
  assert.equal(f.pbaBit(0), false);
  f.config.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.MASTER);
  f.msix.notify(0);
  assert.deepEqual(f.sent, [imsicMessage(0, 8)]);
});

test("the table answers 8-, 16- and 32-bit accesses little-endian; accesses past it read 0", () => {
  const f = new MsixFunction(1);
  f.msix.tableOps.write(MsixEntry.DATA, 2, 0xbeef);
  f.msix.tableOps.write(MsixEntry.DATA + 2, 1, 0x12);
  assert.equal(f.readEntry(0, MsixEntry.DATA), 0x12beef);
  assert.equal(f.msix.tableOps.read(MsixEntry.DATA + 1, 1), 0xbe);
  assert.equal(f.msix.tableOps.read(16, 4), 0);
  f.msix.tableOps.write(16, 4, 1);
});
