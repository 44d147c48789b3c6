/**
 * The ns16550a UART of the virt board (qemu:hw/char/serial.c behind
 * serial-mm.c with regshift 0).  Transmission is instantaneous: a byte
 * written to THR goes straight to the backend, so THR is empty again at once.
 */
import type { MmioRegion } from "../core/memory.js";
import type { IrqLine } from "../core/irq.js";
import type { TimerHandle, TimerList } from "../core/clock.js";
import { interruptSpecifier, type FdtNode } from "../core/fdt.js";

/** Register offsets (regshift 0); DLAB in LCR turns offsets 0 and 1 into the divisor latch. */
export const UartReg = {
  RBR: 0, THR: 0, DLL: 0,
  IER: 1, DLM: 1,
  IIR: 2, FCR: 2,
  LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7,
} as const;

export const enum IER { RDI = 0x01, THRI = 0x02, RLSI = 0x04, MSI = 0x08 }
export const enum IIR { MSI = 0x00, NO_INT = 0x01, THRI = 0x02, RDI = 0x04, RLSI = 0x06, CTI = 0x0c, FIFO_ENABLED = 0xc0 }
export const enum FCR { FE = 0x01, RFR = 0x02, XFR = 0x04, DMS = 0x08, ITL = 0xc0 }
export const enum LCR { PARITY = 0x08, STOP2 = 0x04, WLEN = 0x03, DLAB = 0x80 }
export const enum MCR { DTR = 0x01, RTS = 0x02, OUT1 = 0x04, OUT2 = 0x08, LOOP = 0x10 }
export const enum LSR { DR = 0x01, OE = 0x02, PE = 0x04, FE = 0x08, BI = 0x10, THRE = 0x20, TEMT = 0x40, INT_ANY = 0x1e }
export const enum MSR { DCTS = 0x01, DDSR = 0x02, TERI = 0x04, DDCD = 0x08, ANY_DELTA = 0x0f, CTS = 0x10, DSR = 0x20, RI = 0x40, DCD = 0x80 }

const FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];

export interface SerialBackend {
  write(bytes: Uint8Array): void;
  /** The guest took input: offer held-back input again (QEMU's accept_input). */
  acceptInput?(): void;
}

export interface SerialOptions {
  base: number;
  irq: IrqLine;
  backend: SerialBackend;
  /** For the character timeout interrupt. */
  timers: TimerList;
  /** Input clock in Hz (the FDT's clock-frequency); the baud rate is clock / 16 / divisor. */
  clock?: number;
  /** Guest ticks per second of `timers`. */
  timebaseHz?: number;
}

export class Serial {
  readonly region: MmioRegion;
  readonly clock: number;
  private readonly irq: IrqLine;
  private readonly backend: SerialBackend;
  private readonly timers: TimerList;
  private readonly timebaseHz: number;
  private readonly timeoutTimer: TimerHandle;

  private rbr = 0;
  private ier = 0;
  private iirId: number = IIR.NO_INT;
  private fcr = 0;
  private lcr = 0;
  private mcr = 0;
  private lsr = 0;
  private msr = 0;
  private scr = 0;
  private divider = 0;
  private readonly rxFifo = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private rxTriggerLevel = 1;
  /** THR-empty interrupt latched; cleared by reading it from IIR or by writing THR. */
  private thrIpending = false;
  /** Character timeout: FIFO data left unread for four character times. */
  private timeoutIpending = false;
  private charTicks = 0;

  constructor(opts: SerialOptions) {
    this.irq = opts.irq;
    this.backend = opts.backend;
    this.timers = opts.timers;
    this.clock = opts.clock ?? 3686400;
    this.timebaseHz = opts.timebaseHz ?? 10_000_000;
    this.timeoutTimer = opts.timers.create(() => this.characterTimeout());
    this.region = {
      name: "serial",
      base: opts.base,
      size: 0x100,
      ops: {
        // One register per access whatever its size, as QEMU's serial-mm does.
        read: (offset) => this.read(offset),
        write: (offset, _size, value) => this.write(offset, value & 0xff),
      },
    };
    this.reset();
  }

