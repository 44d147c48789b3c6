/**
 * Advanced Error Reporting as QEMU 7.2's pcie_aer.c does it, on a root port
 * with a PCI Express endpoint (virtio-rng-pci, aer=on) below: what an
 * injected error sets (Device Status, the AER status bits, the first error
 * pointer and header log, the root error status and source ID), when the
 * message reaches the root port (SERR# in the bridge control and in the
 * Command registers, the Device Control enables) and when the port
 * interrupts (vector 0, only with the root error command's enable, once per
 * rising condition); W1C of the status registers, the queued headers of
 * multiple header recording, and the HMP error names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PciCommand, PciReg } from "../../../src/hw/pci/config-space.js";
import { MsiRouteTable } from "../../../src/hw/pci/msi-route.js";
import type { MsiMessage } from "../../../src/hw/pci/msi.js";
import { MsixCap, MsixEntry } from "../../../src/hw/pci/msix.js";
import { BridgeCtl, BridgeReg, SEC_STATUS_RCV_SYSTEM_ERROR } from "../../../src/hw/pci/pci-bridge.js";
import { AerReg, AER_ERROR_NAMES, Cor, parseAerError, RootSta, Unc } from "../../../src/hw/pci/pcie-aer.js";
import { DevCtl, PciExp } from "../../../src/hw/pci/pcie-cap.js";
import { PcieRootPort, RP_AER_CAP, RP_EXP_CAP, RP_MSIX_CAP } from "../../../src/hw/pci/pcie-root-port.js";
import { VIRTIO_PCIE_AER_CAP, VIRTIO_PCIE_EXP_CAP, VirtioPci } from "../../../src/hw/virtio/virtio-pci.js";
import { VirtioRng } from "../../../src/hw/virtio/virtio-rng.js";
import { FakeRam } from "../../util/virtio-driver.js";

const PORT_SOURCE = 1 << 3;
const DEV_SOURCE = 1 << 8;

interface Rig {
  port: PcieRootPort;
  dev: VirtioPci;
  sent: MsiMessage[];
  intx: boolean[];
}

function rig(): Rig {
  const sent: MsiMessage[] = [];
  const send = (m: MsiMessage): void => { sent.push(m); };
  const port = new PcieRootPort({ chassis: 1, slot: 0, port: 0, send });
  port.config.snapshot();
  port.reset();
  const intx: boolean[] = [];
  port.config.connectIntx((level) => intx.push(level));
  const dev = new VirtioPci({
    device: new VirtioRng((b) => b.fill(1)), dma: new FakeRam(1 << 16), send, routes: new MsiRouteTable(() => undefined, send),
    classCode: 0x00ff00, name: "virtio-rng-pci", express: true, aer: true,
  });
  dev.config.snapshot();
  (dev.errors as NonNullable<VirtioPci["errors"]>).upstream = port.errors;
  return { port, dev, sent, intx };
}

/** What Linux's AER driver sets up on the port, plus SERR# in Command (QEMU 7.2 needs it), with MSI-X vector 0 unmasked. */
function linuxSetup(r: Rig, msix = true): void {
  const c = r.port.config;
  c.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.MASTER | PciCommand.SERR);
  c.write(BridgeReg.BRIDGE_CONTROL, 2, BridgeCtl.SERR);
  c.write(RP_EXP_CAP + PciExp.DEVCTL, 2, DevCtl.CERE | DevCtl.NFERE | DevCtl.FERE | DevCtl.URRE);
  if (msix) {
    r.port.msix.tableOps.write(MsixEntry.ADDRESS_LOW, 4, 0x28000000);
    r.port.msix.tableOps.write(MsixEntry.DATA, 4, 12);
    r.port.msix.tableOps.write(MsixEntry.VECTOR_CONTROL, 4, 0);
    c.write(RP_MSIX_CAP + MsixCap.CONTROL, 2, 0x8000);
  }
  c.write(RP_AER_CAP + AerReg.ROOT_COMMAND, 4, 0x7);
}

const aer = (r: Rig, reg: AerReg): number => r.port.config.read(RP_AER_CAP + reg, 4);

