/**
 * QEMU's `e1000e`: the Intel 82574L Gigabit Ethernet controller on PCI
 * Express, enough of it, as QEMU 7.2 models it, for Linux's e1000e driver:
 * NVM through EERD, the PHY through MDIC, link up at 1000 Mb/s full duplex,
 * interrupts through MSI-X (IVAR maps the receive, transmit and "other"
 * causes to vectors), MSI or INTx, and frames through legacy and extended
 * descriptor rings to and from a NetBackend.
 *
 * Interrupt causes (datasheet 10.2.4): ICR collects causes, IMS enables
 * them.  With MSI-X, a newly pending enabled cause signals its vector once
 * (RXQ0, TXQ0 by their IVAR entries, every other cause by the "other"
 * entry); EIAC names the causes cleared from ICR when their vector fires.
 * Reading ICR clears it when IMS is 0, when MSI-X is off, or when an
 * interrupt is asserted and CTRL_EXT.IAME is set (which also clears the IAM
 * bits from IMS), as QEMU 7.2.  Without MSI-X, MSI sends one message per
 * newly pending cause set, and INTx follows (ICR & IMS) != 0.
 *
 * Differences from QEMU's model: no interrupt throttling or delay timers
 * (ITR, EITR, RDTR, RADV, TIDV, TADV are stored but interrupts are
 * immediate), no RSS, no header split, no time stamping; see
 * docs/e1000e.md.
 */
import type { AccessSize, DmaMemory, MmioOps } from "../core/memory.js";
import { PciCommand, PciReg, type PciConfigSpace } from "../pci/config-space.js";
import type { Msix } from "../pci/msix.js";
import { MsixRouting } from "../pci/msix-routing.js";
import { MsiRouteTable } from "../pci/msi-route.js";
import { msiAddress, type MsiSend } from "../pci/msi.js";
import type { NetBackend, NetFrontend } from "../../net/net-client.js";
import { BusMasterDma } from "./e1000e-dma.js";
import { E1000ePhy, PHY_ADDRESS } from "./e1000e-phy.js";
import { buildNvm, NVM_WORDS } from "./e1000e-nvm.js";
import { CAP_MSI, CAP_MSIX, E1000E_DEVICE_ID, e1000eConfig, MsiCap, type PcieDeviceType } from "./e1000e-pci.js";
import {
  Ctrl, CtrlExt, E1000E_MMIO_SIZE, E1000E_MSIX_VECTORS, Eecd, Eerd, Icr, ICR_CAUSES, Ivar, Mdic, OTHER_CAUSES,
  RAH_AV, Rctl, Reg, registerFile, Status, Tctl,
} from "./e1000e-regs.js";
import { E1000eRx, RxResult } from "./e1000e-rx.js";
import { E1000eTx } from "./e1000e-tx.js";

export const E1000E_DEFAULT_SUBSYSTEM_VENDOR = 0x8086;

export interface E1000eOptions {
  dma: DmaMemory;
  /** Memory writes of messages (the slow path). */
  send: MsiSend;
  /** The board's MSI route table (a private one that routes through memory when absent). */
  routes?: MsiRouteTable;
  mac: Uint8Array;
  /** Where frames go; none: transmitted frames are dropped and nothing is received. */
  backend?: NetBackend;
  subsystemVendorId?: number;
  subsystemId?: number;
  deviceType?: PcieDeviceType;
  log?: (message: string) => void;
}

/** IOADDR and IODATA in BAR 2 (datasheet 10.2.1.1). */
const IOADDR = 0;
const IODATA = 4;

export class E1000e implements NetFrontend {
  readonly config: PciConfigSpace;
  readonly msix: Msix;
  /** The registers of BAR 0, one per dword. */
  readonly regs = new Uint32Array(E1000E_MMIO_SIZE / 4);
  readonly phy = new E1000ePhy();
  readonly nvm: Uint16Array;
  readonly mmio: MmioOps;
  readonly io: MmioOps;
  private readonly file = registerFile();
  private readonly routing: MsixRouting;
  private readonly dma: BusMasterDma;
  private readonly tx: E1000eTx;
  private readonly rx: E1000eRx;
  private readonly backend: NetBackend | undefined;
  private readonly macAddr: Uint8Array;
  private readonly send: MsiSend;
  /** Causes already signalled by a message and not yet cleared (QEMU's msi_causes_pending). */
  private msiPending = 0;
  private ioaddr = 0;
  /** Re-entry guard: delivering an interrupt never re-enters register handling, but a backend might. */
  private transmitting = false;

