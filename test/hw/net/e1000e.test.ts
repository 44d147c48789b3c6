/**
 * The e1000e model driven through its BARs and configuration space as
 * Linux's e1000e driver drives an 82574L: registers, NVM, PHY, interrupt
 * causes, MSI-X routing by IVAR, both rings, resets, and a seeded fuzz.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PciReg } from "../../../src/hw/pci/config-space.js";
import { MsixCap, MsixControl, MsixEntry } from "../../../src/hw/pci/msix.js";
import { Ctrl, CtrlExt, Eecd, Icr, Mdic, Rctl, Reg, Rfctl, Status, Tctl } from "../../../src/hw/net/e1000e-regs.js";
import { NVM_SUM } from "../../../src/hw/net/e1000e-nvm.js";
import { PHY_ID1, PHY_ID2 } from "../../../src/hw/net/e1000e-phy.js";
import { CAP_MSIX, E1000E_BAR } from "../../../src/hw/net/e1000e-pci.js";
import { onesSum } from "../../../src/hw/net/checksum.js";
import { Bench, MAC, RAM_BASE, RAM_SIZE, msixData, tcpFrame } from "./e1000e-harness.js";

const IVAR_VALID = 0x8;
const LINUX_IVAR = (IVAR_VALID | 0) | ((IVAR_VALID | 1) << 8) | ((IVAR_VALID | 2) << 16) | 0x80000000;

function eerd(b: Bench, word: number): number {
  b.write(Reg.EERD, (word << 2) | 1);
  const v = b.read(Reg.EERD);
  assert.equal(v & 2, 2, "EERD done");
  return v >>> 16;
}

function mdic(b: Bench, op: "read" | "write", reg: number, data = 0, phy = 1): number {
  b.write(Reg.MDIC, ((op === "read" ? 2 : 1) << 26) | (phy << 21) | (reg << 16) | data);
  return b.read(Reg.MDIC);
}

test("configuration space: identity, BARs and capabilities where QEMU 7.2 puts them", () => {
  const b = new Bench();
  const c = b.nic.config;
  assert.equal(c.read(0, 4), 0x10d38086);
  assert.equal(c.read(PciReg.CLASS_PROG, 1) | (c.read(PciReg.CLASS_DEVICE, 2) << 8), 0x020000);
  assert.equal(c.read(PciReg.SUBSYSTEM_VENDOR_ID, 4), 0x00008086);
  assert.equal(c.read(PciReg.INTERRUPT_PIN, 1), 1);
  assert.deepEqual([0, 1, 2, 3].map((i) => c.bar(i)?.size), [0x20000, 0x20000, 32, 0x4000]);
  // The capability chain Linux walks: PM, MSI, PCI Express, MSI-X.
  const chain: number[] = [];
  for (let at = c.read(PciReg.CAPABILITY_LIST, 1); at !== 0; at = c.read(at + 1, 1)) chain.push(at, c.read(at, 1));
  assert.deepEqual(chain, [0xc8, 0x01, 0xd0, 0x05, 0xe0, 0x10, 0xa0, 0x11]);
  assert.equal(c.read(0xe2, 2), 0x0091, "PCI Express v1, Root Complex Integrated Endpoint");
  assert.equal(c.read(0xec, 4), 0x411);
  assert.equal(c.read(0xf2, 2), 0x11, "link 2.5 GT/s x1");
  assert.equal(c.read(CAP_MSIX + MsixCap.CONTROL, 2) & MsixControl.TABLE_SIZE, 4, "five MSI-X vectors");
  assert.equal(c.read(CAP_MSIX + MsixCap.PBA, 4), 0x2000 | E1000E_BAR.msix);
  assert.equal(c.read(0x100, 4), 0x14020001, "AER, then the serial number at 0x140");
  assert.deepEqual([c.read(0x144, 4), c.read(0x148, 4)], [0xff123456, 0x525400ff]);
});

test("registers: reset values, write masks, read-only and read-to-clear registers", () => {
  const b = new Bench();
  assert.equal(b.read(Reg.STATUS) & (Status.LU | Status.FD | Status.SPEED_1000), Status.LU | Status.FD | Status.SPEED_1000);
  assert.equal(b.read(Reg.EECD) & (Eecd.PRES | Eecd.AUTO_RD), Eecd.PRES | Eecd.AUTO_RD);
  assert.equal(b.read(Reg.PBA), 0x00140014);
  assert.equal(b.read(Reg.RAL), 0x12005452);
  assert.equal(b.read(Reg.RAH), 0x80005634, "the NVM's address, valid");
  assert.equal(b.read(Reg.EEMNGCTL) & 0x40000, 0x40000, "configuration done");
  b.write(Reg.STATUS, 0);
  assert.notEqual(b.read(Reg.STATUS) & Status.LU, 0, "STATUS is read-only");
  b.write(Reg.RDLEN, 0xffffffff);
  assert.equal(b.read(Reg.RDLEN), 0xfff80, "ring lengths are multiples of 128 bytes");
  b.write(Reg.IVAR, 0xffffffff);
  assert.equal(b.read(Reg.IVAR), 0x800fffff);
  assert.equal(b.read(0x1f000), 0, "no register: reads 0");
  b.write(0x1f000, 1);
  assert.equal(b.read(0x1f000), 0);
  // A byte access reads within its dword.
  assert.equal(b.nic.mmio.read(Reg.RAL + 1, 1), 0x54);
  // EECD: a request for the NVM is granted.
  b.write(Reg.EECD, b.read(Reg.EECD) | Eecd.REQ);
  assert.equal(b.read(Reg.EECD) & Eecd.GNT, Eecd.GNT);
  // Master disable is reported in STATUS (Linux's e1000e_disable_pcie_master waits for it).
  b.write(Reg.CTRL, b.read(Reg.CTRL) | Ctrl.GIO_MASTER_DISABLE);
  assert.equal(b.read(Reg.STATUS) & Status.GIO_MASTER_ENABLE, 0);
  // The I/O window reaches the same registers.
  b.nic.io.write(0, 4, Reg.PBA);
  assert.equal(b.nic.io.read(4, 4), 0x00140014);
});

test("NVM through EERD: the MAC address, PBA 0, and words that sum to 0xBABA", () => {
  const b = new Bench();
  assert.deepEqual([0, 1, 2].map((w) => eerd(b, w)), [0x5452, 0x1200, 0x5634]);
  assert.deepEqual([eerd(b, 8), eerd(b, 9)], [0, 0]);
  assert.equal(eerd(b, 0x0d), 0x10d3);
  assert.equal(eerd(b, 0x0f) & 0x6000, 0, "no manageability mode");
  let sum = 0;
  for (let w = 0; w < 64; w++) sum = (sum + eerd(b, w)) & 0xffff;
  assert.equal(sum, NVM_SUM);
  b.write(Reg.EERD, 0x1234 << 2);
  assert.equal(b.read(Reg.EERD) & 2, 0, "no start: not done");
});

test("PHY through MDIC: identity, link and autonegotiation, writes, paging, errors", () => {
  const b = new Bench();
  assert.equal(mdic(b, "read", 2) & 0xffff, PHY_ID1);
  assert.equal(mdic(b, "read", 3) & 0xffff, PHY_ID2);
  const r = mdic(b, "read", 1);
  assert.equal(r & Mdic.READY, Mdic.READY);
  assert.equal(r & 0x24, 0x24, "link up, autonegotiation complete");
  assert.equal(mdic(b, "read", 5) & 0x0400, 0x0400, "the partner offers pause");
  mdic(b, "write", 4, 0x0de1);
  assert.equal(mdic(b, "read", 4) & 0xffff, 0x0de1);
  mdic(b, "write", 0, 0x1340); // restart autonegotiation
  assert.equal(mdic(b, "read", 0) & 0x0200, 0, "restart self-clears");
  // Register 22 pages registers 16-31.
  mdic(b, "write", 16, 0x0123);
  mdic(b, "write", 22, 2);
  assert.equal(mdic(b, "read", 16) & 0xffff, 0);
  mdic(b, "write", 22, 0);
  assert.equal(mdic(b, "read", 16) & 0xffff, 0x0123);
  assert.equal(mdic(b, "read", 2, 0, 2) & Mdic.ERROR, Mdic.ERROR, "no PHY at address 2");
  mdic(b, "write", 0, 0x8000);
  assert.equal(mdic(b, "read", 0) & 0x8000, 0, "PHY reset self-clears");
  assert.equal(mdic(b, "read", 16) & 0xffff, 0x0068, "and restores the defaults");
});

test("ICR, ICS, IMS, IMC with INTx: causes, the mask, read-to-clear, INT_ASSERTED", () => {
  const b = new Bench();
  b.write(Reg.ICS, Icr.LSC);
  assert.equal(b.intx, false, "masked");
  assert.equal(b.read(Reg.IMS), 0);
  b.write(Reg.IMS, Icr.LSC | Icr.RXT0);
  assert.equal(b.intx, true, "unmasked: the pending cause asserts INTx");
  assert.equal(b.read(Reg.IMS), Icr.LSC | Icr.RXT0);
  b.write(Reg.IMC, Icr.LSC);
  assert.equal(b.intx, false);
  b.write(Reg.IMS, Icr.LSC);
  assert.equal(b.intx, true);
  const icr = b.read(Reg.ICR);
  assert.equal(icr >>> 0, (Icr.LSC | Icr.INT_ASSERTED) >>> 0);
  assert.equal(b.intx, false, "reading ICR without MSI-X clears it");
  assert.equal(b.read(Reg.ICR), 0);
  // Write 1 to clear.
  b.write(Reg.IMC, 0xffffffff);
  b.write(Reg.ICS, Icr.LSC | Icr.TXDW);
  b.write(Reg.ICR, Icr.TXDW);
  b.write(Reg.IMS, Icr.TXDW);
  assert.equal(b.intx, false);
  // MSI when MSI-X is off: one message per newly pending set of causes.
  b.nic.config.write(0xd0 + 4, 4, 0x28000000);
  b.nic.config.write(0xd0 + 12, 2, 0x42);
  b.nic.config.write(0xd0 + 2, 2, 1);
  b.write(Reg.IMS, Icr.RXT0);
  b.write(Reg.ICS, Icr.RXT0);
  b.write(Reg.ICS, Icr.RXT0);
  assert.deepEqual(b.sent.map((m) => m.data), [0x42], "MSI: once until the cause is cleared");
  b.read(Reg.ICR);
  b.write(Reg.ICS, Icr.RXT0);
  assert.equal(b.sent.length, 2);
});

test("IVAR routes RXQ0, TXQ0 and the other causes to their MSI-X vectors; EIAC auto-clears", () => {
  const b = new Bench();
  b.enableMsix();
  b.write(Reg.IVAR, LINUX_IVAR);
  b.write(Reg.CTRL_EXT, b.read(Reg.CTRL_EXT) | CtrlExt.EIAME | CtrlExt.PBA_CLR);
  b.write(Reg.EIAC, Icr.RXQ0 | Icr.TXQ0);
  b.write(Reg.IMS, Icr.RXQ0 | Icr.TXQ0 | Icr.OTHER | Icr.LSC);
  b.write(Reg.ICS, Icr.RXQ0);
  b.write(Reg.ICS, Icr.RXQ0);
  b.write(Reg.ICS, Icr.TXQ0);
  assert.deepEqual(b.vectors(), [0, 0, 1], "auto-cleared queue causes fire each time");
  b.write(Reg.ICS, Icr.LSC);
  assert.deepEqual(b.vectors(), [2]);
  assert.equal(b.read(Reg.ICR) & (Icr.LSC | Icr.OTHER), Icr.LSC | Icr.OTHER, "LSC sets OTHER; ICR keeps it under MSI-X");
  b.write(Reg.ICS, Icr.LSC);
  assert.deepEqual(b.vectors(), [], "still pending: no new message");
  b.write(Reg.ICR, Icr.LSC | Icr.OTHER);
  b.write(Reg.ICS, Icr.LSC);
  assert.deepEqual(b.vectors(), [2], "cleared, then raised again: a new message");
  // Another mapping: rx on vector 3.
  b.write(Reg.IVAR, (IVAR_VALID | 3) | ((IVAR_VALID | 1) << 8) | ((IVAR_VALID | 2) << 16));
  b.write(Reg.ICS, Icr.RXQ0);
  assert.deepEqual(b.vectors(), [3]);
  // A masked vector keeps its message pending until unmasked.
  b.nic.msix.tableOps.write(3 * 16 + MsixEntry.VECTOR_CONTROL, 4, 1);
  b.write(Reg.ICS, Icr.RXQ0);
  assert.deepEqual(b.vectors(), []);
  b.nic.msix.tableOps.write(3 * 16 + MsixEntry.VECTOR_CONTROL, 4, 0);
  assert.deepEqual(b.vectors(), [3]);
  // The backend's link going down and up: LSC on the other vector, STATUS and the PHY follow.
  b.write(Reg.IVAR, LINUX_IVAR);
  b.write(Reg.ICR, 0xffffffff);
  b.nic.setLink(false);
  assert.deepEqual(b.vectors(), [2]);
  assert.equal(b.read(Reg.STATUS) & Status.LU, 0);
  assert.equal(mdic(b, "read", 1) & 0x4, 0, "PHY link down");
  b.write(Reg.ICR, 0xffffffff);
  b.nic.setLink(true);
  assert.deepEqual(b.vectors(), [2]);
  assert.equal(b.read(Reg.STATUS) & Status.LU, Status.LU);
  // An invalid entry signals nothing.
  b.write(Reg.IVAR, 0);
  b.write(Reg.ICS, Icr.RXQ0);
  assert.deepEqual(b.vectors(), []);
});

/** Transmit ring of 8 descriptors at RAM_BASE + 0x1000, buffers from RAM_BASE + 0x10000. */
function txRing(b: Bench): void {
  b.write(Reg.TDBAL, (RAM_BASE + 0x1000) >>> 0);
  b.write(Reg.TDBAH, 0);
  b.write(Reg.TDLEN, 8 * 16);
  b.write(Reg.TDH, 0);
  b.write(Reg.TDT, 0);
  b.write(Reg.TCTL, Tctl.EN | Tctl.PSP);
}