test("an uncorrectable error at the port: status, severity, first error pointer, root status and vector 0", () => {
  const r = rig();
  linuxSetup(r);
  assert.ok(r.port.errors.inject({ status: Unc.COMP_TIME, sourceId: PORT_SOURCE, correctable: false }));
  assert.equal(aer(r, AerReg.UNCOR_STATUS), Unc.COMP_TIME);
  assert.equal(aer(r, AerReg.CAP) & 0x1f, 14, "first error pointer: bit 14");
  assert.equal(r.port.config.read(RP_EXP_CAP + PciExp.DEVSTA, 2), 0x2, "non-fatal error detected");
  assert.equal(r.port.config.read(RP_EXP_CAP + PciExp.LNKCAP, 2), 0, "QEMU 7.2's 32-bit Device Status write clears the link capabilities' low half");
  assert.equal(aer(r, AerReg.ROOT_STATUS), RootSta.UNCOR_RCV | RootSta.NONFATAL_RCV);
  assert.equal(aer(r, AerReg.ROOT_ERR_SRC) >>> 16, PORT_SOURCE, "uncorrectable source ID");
  assert.equal(r.port.config.read(BridgeReg.SEC_STATUS, 2) & SEC_STATUS_RCV_SYSTEM_ERROR, SEC_STATUS_RCV_SYSTEM_ERROR);
  assert.deepEqual(r.sent, [{ address: 0x28000000, data: 12 }], "one message on vector 0");
  // A second error while the condition holds: recorded, no new interrupt.
  r.port.errors.inject({ status: Unc.UNX_COMP, sourceId: PORT_SOURCE, correctable: false });
  assert.equal(aer(r, AerReg.ROOT_STATUS) & RootSta.MULTI_UNCOR_RCV, RootSta.MULTI_UNCOR_RCV);
  assert.equal(r.sent.length, 1);
  // The driver clears the root status (W1C): the next error interrupts again.
  r.port.config.write(RP_AER_CAP + AerReg.ROOT_STATUS, 4, 0x7f);
  assert.equal(aer(r, AerReg.ROOT_STATUS), 0);
  r.port.errors.inject({ status: Unc.DLP, sourceId: PORT_SOURCE, correctable: false });
  assert.equal(aer(r, AerReg.ROOT_STATUS), RootSta.UNCOR_RCV | RootSta.FATAL_RCV | RootSta.FIRST_FATAL, "DLP is fatal by default severity");
  assert.equal(r.sent.length, 2);
});

test("no interrupt when the root error command does not enable the severity; none without SERR#", () => {
  const r = rig();
  linuxSetup(r);
  r.port.config.write(RP_AER_CAP + AerReg.ROOT_COMMAND, 4, 0x4);
  r.port.errors.inject({ status: Unc.COMP_TIME, sourceId: PORT_SOURCE, correctable: false });
  assert.equal(aer(r, AerReg.ROOT_STATUS) & RootSta.NONFATAL_RCV, RootSta.NONFATAL_RCV, "recorded");
  assert.equal(r.sent.length, 0, "non-fatal not enabled: no interrupt");
  // Enabling it afterwards: the condition rises, one message.
  r.port.config.write(RP_AER_CAP + AerReg.ROOT_COMMAND, 4, 0x7);
  assert.equal(r.sent.length, 1);

  const q = rig();
  linuxSetup(q);
  q.port.config.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.MASTER);
  q.port.errors.inject({ status: Unc.COMP_TIME, sourceId: PORT_SOURCE, correctable: false });
  assert.equal(q.port.config.read(RP_AER_CAP + AerReg.UNCOR_STATUS, 4), Unc.COMP_TIME, "logged at the port");
  assert.equal(q.port.config.read(RP_AER_CAP + AerReg.ROOT_STATUS, 4), 0, "not forwarded without SERR# (QEMU 7.2)");
  assert.equal(q.sent.length, 0);
});

test("correctable errors are logged but QEMU 7.2 never forwards them", () => {
  const r = rig();
  linuxSetup(r);
  r.port.errors.inject({ status: Cor.RCVR, sourceId: PORT_SOURCE, correctable: true });
  assert.equal(aer(r, AerReg.COR_STATUS), Cor.RCVR);
  assert.equal(r.port.config.read(RP_EXP_CAP + PciExp.DEVSTA, 2), 0x1, "correctable error detected");
  assert.equal(aer(r, AerReg.ROOT_STATUS), 0);
  assert.equal(r.sent.length, 0);
  r.port.config.write(RP_AER_CAP + AerReg.COR_STATUS, 4, Cor.RCVR);
  assert.equal(aer(r, AerReg.COR_STATUS), 0, "W1C");
  // Masked by default: ADV_NONFATAL, INTERNAL, HL_OVERFLOW.
  assert.equal(aer(r, AerReg.COR_MASK), 0xe000);
});