  reset(): void {
    this.rbr = 0;
    this.ier = 0;
    this.iirId = IIR.NO_INT;
    this.fcr = 0; // QEMU keeps FCR across reset; a chip's master reset clears it
    this.lcr = 0;
    this.mcr = MCR.OUT2;
    this.lsr = LSR.TEMT | LSR.THRE;
    this.msr = MSR.DCD | MSR.DSR | MSR.CTS;
    this.scr = 0;
    this.divider = 0x0c;
    this.rxHead = 0;
    this.rxCount = 0;
    this.rxTriggerLevel = 1;
    this.thrIpending = false;
    this.timeoutIpending = false;
    this.timeoutTimer.cancel();
    this.updateParameters();
    this.irq.set(false);
  }

  /** How many bytes `receive` would take now. */
  canReceive(): number {
    if (this.mcr & MCR.LOOP) return 0; // the serial input is disconnected in loopback
    if (!(this.fcr & FCR.FE)) return this.lsr & LSR.DR ? 0 : 1;
    if (this.rxCount >= FIFO_SIZE) return 0;
    // Offer no more than the trigger level, as QEMU does: filling the FIFO
    // before the guest can react would defeat the level the guest chose.
    return this.rxCount <= this.rxTriggerLevel ? this.rxTriggerLevel - this.rxCount : 1;
  }