  constructor(opts: E1000eOptions) {
    this.macAddr = opts.mac.slice(0, 6);
    this.backend = opts.backend;
    this.send = opts.send;
    this.mmio = {
      read: (offset, size) => this.readSized(offset, size),
      write: (offset, size, value) => this.writeSized(offset, size, value),
    };
    this.io = {
      read: (offset) => this.ioRead(offset),
      write: (offset, _size, value) => this.ioWrite(offset, value),
    };
    const { config, msix } = e1000eConfig({
      subsystemVendorId: opts.subsystemVendorId ?? E1000E_DEFAULT_SUBSYSTEM_VENDOR, subsystemId: opts.subsystemId ?? 0,
      mac: this.macAddr, deviceType: opts.deviceType ?? "rc-integrated", mmio: this.mmio, io: this.io, send: opts.send,
    });
    this.config = config;
    this.msix = msix;
    this.nvm = buildNvm({
      mac: this.macAddr, deviceId: E1000E_DEVICE_ID, subsystemId: opts.subsystemId ?? 0,
      subsystemVendorId: opts.subsystemVendorId ?? E1000E_DEFAULT_SUBSYSTEM_VENDOR,
    });
    const routes = opts.routes ?? new MsiRouteTable(() => undefined, opts.send);
    this.routing = new MsixRouting(msix, routes, config, CAP_MSIX);
    this.dma = new BusMasterDma(opts.dma, () => (this.config.command & PciCommand.MASTER) !== 0);
    this.tx = new E1000eTx({ regs: this.regs, dma: this.dma, send: (f) => this.backend?.send(f) });
    this.rx = new E1000eRx({ regs: this.regs, dma: this.dma });
    config.listen((offset, size) => this.configWritten(offset, size));
    config.snapshot();
    this.backend?.attach(this);
    this.resetRegisters();
  }

  /** PCI reset (power-on, system_reset, a bus reset): configuration space, MSI-X and the whole device. */
  reset(): void {
    this.config.reset();
    this.msix.reset();
    this.resetRegisters();
    this.routing.resync();
  }

  /** The backend's frame for the guest; false when the ring has no room now. */
  deliver(frame: Uint8Array): boolean {
    if (!this.canReceive()) return false;
    const result = this.rx.receive(frame, (causes) => this.raise(causes | (this.msix.enabled ? Icr.RXQ0 : 0)));
    this.countReceived();
    return result !== RxResult.NO_BUFFERS;
  }

  /** Link state as the backend reports it: LSC to the driver on a change. */
  setLink(up: boolean): void {
    if (up === this.phy.link) return;
    this.phy.setLink(up);
    const s = this.reg(Reg.STATUS);
    this.setReg(Reg.STATUS, up ? s | Status.LU : s & ~Status.LU);
    this.raise(Icr.LSC);
    if (up) this.backend?.resume();
  }

  /** QEMU's e1000x_rx_ready: link up, receiver enabled, bus mastering allowed. */
  private canReceive(): boolean {
    return this.phy.link && (this.reg(Reg.RCTL) & Rctl.EN) !== 0 && (this.config.command & PciCommand.MASTER) !== 0;
  }

  /** CTRL.RST and PCI reset: registers, PHY, interrupts and rings to their reset state (MSI-X is PCI's, untouched here). */
  private resetRegisters(): void {
    this.regs.set(this.file.reset);
    this.phy.reset();
    const m = this.macAddr;
    this.setReg(Reg.RAL, (m[0] | (m[1] << 8) | (m[2] << 16) | (m[3] << 24)) >>> 0);
    this.setReg(Reg.RAH, (m[4] | (m[5] << 8) | RAH_AV) >>> 0);
    if (!this.phy.link) this.setReg(Reg.STATUS, this.reg(Reg.STATUS) & ~Status.LU);
    this.msiPending = 0;
    this.tx.reset();
    this.update();
  }

  private reg(offset: number): number {
    return this.regs[offset >> 2];
  }

  private setReg(offset: number, value: number): void {
    this.regs[offset >> 2] = value >>> 0;
  }

  // --- register access -----------------------------------------------------------------------------------

