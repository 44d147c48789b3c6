/**
 * MSI-X (PCI Local Bus 3.0 section 6.8.2), with the rules of QEMU's
 * hw/pci/msix.c that drivers and interrupt routing depend on:
 *
 * - The capability: Message Control at +2 (table size - 1 in bits 10:0,
 *   read-only; Function Mask bit 14 and Enable bit 15, writable), the table's
 *   offset | BIR at +4 and the PBA's at +8.
 * - The table: 16 bytes per vector (message address low and high, data,
 *   vector control with the mask in bit 0), in a BAR.  The PBA (one
 *   read-only pending bit per vector) in a BAR too.
 * - A vector is masked when its own mask bit is set, or the function mask is
 *   set, or MSI-X is disabled.  A message for a masked vector sets its
 *   pending bit; when the vector becomes unmasked with its pending bit set,
 *   the bit is cleared and the message is sent.
 * - Power-on, device reset and function level reset: every vector masked,
 *   table and PBA cleared, Enable and Function Mask clear.
 * - Every masked -> unmasked transition of a vector, whatever caused it
 *   (vector control, function mask, enable), calls the `use` notifier with the
 *   vector's message, and every unmasked -> masked one calls `release`.  A
 *   notifier installed while vectors are already unmasked is called for each
 *   of them at once (only while MSI-X is enabled and not function-masked).
 *   Unlike QEMU, disabling MSI-X releases the vectors too, and a driver that
 *   rewrites the message of an unmasked vector (the spec leaves that
 *   undefined) gets release then use with the new message, so that whoever
 *   routes vectors always holds the message the table holds.
 * - Messages leave only while the function may master the bus (Command bit
 *   2), as QEMU's bus-master address space drops them otherwise.
 */
import type { AccessSize, MmioOps } from "../core/memory.js";
import { BarKind, PciCommand, type PciConfigSpace } from "./config-space.js";
import { msiAddress, type MsiMessage, type MsiSend } from "./msi.js";

export const PCI_CAP_ID_MSIX = 0x11;
/** The capability's length in configuration space. */
export const MSIX_CAP_SIZE = 12;
export const MSIX_ENTRY_SIZE = 16;
/** The most vectors a function can have (an 11-bit table size). */
export const MSIX_MAX_VECTORS = 2048;

/** Offsets in the capability. */
export const enum MsixCap {
  CONTROL = 2,
  TABLE = 4,
  PBA = 8,
}

/** Message Control bits. */
export const enum MsixControl {
  TABLE_SIZE = 0x07ff,
  FUNCTION_MASK = 0x4000,
  ENABLE = 0x8000,
}

/** Offsets in a table entry. */
export const enum MsixEntry {
  ADDRESS_LOW = 0,
  ADDRESS_HIGH = 4,
  DATA = 8,
  VECTOR_CONTROL = 12,
}

export const MSIX_VECTOR_MASKED = 1;

/** Told of every mask transition of every vector (QEMU's MSIVectorUseNotifier / ReleaseNotifier). */
export interface MsixVectorNotifier {
  /** The vector became unmasked; `msg` is what the table holds for it now. */
  use(vector: number, msg: MsiMessage): void;
  /** The vector became masked (by its own bit, the function mask, disabling, or reset). */
  release(vector: number): void;
}

export interface MsixOptions {
  config: PciConfigSpace;
  vectors: number;
  /** Where the capability goes in configuration space (12 bytes). */
  capOffset: number;
  /** BAR index and offset of the table and of the PBA. */
  tableBar: number;
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
  /** The slow path: a memory write by the function as bus master. */
  send: MsiSend;
}

export class Msix {
  readonly vectors: number;
  /** The table, as the guest wrote it. */
  readonly table: Uint8Array;
  /** Pending bits, one per vector, whole 64-bit words as the PBA is laid out. */
  readonly pba: Uint8Array;
  /** MMIO for the table, at offsets from its start. */
  readonly tableOps: MmioOps;
  /** MMIO for the PBA, at offsets from its start. */
  readonly pbaOps: MmioOps;
  private readonly config: PciConfigSpace;
  private readonly cap: number;
  private readonly send: MsiSend;
  private readonly view: DataView;
  /** The last effective mask state of each vector: transitions are measured against it. */
  private readonly maskedNow: Uint8Array;
  private notifier: MsixVectorNotifier | undefined;