  /** Input from the host side; returns how many bytes were taken. */
  receive(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.canReceive());
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) this.receiveByte(bytes[i]);
    this.updateIrq();
    return n;
  }

  /** `/soc/serial@base`, with properties in the order of QEMU's blob (libfdt puts each new property first). */
  fdtNode(soc: FdtNode, intc: FdtNode, irq: number): FdtNode {
    return soc.child(`serial@${this.region.base.toString(16)}`)
      .u32("interrupts", ...interruptSpecifier(intc, irq))
      .u32("interrupt-parent", intc.phandle())
      .u32("clock-frequency", this.clock)
      .u64("reg", this.region.base, this.region.size)
      .str("compatible", "ns16550a");
  }

  private read(offset: number): number {
    switch (offset) {
      case UartReg.RBR:
        return this.lcr & LCR.DLAB ? this.divider & 0xff : this.readRbr();
      case UartReg.IER:
        return this.lcr & LCR.DLAB ? this.divider >>> 8 : this.ier;
      case UartReg.IIR: {
        const iir = this.iirId | (this.fcr & FCR.FE ? IIR.FIFO_ENABLED : 0);
        if (this.iirId === IIR.THRI) {
          this.thrIpending = false;
          this.updateIrq();
        }
        return iir;
      }
      case UartReg.LCR:
        return this.lcr;
      case UartReg.MCR:
        return this.mcr;
      case UartReg.LSR: {
        const lsr = this.lsr;
        if (lsr & (LSR.BI | LSR.OE)) {
          this.lsr &= ~(LSR.BI | LSR.OE);
          this.updateIrq();
        }
        return lsr;
      }
      case UartReg.MSR:
        return this.readMsr();
      case UartReg.SCR:
        return this.scr;
      default:
        return 0; // QEMU's region is 8 bytes; the rest of the 0x100 slot is empty
    }
  }

  private write(offset: number, value: number): void {
    switch (offset) {
      case UartReg.THR:
        if (this.lcr & LCR.DLAB) {
          this.divider = (this.divider & 0xff00) | value;
          this.updateParameters();
        } else {
          this.transmit(value);
        }
        break;
      case UartReg.IER:
        if (this.lcr & LCR.DLAB) {
          this.divider = (this.divider & 0x00ff) | (value << 8);
          this.updateParameters();
        } else {
          this.writeIer(value & 0x0f);
        }
        break;
      case UartReg.FCR:
        this.writeFcr(value);
        break;
      case UartReg.LCR:
        this.lcr = value;
        this.updateParameters();
        break;
      case UartReg.MCR: {
        const leftLoopback = this.mcr & MCR.LOOP && !(value & MCR.LOOP);
        this.mcr = value & 0x1f;
        if (leftLoopback) this.backend.acceptInput?.();
        break;
      }
      case UartReg.SCR:
        this.scr = value;
        break;
      default:
        break; // LSR and MSR are read-only
    }
  }

  private readRbr(): number {
    let value: number;
    if (this.fcr & FCR.FE) {
      value = 0;
      if (this.rxCount > 0) {
        value = this.rxFifo[this.rxHead];
        this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
        this.rxCount--;
      }
      if (this.rxCount === 0) this.lsr &= ~(LSR.DR | LSR.BI);
      else this.armTimeout();
      this.timeoutIpending = false;
    } else {
      value = this.rbr;
      this.lsr &= ~(LSR.DR | LSR.BI);
    }
    this.updateIrq();
    if (!(this.mcr & MCR.LOOP)) this.backend.acceptInput?.();
    return value;
  }

  private readMsr(): number {
    if (this.mcr & MCR.LOOP) {
      // Loopback wires the modem outputs to the inputs: OUT2->DCD, OUT1->RI, RTS->CTS, DTR->DSR.
      return ((this.mcr & (MCR.OUT1 | MCR.OUT2)) << 4) | ((this.mcr & MCR.RTS) << 3) | ((this.mcr & MCR.DTR) << 5);
    }
    const msr = this.msr;
    if (msr & MSR.ANY_DELTA) {
      this.msr &= 0xf0;
      this.updateIrq();
    }
    return msr;
  }

  private writeIer(value: number): void {
    const changed = this.ier ^ value;
    this.ier = value;
    // Enabling THRI (THR is always empty here) raises the interrupt even if an
    // IIR read had cleared it: Linux's THRE test at startup relies on that.
    if (changed & IER.THRI) this.thrIpending = (value & IER.THRI) !== 0;
    if (changed) this.updateIrq();
  }

  private writeFcr(value: number): void {
    // Turning the FIFOs on or off flushes them.
    if ((value ^ this.fcr) & FCR.FE) value |= FCR.RFR | FCR.XFR;
    if (value & FCR.RFR) {
      this.lsr &= ~(LSR.DR | LSR.BI);
      this.timeoutTimer.cancel();
      this.timeoutIpending = false;
      this.rxHead = 0;
      this.rxCount = 0;
    }
    if (value & FCR.XFR) this.thrIpending = true;
    this.fcr = value & (FCR.ITL | FCR.DMS | FCR.FE);
    this.rxTriggerLevel = TRIGGER_LEVELS[value >>> 6];
    this.updateIrq();
  }

  /** The byte leaves at once, so THR is empty again and its interrupt comes straight back. */
  private transmit(value: number): void {
    if (this.mcr & MCR.LOOP) this.receiveByte(value);
    else this.backend.write(Uint8Array.of(value));
    this.thrIpending = true;
    this.updateIrq();
  }

  private receiveByte(byte: number): void {
    if (this.fcr & FCR.FE) {
      // An overrun keeps the FIFO's contents and drops the new byte.
      if (this.rxCount < FIFO_SIZE) {
        this.rxFifo[(this.rxHead + this.rxCount) % FIFO_SIZE] = byte;
        this.rxCount++;
      } else {
        this.lsr |= LSR.OE;
      }
      this.armTimeout();
    } else {
      if (this.lsr & LSR.DR) this.lsr |= LSR.OE;
      this.rbr = byte;
    }
    this.lsr |= LSR.DR;
  }

  private armTimeout(): void {
    this.timeoutTimer.arm(this.timers.clock.ticks() + 4 * this.charTicks);
  }

  private characterTimeout(): void {
    if (this.rxCount > 0) {
      this.timeoutIpending = true;
      this.updateIrq();
    }
  }

  /** One character time (start, data, parity and stop bits) in guest ticks. */
  private updateParameters(): void {
    const bits = 1 + (this.lcr & LCR.WLEN) + 5 + (this.lcr & LCR.PARITY ? 1 : 0) + (this.lcr & LCR.STOP2 ? 2 : 1);
    // A zero divisor gives about 3500 baud on real chips (QEMU uses the same figure).
    const baud = this.divider === 0 ? 3500 : this.clock / 16 / this.divider;
    this.charTicks = Math.ceil((bits * this.timebaseHz) / baud);
  }

  /** IIR reports the highest-priority pending source; the line is high while there is one. */
  private updateIrq(): void {
    const ier = this.ier;
    let id: number = IIR.NO_INT;
    if (ier & IER.RLSI && this.lsr & LSR.INT_ANY) {
      id = IIR.RLSI;
    } else if (ier & IER.RDI && this.timeoutIpending) {
      id = IIR.CTI;
    } else if (ier & IER.RDI && this.lsr & LSR.DR && (!(this.fcr & FCR.FE) || this.rxCount >= this.rxTriggerLevel)) {
      id = IIR.RDI;
    } else if (ier & IER.THRI && this.thrIpending) {
      id = IIR.THRI;
    } else if (ier & IER.MSI && this.msr & MSR.ANY_DELTA) {
      id = IIR.MSI;
    }
    this.iirId = id;
    this.irq.set(id !== IIR.NO_INT);
  }
}