function putDesc(b: Bench, index: number, words: [number, number, number, number]): void {
  const at = 0x1000 + index * 16;
  words.forEach((w, i) => b.ram.view.setUint32(at + 4 * i, w >>> 0, true));
}

test("transmit through legacy descriptors: gathered buffers reach the backend, DD written back, TXDW", () => {
  const b = new Bench();
  txRing(b);
  b.write(Reg.IMS, Icr.TXDW);
  const frame = tcpFrame(MAC, 100);
  b.ram.u8.set(frame.subarray(0, 40), 0x10000);
  b.ram.u8.set(frame.subarray(40), 0x20000);
  putDesc(b, 0, [RAM_BASE + 0x10000, 0, 40, 0]);
  // Second buffer: EOP | IFCS | RS in CMD.
  putDesc(b, 1, [RAM_BASE + 0x20000, 0, (frame.length - 40) | (0x0b << 24), 0]);
  b.write(Reg.TDT, 2);
  assert.equal(b.backend.frames.length, 1);
  assert.deepEqual(b.backend.frames[0], frame);
  assert.equal(b.read(Reg.TDH), 2);
  assert.equal(b.ram.u8[0x1000 + 16 + 12] & 1, 1, "DD on the RS descriptor");
  assert.equal(b.ram.u8[0x1000 + 12] & 1, 0, "no DD without RS");
  assert.equal(b.intx, true);
  assert.equal(b.read(Reg.ICR) & Icr.TXDW, Icr.TXDW);
  assert.equal(b.read(0x40d4), 1, "TPT counts it");
});

