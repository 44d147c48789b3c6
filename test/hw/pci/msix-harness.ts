/**
 * A PCI Express function with MSI-X in BAR 1, driven as Linux's MSI-X code
 * drives one (pci_msix_* and the irqchip's mask/unmask/write_msg), and an
 * interrupt controller stand-in that records which message reached it and
 * by which path.
 */
import { PciCommand, PciConfigSpace, PciReg } from "../../../src/hw/pci/config-space.js";
import { Msix, MsixCap, MsixControl, MsixEntry, MSIX_ENTRY_SIZE } from "../../../src/hw/pci/msix.js";
import type { MsiMessage, MsiSend } from "../../../src/hw/pci/msi.js";

export const MSIX_BAR = 1;
export const CAP = 0x98;
/** Where the stand-in controller's interrupt files are: one 4 KiB page per hart, as the S-level IMSIC. */
export const IMSIC_BASE = 0x28000000;

export interface Arrival {
  msg: MsiMessage;
  path: "memory" | "direct";
}

export class MsixFunction {
  readonly config = new PciConfigSpace({ vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000, express: true });
  readonly msix: Msix;
  /** Messages as they left by the memory core (bus-master writes). */
  readonly sent: MsiMessage[] = [];

  /** `onSend` also sees each message the memory core writes (a controller behind the bus). */
  constructor(vectors: number, onSend?: MsiSend) {
    this.msix = Msix.exclusiveBar(this.config, MSIX_BAR, vectors, CAP, (msg) => {
      this.sent.push(msg);
      onSend?.(msg);
    });
    this.config.snapshot();
    this.config.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.MASTER);
  }

  get control(): number {
    return this.config.read(CAP + MsixCap.CONTROL, 2);
  }

  writeControl(bits: number): void {
    this.config.write(CAP + MsixCap.CONTROL, 2, bits);
  }

  /** The table as the driver writes it (32-bit accesses, as Linux). */
  writeEntry(vector: number, msg: MsiMessage, masked: boolean): void {
    const o = vector * MSIX_ENTRY_SIZE;
    const ops = this.msix.tableOps;
    ops.write(o + MsixEntry.ADDRESS_LOW, 4, msg.address >>> 0);
    ops.write(o + MsixEntry.ADDRESS_HIGH, 4, Math.floor(msg.address / 2 ** 32));
    ops.write(o + MsixEntry.DATA, 4, msg.data);
    ops.write(o + MsixEntry.VECTOR_CONTROL, 4, masked ? 1 : 0);
  }

  mask(vector: number, masked: boolean): void {
    this.msix.tableOps.write(vector * MSIX_ENTRY_SIZE + MsixEntry.VECTOR_CONTROL, 4, masked ? 1 : 0);
  }

  readEntry(vector: number, field: MsixEntry): number {
    return this.msix.tableOps.read(vector * MSIX_ENTRY_SIZE + field, 4);
  }

  pbaBit(vector: number): boolean {
    const word = this.msix.pbaOps.read(4 * (vector >> 5), 4);
    return ((word >>> (vector & 31)) & 1) === 1;
  }

  /** Linux's msix_capability_init: enable with the function masked, program, then unmask the function. */
  enableMasked(): void {
    this.writeControl(MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
    this.writeControl(MsixControl.ENABLE);
  }
}

/** The message the stand-in controller takes for identity `id` on `hart`. */
export function imsicMessage(hart: number, id: number): MsiMessage {
  return { address: IMSIC_BASE + 0x1000 * hart, data: id };
}

/** Interrupt files as an IMSIC holds them: which (hart, id) arrived, and how. */
export class FakeImsic {
  readonly arrivals: Arrival[] = [];

  /** The memory core's write of a message: only the IMSIC pages take it. */
  memoryWrite(msg: MsiMessage): void {
    if (this.claims(msg)) this.arrivals.push({ msg, path: "memory" });
  }

  /** The route table's resolver. */
  resolve(msg: MsiMessage): (() => void) | undefined {
    if (!this.claims(msg)) return undefined;
    return () => this.arrivals.push({ msg, path: "direct" });
  }

  take(): Arrival[] {
    return this.arrivals.splice(0);
  }

  private claims(msg: MsiMessage): boolean {
    return msg.address >= IMSIC_BASE && msg.address < IMSIC_BASE + 0x8000 && (msg.address & 0xfff) === 0
      && msg.data >= 1 && msg.data <= 255;
  }
}