  constructor(opts: MsixOptions) {
    const n = opts.vectors;
    if (!Number.isInteger(n) || n < 1 || n > MSIX_MAX_VECTORS) throw new Error(`MSI-X: ${n} vectors (1 to ${MSIX_MAX_VECTORS})`);
    this.vectors = n;
    this.config = opts.config;
    this.send = opts.send;
    this.table = new Uint8Array(n * MSIX_ENTRY_SIZE);
    this.pba = new Uint8Array(Math.ceil(n / 64) * 8);
    this.view = new DataView(this.table.buffer);
    this.maskedNow = new Uint8Array(n).fill(1);
    const cfg = opts.config;
    this.cap = cfg.addCapability(PCI_CAP_ID_MSIX, opts.capOffset, MSIX_CAP_SIZE);
    cfg.set16(this.cap + MsixCap.CONTROL, n - 1);
    cfg.set32(this.cap + MsixCap.TABLE, (opts.tableOffset | opts.tableBar) >>> 0);
    cfg.set32(this.cap + MsixCap.PBA, (opts.pbaOffset | opts.pbaBar) >>> 0);
    cfg.wmask[this.cap + MsixCap.CONTROL + 1] = (MsixControl.FUNCTION_MASK | MsixControl.ENABLE) >>> 8;
    cfg.listen((offset, size) => {
      const control = this.cap + MsixCap.CONTROL + 1;
      if (offset <= control && offset + size > control) this.syncAll();
    });
    this.tableOps = {
      read: (offset, size) => readLe(this.table, offset, size),
      write: (offset, size, value) => this.writeTable(offset, size, value),
    };
    this.pbaOps = {
      read: (offset, size) => readLe(this.pba, offset, size),
      write: () => undefined, // read-only
    };
    this.clearTable();
  }

  /**
   * MSI-X in a BAR of its own, laid out as QEMU's msix_init_exclusive_bar:
   * the table at 0, the PBA at half of a 4 KiB BAR (or right after a larger
   * table), the BAR's size a power of two.
   */
  static exclusiveBar(config: PciConfigSpace, bar: number, vectors: number, capOffset: number, send: MsiSend): Msix {
    const tableSize = vectors * MSIX_ENTRY_SIZE;
    const pbaSize = Math.ceil(vectors / 64) * 8;
    const pbaOffset = Math.max(0x800, tableSize);
    const size = 2 ** Math.ceil(Math.log2(Math.max(0x1000, pbaOffset + pbaSize)));
    const msix = new Msix({ config, vectors, capOffset, tableBar: bar, tableOffset: 0, pbaBar: bar, pbaOffset, send });
    config.registerBar(bar, {
      kind: BarKind.MEM32, size,
      ops: {
        read: (offset, sz) => offset >= pbaOffset ? msix.pbaOps.read(offset - pbaOffset, sz)
          : offset < tableSize ? msix.tableOps.read(offset, sz) : 0,
        write: (offset, sz, value) => {
          if (offset < tableSize) msix.tableOps.write(offset, sz, value);
        },
      },
    });
    return msix;
  }

  get control(): number {
    return this.config.get16(this.cap + MsixCap.CONTROL);
  }

  get enabled(): boolean {
    return (this.control & MsixControl.ENABLE) !== 0;
  }

  /** Masked as a whole: disabled, or the function mask set. */
  get functionMasked(): boolean {
    return (this.control & (MsixControl.ENABLE | MsixControl.FUNCTION_MASK)) !== MsixControl.ENABLE;
  }

  /** The vector's effective mask: its own bit, the function mask, or MSI-X disabled. */
  isMasked(vector: number): boolean {
    return this.functionMasked || (this.vectorControl(vector) & MSIX_VECTOR_MASKED) !== 0;
  }

  /** The message the table holds for `vector`. */
  message(vector: number): MsiMessage {
    const o = vector * MSIX_ENTRY_SIZE;
    return {
      address: msiAddress(this.view.getUint32(o + MsixEntry.ADDRESS_LOW, true), this.view.getUint32(o + MsixEntry.ADDRESS_HIGH, true)),
      data: this.view.getUint32(o + MsixEntry.DATA, true),
    };
  }