test("an error in the device below travels up to the port, with the device's requester ID", () => {
  const r = rig();
  linuxSetup(r);
  const d = r.dev.config;
  d.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.MASTER | PciCommand.SERR);
  d.write(VIRTIO_PCIE_EXP_CAP + PciExp.DEVCTL, 2, DevCtl.NFERE | DevCtl.FERE);
  (r.dev.errors as NonNullable<VirtioPci["errors"]>).inject({ status: Unc.COMP_ABORT, sourceId: DEV_SOURCE, correctable: false });
  assert.equal(d.read(VIRTIO_PCIE_AER_CAP + AerReg.UNCOR_STATUS, 4), Unc.COMP_ABORT);
  assert.equal(aer(r, AerReg.UNCOR_STATUS), 0, "the port's own status is untouched");
  assert.equal(aer(r, AerReg.ROOT_ERR_SRC) >>> 16, DEV_SOURCE);
  assert.equal(r.sent.length, 1);
  // The bridge's SERR# off: the message stops at the port (Received System Error still set).
  const q = rig();
  linuxSetup(q);
  q.port.config.write(BridgeReg.BRIDGE_CONTROL, 2, 0);
  q.dev.config.write(PciReg.COMMAND, 2, PciCommand.SERR);
  q.dev.config.write(VIRTIO_PCIE_EXP_CAP + PciExp.DEVCTL, 2, DevCtl.NFERE);
  (q.dev.errors as NonNullable<VirtioPci["errors"]>).inject({ status: Unc.COMP_ABORT, sourceId: DEV_SOURCE, correctable: false });
  assert.equal(q.port.config.read(BridgeReg.SEC_STATUS, 2), SEC_STATUS_RCV_SYSTEM_ERROR);
  assert.equal(q.port.config.read(RP_AER_CAP + AerReg.ROOT_STATUS, 4), 0);
  assert.equal(q.sent.length, 0);
});

test("without MSI-X the port raises INTx while an enabled condition holds", () => {
  const r = rig();
  linuxSetup(r, false);
  r.port.errors.inject({ status: Unc.COMP_TIME, sourceId: PORT_SOURCE, correctable: false });
  assert.equal(r.intx.at(-1), true);
  r.port.config.write(RP_AER_CAP + AerReg.ROOT_STATUS, 4, 0x7f);
  assert.equal(r.intx.at(-1), false);
});

test("multiple header recording: the next queued error takes the first's place when its status is cleared", () => {
  const r = rig();
  linuxSetup(r);
  r.port.config.write(RP_AER_CAP + AerReg.CAP, 4, 0x400);
  r.port.errors.inject({ status: Unc.COMP_TIME, sourceId: PORT_SOURCE, correctable: false, header: [0x11223344, 0, 0, 0] });
  r.port.errors.inject({ status: Unc.UNX_COMP, sourceId: PORT_SOURCE, correctable: false, header: [0x55667788, 0, 0, 0] });
  assert.equal(aer(r, AerReg.CAP) & 0x1f, 14);
  assert.equal(aer(r, AerReg.HEADER_LOG), 0x44332211, "the header dword is stored big-endian");
  r.port.config.write(RP_AER_CAP + AerReg.UNCOR_STATUS, 4, Unc.COMP_TIME);
  assert.equal(aer(r, AerReg.CAP) & 0x1f, 16, "first error pointer moves to UNX_COMP");
  assert.equal(aer(r, AerReg.HEADER_LOG), 0x88776655);
  assert.equal(aer(r, AerReg.UNCOR_STATUS), Unc.UNX_COMP);
});

test("error names and numbers as QEMU's HMP takes them; invalid bits are refused", () => {
  assert.equal(AER_ERROR_NAMES.length, 24);
  assert.equal(parseAerError("TRAIN", false), undefined, "not a name in QEMU 7.2's table");
  assert.deepEqual(parseAerError("COMP_TIME", true), { status: 0x4000, correctable: false }, "a name carries its own kind");
  assert.deepEqual(parseAerError("RCVR", false), { status: 1, correctable: true });
  assert.deepEqual(parseAerError("0x4000", false), { status: 0x4000, correctable: false });
  assert.deepEqual(parseAerError("0x1", true), { status: 1, correctable: true });
  assert.deepEqual(parseAerError("16", false), { status: 16, correctable: false });
  assert.equal(parseAerError("BOGUS", false), undefined);
  assert.equal(parseAerError("12abc", false), undefined);
  const r = rig();
  assert.equal(r.port.errors.inject({ status: Unc.TRAIN, sourceId: 8, correctable: false }), false, "bit 0 (training error) is not supported");
  assert.equal(r.port.errors.inject({ status: 0x3, sourceId: 8, correctable: false }), false, "TRAIN | bit 1: no supported bit");
  assert.equal(r.port.errors.inject({ status: 0x41, sourceId: 8, correctable: true }), false, "two bits");
  assert.equal(r.port.errors.inject({ status: 0x3, sourceId: 8, correctable: true }), true, "bit 1 is dropped, RCVR stays (as QEMU)");
  assert.equal(r.port.errors.inject({ status: 0, sourceId: 8, correctable: false }), false);
});