/** Verify an IPv4 TCP frame's IP and TCP checksums. */
function checksumsValid(f: Uint8Array): boolean {
  const ihl = (f[14] & 0xf) * 4;
  if (onesSum(f, 14, 14 + ihl) !== 0xffff) return false;
  const tcpLen = f.length - 14 - ihl;
  const pseudo = onesSum(f, 26, 34, 6 + tcpLen);
  return onesSum(f, 14 + ihl, f.length, pseudo) === 0xffff;
}

test("transmit through context and data descriptors: IP and TCP checksums, and TSO segments", () => {
  const b = new Bench();
  txRing(b);
  b.enableMsix();
  b.write(Reg.IVAR, LINUX_IVAR);
  b.write(Reg.IMS, Icr.TXQ0);
  // Checksum offload as Linux's e1000_tx_csum: the TCP field seeded with the pseudo-header sum.
  const frame = tcpFrame(MAC, 301);
  const tcpLen = frame.length - 34;
  const seed = onesSum(frame, 26, 34, 6 + tcpLen);
  frame[50] = seed >> 8;
  frame[51] = seed & 0xff;
  b.ram.u8.set(frame, 0x10000);
  const DEXT = 0x20 << 24;
  const ctx = (ipcss: number, ipcso: number, tucss: number, tucso: number, tucmd: number, paylen: number, hdr = 0, mss = 0):
    [number, number, number, number] => [ipcss | (ipcso << 8) | (0 << 16), tucss | (tucso << 8), paylen | DEXT | (tucmd << 24), (hdr << 8) | (mss << 16)];
  putDesc(b, 0, ctx(14, 24, 34, 50, 0x03, 0));
  // Data: DTYP 1, EOP | IFCS | RS | DEXT, POPTS IXSM | TXSM.
  putDesc(b, 1, [RAM_BASE + 0x10000, 0, frame.length | (1 << 20) | ((0x2b) << 24), 0x03 << 8]);
  b.write(Reg.TDT, 2);
  assert.equal(b.backend.frames.length, 1);
  assert.ok(checksumsValid(b.backend.frames[0]), "IP and TCP checksums filled in");
  assert.deepEqual(b.vectors(), [1], "TXQ0 on the transmit vector");

  // TSO: 2500 bytes of payload at MSS 1000, headers as Linux prepares them (lengths 0, seeded sum without length).
  const big = tcpFrame(MAC, 2500, { seq: 0xfffffc00, flags: 0x19 });
  new DataView(big.buffer).setUint16(16, 0);
  const tsoSeed = onesSum(big, 26, 34, 6);
  big[50] = tsoSeed >> 8;
  big[51] = tsoSeed & 0xff;
  b.ram.u8.set(big, 0x20000);
  putDesc(b, 2, ctx(14, 24, 34, 50, 0x07, big.length - 54, 54, 1000));
  putDesc(b, 3, [RAM_BASE + 0x20000, 0, 54 | (1 << 20) | (0x2c << 24), 0x03 << 8]);
  putDesc(b, 4, [RAM_BASE + 0x20000 + 54, 0, (big.length - 54) | (1 << 20) | (0x2f << 24), 0x03 << 8]);
  b.write(Reg.TDT, 5);
  const segs = b.backend.frames.slice(1);
  assert.deepEqual(segs.map((s) => s.length), [1054, 1054, 554]);
  segs.forEach((s, i) => {
    const v = new DataView(s.buffer);
    assert.ok(checksumsValid(s), `segment ${i}: checksums`);
    assert.equal(v.getUint16(16), s.length - 14, "IP total length");
    assert.equal(v.getUint16(18), 0x1234 + i, "IP identification");
    assert.equal(v.getUint32(38), (0xfffffc00 + i * 1000) >>> 0, "sequence number");
    assert.equal(s[47] & 0x09, i === 2 ? 0x09 : 0, "FIN and PSH only on the last segment");
    assert.deepEqual(s.subarray(54), big.subarray(54 + i * 1000, 54 + i * 1000 + s.length - 54));
  });
});