  /** The registers are 32-bit: a narrower access reads or writes within its dword (other bytes written as 0, as QEMU). */
  private readSized(offset: number, size: AccessSize): number {
    const shift = (offset & 3) * 8;
    const v = this.readReg(offset & ~3);
    return size === 4 ? v : (v >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  private writeSized(offset: number, size: AccessSize, value: number): void {
    const shift = (offset & 3) * 8;
    const v = size === 4 ? value >>> 0 : ((value & (size === 1 ? 0xff : 0xffff)) << shift) >>> 0;
    this.writeReg(offset & ~3, v);
  }

  /** A 32-bit register read at a dword offset in BAR 0. */
  readReg(offset: number): number {
    if (offset < 0 || offset >= E1000E_MMIO_SIZE) return 0;
    const i = offset >> 2;
    const spec = this.file.specs[i];
    if (spec === undefined) return 0;
    switch (spec.kind) {
      case "rw":
      case "ro":
        return this.regs[i];
      case "rc": {
        const v = this.regs[i];
        this.regs[i] = 0;
        return v;
      }
      case "special":
        return this.readSpecial(offset);
    }
  }

  /** A 32-bit register write at a dword offset in BAR 0. */
  writeReg(offset: number, value: number): void {
    if (offset < 0 || offset >= E1000E_MMIO_SIZE) return;
    const i = offset >> 2;
    const spec = this.file.specs[i];
    if (spec === undefined || spec.kind === "ro" || spec.kind === "rc") return;
    const v = value >>> 0;
    if (spec.kind === "rw") {
      const w = this.file.wmask[i];
      this.regs[i] = ((this.regs[i] & ~w) | (v & w)) >>> 0;
      return;
    }
    this.writeSpecial(offset, v);
  }

  private readSpecial(offset: number): number {
    switch (offset) {
      case Reg.ICR: return this.readIcr();
      // ICS reads what ICR holds (it is ICR's write-only alias for setting causes); IMC is write-only.
      case Reg.ICS: return this.reg(Reg.ICR);
      case Reg.IMC: return 0;
      default: return this.reg(offset);
    }
  }

  private writeSpecial(offset: number, v: number): void {
    switch (offset) {
      case Reg.CTRL: this.writeCtrl(v); return;
      case Reg.EECD: {
        // Presence and auto-read are the hardware's; a request for the NVM is granted at once.
        const keep = this.reg(Reg.EECD) & (Eecd.PRES | Eecd.AUTO_RD);
        const low = v & 0x5f;
        this.setReg(Reg.EECD, keep | low | ((low & Eecd.REQ) !== 0 ? Eecd.GNT : 0));
        return;
      }
      case Reg.EERD: this.writeEerd(v); return;
      case Reg.MDIC: this.writeMdic(v); return;
      case Reg.ICR: {
        // Write 1 to clear; with IAME an acknowledged asserted interrupt also auto-masks.
        if ((this.reg(Reg.ICR) & Icr.INT_ASSERTED) !== 0 && (this.reg(Reg.CTRL_EXT) & CtrlExt.IAME) !== 0) {
          this.setReg(Reg.IMS, this.reg(Reg.IMS) & ~this.reg(Reg.IAM));
        }
        this.setReg(Reg.ICR, this.reg(Reg.ICR) & ~v);
        this.update();
        return;
      }
      case Reg.ICS: this.raise(v & ICR_CAUSES); return;
      case Reg.IMS:
        this.setReg(Reg.IMS, this.reg(Reg.IMS) | (v & ICR_CAUSES));
        this.update();
        return;
      case Reg.IMC:
        this.setReg(Reg.IMS, this.reg(Reg.IMS) & ~v);
        this.update();
        return;
      case Reg.RCTL: {
        const was = this.reg(Reg.RCTL);
        this.setReg(Reg.RCTL, v & this.file.wmask[Reg.RCTL >> 2]);
        if ((was & Rctl.EN) === 0 && (v & Rctl.EN) !== 0) this.backend?.resume();
        return;
      }
      case Reg.RDT:
        this.setReg(Reg.RDT, v & 0xffff);
        this.backend?.resume();
        return;
      case Reg.TCTL:
        this.setReg(Reg.TCTL, v);
        this.transmit();
        return;
      case Reg.TDT:
        this.setReg(Reg.TDT, v & 0xffff);
        this.transmit();
        return;
    }
  }

  private writeCtrl(v: number): void {
    if ((v & Ctrl.RST) !== 0) {
      // Software reset: everything but PCI configuration and MSI-X; the bit self-clears.
      this.resetRegisters();
      return;
    }
    this.setReg(Reg.CTRL, v & ~Ctrl.PHY_RST);
    if ((v & Ctrl.PHY_RST) !== 0) this.phy.reset();
    // Master disable: the device stops requesting, which STATUS reports at once (no transfers linger here).
    const s = this.reg(Reg.STATUS);
    this.setReg(Reg.STATUS, (v & Ctrl.GIO_MASTER_DISABLE) !== 0 ? s & ~Status.GIO_MASTER_ENABLE : s | Status.GIO_MASTER_ENABLE);
  }

  private writeEerd(v: number): void {
    if ((v & Eerd.START) === 0) {
      this.setReg(Reg.EERD, v & ~Eerd.DONE);
      return;
    }
    const addr = (v >>> Eerd.ADDR_SHIFT) & Eerd.ADDR_MASK;
    const data = addr < NVM_WORDS ? this.nvm[addr] : 0;
    this.setReg(Reg.EERD, (data << Eerd.DATA_SHIFT) | (addr << Eerd.ADDR_SHIFT) | Eerd.DONE);
  }

  private writeMdic(v: number): void {
    const phyAddr = (v >>> Mdic.PHY_SHIFT) & Mdic.PHY_MASK;
    const reg = (v >>> Mdic.REG_SHIFT) & Mdic.REG_MASK;
    const op = (v >>> Mdic.OP_SHIFT) & 3;
    let result = v & ~(Mdic.READY | Mdic.ERROR);
    if (phyAddr !== PHY_ADDRESS || (op !== Mdic.OP_READ && op !== Mdic.OP_WRITE)) {
      result |= Mdic.ERROR;
    } else if (op === Mdic.OP_READ) {
      result = (result & ~Mdic.DATA_MASK) | this.phy.read(reg);
    } else {
      this.phy.write(reg, v & Mdic.DATA_MASK);
    }
    this.setReg(Reg.MDIC, result | Mdic.READY);
    if ((v & Mdic.INT_EN) !== 0) this.raise(Icr.MDAC);
  }

  private ioRead(offset: number): number {
    if (offset === IOADDR) return this.ioaddr;
    if (offset === IODATA && this.ioaddr < E1000E_MMIO_SIZE) return this.readReg(this.ioaddr & ~3);
    return 0;
  }

  private ioWrite(offset: number, value: number): void {
    if (offset === IOADDR) this.ioaddr = value >>> 0;
    else if (offset === IODATA && this.ioaddr < E1000E_MMIO_SIZE) this.writeReg(this.ioaddr & ~3, value);
  }

  // --- interrupts ---------------------------------------------------------------------------------------

  /** Set causes in ICR (ICS, the device's own events) and signal what became pending. */
  private raise(causes: number): void {
    let c = causes >>> 0;
    if (this.msix.enabled && (c & OTHER_CAUSES) !== 0) c |= Icr.OTHER;
    this.setReg(Reg.ICR, this.reg(Reg.ICR) | c);
    this.update();
  }

  private readIcr(): number {
    const value = this.reg(Reg.ICR);
    if (this.reg(Reg.IMS) === 0 || !this.msix.enabled) {
      this.setReg(Reg.ICR, 0);
    } else if ((value & Icr.INT_ASSERTED) !== 0 && (this.reg(Reg.CTRL_EXT) & CtrlExt.IAME) !== 0) {
      this.setReg(Reg.ICR, 0);
      this.setReg(Reg.IMS, this.reg(Reg.IMS) & ~this.reg(Reg.IAM));
    }
    this.update();
    return value;
  }

  /** INT_ASSERTED follows ICR; then MSI-X, MSI or INTx, whichever the driver enabled. */
  private update(): void {
    let icr = this.reg(Reg.ICR) & ~Icr.INT_ASSERTED;
    if (icr !== 0) icr |= Icr.INT_ASSERTED;
    this.setReg(Reg.ICR, icr);
    const causes = (icr & this.reg(Reg.IMS) & ~Icr.INT_ASSERTED) >>> 0;
    if (causes === 0) this.msiPending = 0;
    if (this.msix.enabled) {
      this.config.setIntx(false);
      this.signalNew(causes, true);
    } else if (this.msiEnabled()) {
      this.config.setIntx(false);
      this.signalNew(causes, false);
    } else {
      this.config.setIntx(causes !== 0);
    }
  }

  /** A message for the causes that became pending since the last one (an edge, not a level). */
  private signalNew(causes: number, msix: boolean): void {
    this.msiPending = (this.msiPending & causes) >>> 0;
    const fresh = (causes & ~this.msiPending) >>> 0;
    if (fresh === 0) return;
    this.msiPending = (this.msiPending | fresh) >>> 0;
    if (!msix) {
      this.sendMsi();
      return;
    }
    const ivar = this.reg(Reg.IVAR);
    if ((fresh & Icr.RXQ0) !== 0) this.notifyVector(Icr.RXQ0, ivar >>> Ivar.RXQ0_SHIFT);
    if ((fresh & Icr.RXQ1) !== 0) this.notifyVector(Icr.RXQ1, ivar >>> Ivar.RXQ1_SHIFT);
    if ((fresh & Icr.TXQ0) !== 0) this.notifyVector(Icr.TXQ0, ivar >>> Ivar.TXQ0_SHIFT);
    if ((fresh & Icr.TXQ1) !== 0) this.notifyVector(Icr.TXQ1, ivar >>> Ivar.TXQ1_SHIFT);
    const other = fresh & ~(Icr.RXQ0 | Icr.RXQ1 | Icr.TXQ0 | Icr.TXQ1);
    if (other !== 0) this.notifyVector(Icr.OTHER, ivar >>> Ivar.OTHER_SHIFT);
  }

  /** Signal the vector an IVAR entry names; EIAC's bits of the cause then clear from ICR (auto-clear). */
  private notifyVector(cause: number, entry: number): void {
    if ((entry & Ivar.VALID) !== 0) {
      const vector = entry & Ivar.VECTOR;
      if (vector < E1000E_MSIX_VECTORS) this.routing.signal(vector);
    }
    const autoClear = (this.reg(Reg.EIAC) & cause) >>> 0;
    if (autoClear === 0) return;
    this.setReg(Reg.ICR, this.reg(Reg.ICR) & ~autoClear);
    this.msiPending = (this.msiPending & ~autoClear) >>> 0;
    if ((this.reg(Reg.CTRL_EXT) & CtrlExt.EIAME) !== 0) this.setReg(Reg.IMS, this.reg(Reg.IMS) & ~(this.reg(Reg.IAM) & autoClear));
  }

  private msiEnabled(): boolean {
    return (this.config.get16(CAP_MSI + MsiCap.CONTROL) & MsiCap.ENABLE) !== 0;
  }

  private sendMsi(): void {
    if ((this.config.command & PciCommand.MASTER) === 0) return;
    const c = this.config;
    this.send({
      address: msiAddress(c.get32(CAP_MSI + MsiCap.ADDRESS_LO), c.get32(CAP_MSI + MsiCap.ADDRESS_HI)),
      data: c.get16(CAP_MSI + MsiCap.DATA),
    });
  }

  /** Interrupt mode or bus mastering changed: re-evaluate; bus mastering on lets held frames in. */
  private configWritten(offset: number, size: number): void {
    if (offset <= PciReg.COMMAND && offset + size > PciReg.COMMAND) {
      this.update();
      if ((this.config.command & PciCommand.MASTER) !== 0) this.backend?.resume();
      return;
    }
    if (offset < 0x100 && offset + size > 0xa0) this.update();
  }

  // --- data path ----------------------------------------------------------------------------------------

  private transmit(): void {
    if ((this.reg(Reg.TCTL) & Tctl.EN) === 0 || this.transmitting) return;
    this.transmitting = true;
    try {
      const causes = this.tx.run();
      this.countSent();
      if (causes !== 0) this.raise(causes | ((causes & Icr.TXDW) !== 0 && this.msix.enabled ? Icr.TXQ0 : 0));
    } finally {
      this.transmitting = false;
    }
  }

  /** Good packets/octets transmitted and total packets (GPTC, GOTCL, TPT), as the driver's statistics read them. */
  private countSent(): void {
    const n = this.tx.sentFrames;
    if (n === 0) return;
    this.bump(0x4080, n);
    this.bump(0x40d4, n);
    this.bump(0x4090, this.tx.sentBytes);
    this.tx.sentFrames = 0;
    this.tx.sentBytes = 0;
  }

  /** Good packets/octets received and total packets (GPRC, GORCL, TPR); missed packets (MPC). */
  private countReceived(): void {
    if (this.rx.receivedFrames > 0) {
      this.bump(0x4074, this.rx.receivedFrames);
      this.bump(0x40d0, this.rx.receivedFrames);
      this.bump(0x4088, this.rx.receivedBytes);
      this.rx.receivedFrames = 0;
      this.rx.receivedBytes = 0;
    }
    if (this.rx.missed > 0) {
      this.bump(0x4010, this.rx.missed);
      this.rx.missed = 0;
    }
  }

  /** Statistics saturate rather than wrap (datasheet 10.2.7). */
  private bump(offset: number, n: number): void {
    this.setReg(offset, Math.min(0xffffffff, this.reg(offset) + n));
  }
}