  isPending(vector: number): boolean {
    return (this.pba[vector >> 3] & (1 << (vector & 7))) !== 0;
  }

  /**
   * The device signals `vector` (QEMU's msix_notify): sent when unmasked,
   * else remembered in the PBA.  A vector outside the table is ignored.
   */
  notify(vector: number): void {
    if (!Number.isInteger(vector) || vector < 0 || vector >= this.vectors) return;
    if (this.isMasked(vector)) {
      this.pba[vector >> 3] |= 1 << (vector & 7);
      return;
    }
    this.deliver(this.message(vector));
  }

  /**
   * Install the notifier (one at a time, as QEMU): it is called at once for
   * every vector already unmasked.
   */
  setVectorNotifier(notifier: MsixVectorNotifier): void {
    if (this.notifier !== undefined) throw new Error("MSI-X: a vector notifier is already installed");
    this.notifier = notifier;
    for (let v = 0; v < this.vectors; v++) if (this.maskedNow[v] === 0) notifier.use(v, this.message(v));
  }

  /** Remove the notifier, releasing every vector it was told is in use. */
  unsetVectorNotifier(): void {
    const n = this.notifier;
    if (n === undefined) return;
    this.notifier = undefined;
    for (let v = 0; v < this.vectors; v++) if (this.maskedNow[v] === 0) n.release(v);
  }

  /**
   * Device reset or function level reset: Enable and Function Mask clear,
   * every vector masked with an empty message, no pending bits.  Vectors
   * that were in use are released.
   */
  reset(): void {
    const c = this.cap + MsixCap.CONTROL;
    this.config.set16(c, this.config.get16(c) & MsixControl.TABLE_SIZE);
    this.clearTable();
    this.pba.fill(0);
    this.syncAll();
  }

  private vectorControl(vector: number): number {
    return this.view.getUint32(vector * MSIX_ENTRY_SIZE + MsixEntry.VECTOR_CONTROL, true);
  }

  private clearTable(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) {
      this.view.setUint32(v * MSIX_ENTRY_SIZE + MsixEntry.VECTOR_CONTROL, MSIX_VECTOR_MASKED, true);
    }
  }

  private writeTable(offset: number, size: AccessSize, value: number): void {
    if (offset < 0 || offset + size > this.table.length) return;
    const vector = Math.floor(offset / MSIX_ENTRY_SIZE);
    const before = this.maskedNow[vector] === 0 ? this.message(vector) : undefined;
    for (let i = 0; i < size; i++) this.table[offset + i] = (value >>> (8 * i)) & 0xff;
    // Vector control bits other than the mask are reserved: they read 0.
    const vc = vector * MSIX_ENTRY_SIZE + MsixEntry.VECTOR_CONTROL;
    this.view.setUint32(vc, this.view.getUint32(vc, true) & MSIX_VECTOR_MASKED, true);
    if (before !== undefined && !this.isMasked(vector)) {
      const now = this.message(vector);
      if (now.address !== before.address || now.data !== before.data) {
        // Keep the notifier's view equal to the table (see the header).
        this.maskedNow[vector] = 1;
        this.notifier?.release(vector);
      }
    }
    this.sync(vector);
  }

  private syncAll(): void {
    for (let v = 0; v < this.vectors; v++) this.sync(v);
  }

  /** Act on a change of the vector's effective mask: notifiers, then a pending message. */
  private sync(vector: number): void {
    const masked = this.isMasked(vector) ? 1 : 0;
    if (masked === this.maskedNow[vector]) return;
    this.maskedNow[vector] = masked;
    if (masked === 1) {
      this.notifier?.release(vector);
      return;
    }
    const msg = this.message(vector);
    this.notifier?.use(vector, msg);
    if (this.isPending(vector)) {
      this.pba[vector >> 3] &= ~(1 << (vector & 7));
      this.deliver(msg);
    }
  }

  private deliver(msg: MsiMessage): void {
    if ((this.config.command & PciCommand.MASTER) !== 0) this.send(msg);
  }
}

function readLe(bytes: Uint8Array, offset: number, size: AccessSize): number {
  if (offset < 0 || offset + size > bytes.length) return 0;
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[offset + i];
  return v;
}