/** Receive ring of 8 descriptors at RAM_BASE + 0x3000 with 2 KiB buffers from RAM_BASE + 0x40000. */
function rxRing(b: Bench, extended: boolean, tail = 7): void {
  for (let i = 0; i < 8; i++) {
    b.ram.view.setUint32(0x3000 + i * 16, RAM_BASE + 0x40000 + i * 0x800, true);
    b.ram.view.setUint32(0x3000 + i * 16 + 4, 0, true);
  }
  b.write(Reg.RDBAL, (RAM_BASE + 0x3000) >>> 0);
  b.write(Reg.RDLEN, 8 * 16);
  b.write(Reg.RDH, 0);
  b.write(Reg.RDT, tail);
  if (extended) b.write(Reg.RFCTL, Rfctl.EXTEN);
  b.write(Reg.RCTL, Rctl.EN | Rctl.BAM | Rctl.SECRC | Rctl.LPE);
}

test("receive into extended descriptors: data, write-back, the receive vector; filters; a full ring refuses", () => {
  const b = new Bench();
  b.enableMsix();
  b.write(Reg.IVAR, LINUX_IVAR);
  b.write(Reg.EIAC, Icr.RXQ0 | Icr.TXQ0);
  b.write(Reg.CTRL_EXT, CtrlExt.EIAME);
  b.write(Reg.IMS, Icr.RXQ0 | Icr.OTHER | Icr.LSC);
  rxRing(b, true);
  const frame = tcpFrame(MAC, 3000);
  b.write(Reg.RCTL, Rctl.EN | Rctl.BAM | Rctl.SECRC);
  assert.equal(b.nic.deliver(frame), true, "a long frame without LPE is dropped (taken)");
  assert.equal(b.read(Reg.RDH), 0);
  b.write(Reg.RCTL, Rctl.EN | Rctl.BAM | Rctl.SECRC | Rctl.LPE);
  assert.equal(b.nic.deliver(frame), true);
  // 3054 bytes: two 2 KiB buffers.
  assert.deepEqual(b.ram.u8.subarray(0x40000, 0x40000 + 2048), frame.subarray(0, 2048));
  assert.deepEqual(b.ram.u8.subarray(0x40800, 0x40800 + 1006), frame.subarray(2048));
  const st0 = b.ram.view.getUint32(0x3000 + 8, true);
  const st1 = b.ram.view.getUint32(0x3010 + 8, true);
  assert.equal(st0 & 3, 1, "DD, not EOP");
  assert.equal(st1 & 3, 3, "DD and EOP");
  assert.deepEqual([b.ram.view.getUint16(0x3000 + 12, true), b.ram.view.getUint16(0x3010 + 12, true)], [2048, 1006]);
  assert.equal(b.read(Reg.RDH), 2);
  assert.deepEqual(b.vectors(), [0]);
  // Not our address: dropped (taken from the backend, not written).
  const other = tcpFrame(Uint8Array.from([0x52, 0x54, 0, 0, 0, 9]), 10);
  assert.equal(b.nic.deliver(other), true);
  assert.equal(b.read(Reg.RDH), 2);
  // Broadcast with BAM.
  const bcast = tcpFrame(Uint8Array.from([255, 255, 255, 255, 255, 255]), 10);
  assert.equal(b.nic.deliver(bcast), true);
  assert.equal(b.read(Reg.RDH), 3);
  assert.equal(b.ram.view.getUint16(0x3020 + 12, true), 64, "the frame's length");
  // Four descriptors left (3..6): a frame that needs more waits; RDT moving asks the backend to resume.
  for (let i = 0; i < 4; i++) assert.equal(b.nic.deliver(tcpFrame(MAC, 10)), true);
  assert.equal(b.nic.deliver(tcpFrame(MAC, 10)), false, "no buffers");
  const resumes = b.backend.resumes;
  b.write(Reg.RDT, 2);
  assert.equal(b.backend.resumes, resumes + 1);
  assert.equal(b.nic.deliver(tcpFrame(MAC, 10)), true);
});

test("receive into legacy descriptors, with INTx", () => {
  const b = new Bench();
  b.write(Reg.IMS, Icr.RXT0);
  rxRing(b, false);
  const frame = tcpFrame(MAC, 100);
  assert.equal(b.nic.deliver(frame), true);
  assert.deepEqual(b.ram.u8.subarray(0x40000, 0x40000 + frame.length), frame);
  assert.equal(b.ram.view.getUint16(0x3000 + 8, true), frame.length);
  assert.equal(b.ram.u8[0x3000 + 12] & 3, 3);
  assert.deepEqual(b.ram.view.getUint32(0x3000, true), RAM_BASE + 0x40000, "the address stays");
  assert.equal(b.intx, true);
  // Receiver off: held by the backend.
  b.write(Reg.RCTL, 0);
  assert.equal(b.nic.deliver(frame), false);
});

test("resets: CTRL.RST clears the device but not MSI-X; a PCI reset clears MSI-X too", () => {
  const b = new Bench();
  b.enableMsix();
  b.write(Reg.IVAR, LINUX_IVAR);
  b.write(Reg.IMS, Icr.LSC | Icr.OTHER);
  b.write(Reg.ICS, Icr.LSC);
  b.write(Reg.RDLEN, 0x1000);
  mdic(b, "write", 4, 0x0001);
  b.write(Reg.CTRL, b.read(Reg.CTRL) | Ctrl.RST);
  assert.equal(b.read(Reg.CTRL) & Ctrl.RST, 0, "self-clearing");
  assert.deepEqual([b.read(Reg.IMS), b.read(Reg.IVAR), b.read(Reg.RDLEN)], [0, 0, 0]);
  assert.equal(b.read(Reg.ICR), 0);
  assert.equal(mdic(b, "read", 4) & 0xffff, 0x0de1, "PHY back to defaults");
  assert.equal(b.read(Reg.RAH), 0x80005634);
  assert.equal(b.nic.msix.enabled, true, "MSI-X is the function's, not the MAC's");
  b.vectors();
  b.nic.reset();
  assert.equal(b.nic.msix.enabled, false);
  assert.equal(b.nic.msix.tableOps.read(MsixEntry.DATA, 4), 0);
  assert.equal(b.nic.config.read(PciReg.COMMAND, 2), 0);
  // After the reset the driver sets everything up again, and interrupts flow.
  b.nic.config.write(PciReg.COMMAND, 2, 6);
  b.enableMsix();
  b.write(Reg.IVAR, LINUX_IVAR);
  b.write(Reg.IMS, Icr.LSC | Icr.OTHER);
  b.write(Reg.ICS, Icr.LSC);
  assert.deepEqual(b.vectors(), [msixData(2) - 0x100]);
});

/** xorshift32: a reproducible stream of 32-bit numbers. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

test("fuzz: random register, configuration and MSI-X writes, descriptors and frames never throw or escape RAM", () => {
  for (const seed of [1, 2, 3, 0xe1000e]) {
    const b = new Bench();
    const next = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length];
    // Random bytes in RAM: descriptors and buffers point anywhere.
    for (let i = 0; i < RAM_SIZE; i += 4) b.ram.view.setUint32(i, next(), true);
    const hot = [Reg.CTRL, Reg.ICS, Reg.IMS, Reg.IMC, Reg.ICR, Reg.IVAR, Reg.EIAC, Reg.CTRL_EXT, Reg.RCTL, Reg.TCTL,
      Reg.MDIC, Reg.EERD, Reg.RFCTL, Reg.EECD];
    // Ring registers get values that mostly make sense, so that the rings run over the random descriptors.
    const ring = [Reg.TDT, Reg.TDH, Reg.RDT, Reg.RDH];
    const setUp = (): void => {
      b.nic.config.write(PciReg.COMMAND, 2, 7);
      b.enableMsix();
      b.write(Reg.TDBAL, RAM_BASE);
      b.write(Reg.RDBAL, RAM_BASE + 0x8000);
      b.write(Reg.TDLEN, 256);
      b.write(Reg.RDLEN, 256);
      b.write(Reg.TCTL, Tctl.EN);
      b.write(Reg.RCTL, Rctl.EN | Rctl.UPE | Rctl.MPE | Rctl.LPE);
    };
    setUp();
    for (let i = 0; i < 5000; i++) {
      const r = next() % 12;
      const value = next();
      if (r < 3) b.write(pick(ring), (next() & 7) === 0 ? value : value % 16);
      else if (r < 5) b.write(pick(hot), value);
      else if (r === 5) b.write(pick([Reg.TDBAL, Reg.RDBAL, Reg.TDLEN, Reg.RDLEN]), pick([RAM_BASE, RAM_BASE + (value % RAM_SIZE), value, 128]));
      else if (r === 6) b.nic.mmio.write(next() % 0x20000, pick([1, 2, 4] as const), value);
      else if (r === 7) b.nic.mmio.read(next() % 0x20000, pick([1, 2, 4] as const));
      else if (r === 8) b.nic.config.write(0x40 + (next() % 0xfc0), pick([1, 2, 4] as const), value);
      else if (r === 9) b.nic.config.bar(pick([1, 2, 3]))?.ops.write(next() % 0x4000, 4, value);
      else {
        const len = next() % 1600;
        const f = new Uint8Array(len);
        for (let k = 0; k < len; k++) f[k] = next() & 0xff;
        if (len >= 6 && (next() & 1) === 1) f.set(MAC);
        b.nic.deliver(f);
      }
      if (i % 1000 === 999) {
        b.nic.reset();
        setUp();
      }
    }
    assert.ok(b.backend.frames.length > 0, `seed ${seed}: frames were transmitted`);
    assert.ok(b.ram.granted > 0 && b.ram.refused > 0, "the device did DMA inside and was refused outside RAM, all of it through the window");
  }
});

test("receive checksum offload: IPCS and TCPCS for good IPv4 TCP, TCPE for a bad one, IXSM for what it cannot check", () => {
  const b = new Bench();
  rxRing(b, true);
  b.write(Reg.RXCSUM, 0x300); // IPOFL | TUOFL
  const good = tcpFrame(MAC, 33);
  const ip = onesSum(good, 14, 34);
  good[24] = ~ip >> 8 & 0xff;
  good[25] = ~ip & 0xff;
  const tcp = onesSum(good, 34, good.length, onesSum(good, 26, 34, 6 + good.length - 34));
  good[50] = ~tcp >> 8 & 0xff;
  good[51] = ~tcp & 0xff;
  assert.ok(checksumsValid(good));
  const bad = good.slice();
  bad[60] ^= 0xff;
  const arp = tcpFrame(MAC, 30);
  arp[12] = 0x08;
  arp[13] = 0x06;
  for (const f of [good, bad, arp]) assert.equal(b.nic.deliver(f), true);
  const staterr = [0, 1, 2].map((i) => b.ram.view.getUint32(0x3000 + i * 16 + 8, true));
  assert.equal(staterr[0] & 0xff, 0x63, "DD, EOP, TCPCS, IPCS");
  assert.equal(staterr[0] >>> 24, 0, "no errors");
  assert.equal(staterr[1] >>> 24, 0x20, "TCPE");
  assert.equal(staterr[2] & 0xff, 0x07, "DD, EOP, IXSM");
  b.write(Reg.RXCSUM, 0);
  assert.equal(b.nic.deliver(good), true);
  assert.equal(b.ram.view.getUint32(0x3000 + 3 * 16 + 8, true) & 0xff, 0x07, "offload off: IXSM");
});

test("receive with packet split (Linux's jumbo-MTU mode): 32-byte descriptors, the frame over PSRCTL's buffers", () => {
  const b = new Bench();
  // Four descriptors of four buffers: a 128-byte header buffer and pages from RAM_BASE + 0x40000.
  for (let i = 0; i < 4; i++) {
    for (let k = 0; k < 4; k++) b.ram.view.setUint32(0x3000 + i * 32 + 8 * k, RAM_BASE + 0x40000 + i * 0x4000 + k * 0x1000, true);
  }
  b.write(Reg.RDBAL, (RAM_BASE + 0x3000) >>> 0);
  b.write(Reg.RDLEN, 128);
  b.write(Reg.RDH, 0);
  b.write(Reg.RDT, 3);
  b.write(Reg.PSRCTL, 1 | (4 << 8) | (4 << 16));
  b.write(Reg.RFCTL, Rfctl.EXTEN);
  b.write(Reg.RCTL, Rctl.EN | Rctl.SECRC | Rctl.LPE | Rctl.DTYP_PS);
  const frame = tcpFrame(MAC, 5000);
  assert.equal(b.nic.deliver(frame), true);
  assert.deepEqual(b.ram.u8.subarray(0x40000, 0x40000 + 128), frame.subarray(0, 128));
  assert.deepEqual(b.ram.u8.subarray(0x41000, 0x41000 + 4096), frame.subarray(128, 4224));
  assert.deepEqual(b.ram.u8.subarray(0x42000, 0x42000 + frame.length - 4224), frame.subarray(4224));
  const v = b.ram.view;
  assert.equal(v.getUint32(0x3000 + 8, true) & 3, 3, "DD and EOP in one descriptor");
  assert.deepEqual([12, 18, 20, 22].map((o) => v.getUint16(0x3000 + o, true)), [128, 4096, frame.length - 4224, 0]);
  assert.equal(b.read(Reg.RDH), 1);
  // An 8054-byte frame fits one descriptor's 128 + 4096 + 4096 bytes.
  assert.equal(b.nic.deliver(tcpFrame(MAC, 8000)), true);
  assert.equal(b.read(Reg.RDH), 2);
});
