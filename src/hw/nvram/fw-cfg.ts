/**
 * QEMU's firmware configuration device, memory-mapped (qemu:hw/nvram/fw_cfg.c,
 * docs/specs/fw_cfg.rst, include/standard-headers/linux/qemu_fw_cfg.h), as
 * the virt board has it at 0x10100000:
 *
 * - +0, data (8 bytes wide): reads the selected item as a byte stream; an
 *   access of n bytes returns the next n bytes in address order (QEMU's
 *   big-endian register read by a little-endian hart), zeros past the end.
 * - +8, selector (16 bits, big-endian, write only): selects an item and
 *   rewinds it.
 * - +16, DMA address (64 bits, big-endian): writing the low half (or all 8
 *   bytes) runs the FWCfgDmaAccess at that guest address; reads return the
 *   signature "QEMU CFG".
 *
 * Items, as QEMU 7.2's virt gives them with default options: the signature
 * "QEMU", the ID (traditional interface and DMA), a zero UUID, NOGRAPHIC (1:
 * tsemu has no display), NB_CPUS, BOOT_MENU 0 and the file directory with
 * bios-geometry and bootorder (both empty: no boot devices are named) and
 * etc/boot-fail-wait (-1: no reboot timeout).  Like QEMU's virt there is no
 * RAM_SIZE item (the device tree gives the memory).  Every item is read-only:
 * a DMA write fails, and writes to the data register are ignored.
 *
 * QEMU refuses (with an access fault) some accesses that tsemu's bus cannot
 * refuse inside a region: a read of the selector reads 0, a selector write of
 * another size than 2 is ignored, and a 4-byte access at +4 of the data
 * register continues the stream (it is how the bus delivers the second half
 * of an 8-byte access).
 */
import type { AccessSize, DmaMemory, MmioRegion } from "../core/memory.js";
import type { FdtNode } from "../core/fdt.js";

/** Selector keys (qemu_fw_cfg.h). */
export const enum FwCfgKey {
  SIGNATURE = 0x00,
  ID = 0x01,
  UUID = 0x02,
  RAM_SIZE = 0x03,
  NOGRAPHIC = 0x04,
  NB_CPUS = 0x05,
  MACHINE_ID = 0x06,
  KERNEL_ADDR = 0x07,
  KERNEL_SIZE = 0x08,
  KERNEL_CMDLINE = 0x09,
  INITRD_ADDR = 0x0a,
  INITRD_SIZE = 0x0b,
  BOOT_DEVICE = 0x0c,
  NUMA = 0x0d,
  BOOT_MENU = 0x0e,
  MAX_CPUS = 0x0f,
  FILE_DIR = 0x19,
  FILE_FIRST = 0x20,
  /** Selector bit: write channel (ignored for reads). */
  WRITE_CHANNEL = 0x4000,
  /** Selector bit: an architecture-specific item. */
  ARCH_LOCAL = 0x8000,
}

/** ID bits. */
export const FW_CFG_VERSION = 0x01;
export const FW_CFG_VERSION_DMA = 0x02;

/** FWCfgDmaAccess.control bits. */
export const enum FwCfgDmaCtl {
  ERROR = 0x01,
  READ = 0x02,
  SKIP = 0x04,
  SELECT = 0x08,
  WRITE = 0x10,
}

/** What a read of the DMA register returns: "QEMU CFG". */
export const FW_CFG_DMA_SIGNATURE = new TextEncoder().encode("QEMU CFG");
/** Register offsets and sizes in the device's 0x18 bytes. */
export const FW_CFG_DATA = 0x0;
export const FW_CFG_CTL = 0x8;
export const FW_CFG_DMA = 0x10;
export const FW_CFG_SIZE = 0x18;
/** A directory entry: size (BE32), select (BE16), reserved (16), name (56 bytes, NUL-padded). */
export const FW_CFG_FILE_ENTRY_SIZE = 64;
export const FW_CFG_MAX_FILE_PATH = 56;
/** Items beyond FILE_FIRST + this many are invalid (QEMU's default x-file-slots). */
const FILE_SLOTS = 0x20;
const ENTRY_MASK = 0x3fff;
/** Size of FWCfgDmaAccess: control (BE32), length (BE32), address (BE64). */
const DMA_ACCESS_SIZE = 16;

export interface FwCfgOptions {
  base: number;
  /** -smp: the number of harts. */
  cpus: number;
  /** Where DMA reads and writes go. */
  dma: DmaMemory;
}

export class FwCfg {
  /** Data, selector and DMA registers: three regions, so that the gaps between them fault as on QEMU. */
  readonly data: MmioRegion;
  readonly ctl: MmioRegion;
  readonly dmaRegion: MmioRegion;
  private readonly dma: DmaMemory;
  /** Items by key (below ARCH_LOCAL: the virt board has no architecture items). */
  private readonly items = new Map<number, Uint8Array>();
  /** The file directory, in QEMU's order (sorted by name). */
  private readonly files: { name: string; data: Uint8Array }[] = [];
  /** The selected key, or -1 when the selection is invalid. */
  private current = 0;
  private offset = 0;
  private dmaAddrHigh = 0;

  constructor(readonly opts: FwCfgOptions) {
    this.dma = opts.dma;
    const base = opts.base;
    this.data = {
      name: "fwcfg.data", base: base + FW_CFG_DATA, size: 8,
      ops: { read: (_offset, size) => this.readData(size), write: () => undefined },
    };
    this.ctl = {
      name: "fwcfg.ctl", base: base + FW_CFG_CTL, size: 2,
      ops: {
        read: () => 0,
        write: (_offset, size, value) => {
          if (size === 2) this.select(((value & 0xff) << 8) | ((value >>> 8) & 0xff));
        },
      },
    };
    this.dmaRegion = {
      name: "fwcfg.dma", base: base + FW_CFG_DMA, size: 8,
      ops: {
        read: (offset, size) => {
          let v = 0;
          for (let i = size - 1; i >= 0; i--) v = v * 256 + FW_CFG_DMA_SIGNATURE[offset + i];
          return v;
        },
        write: (offset, size, value) => this.writeDma(offset, size, value),
      },
    };
    this.items.set(FwCfgKey.SIGNATURE, new TextEncoder().encode("QEMU"));
    this.items.set(FwCfgKey.ID, le(FW_CFG_VERSION | FW_CFG_VERSION_DMA, 4));
    this.items.set(FwCfgKey.UUID, new Uint8Array(16));
    this.items.set(FwCfgKey.NOGRAPHIC, le(1, 2));
    this.items.set(FwCfgKey.BOOT_MENU, le(0, 2));
    this.items.set(FwCfgKey.NB_CPUS, le(opts.cpus, 2));
    this.addFile("etc/boot-fail-wait", le(0xffffffff, 4));
    this.addFile("bootorder", new Uint8Array(0));
    this.addFile("bios-geometry", new Uint8Array(0));
    this.reset();
  }

  get regions(): MmioRegion[] {
    return [this.data, this.ctl, this.dmaRegion];
  }

  /** Add (or replace) a named file; the directory stays sorted by name, as QEMU's on non-x86 machines. */
  addFile(name: string, data: Uint8Array): void {
    if (new TextEncoder().encode(name).length >= FW_CFG_MAX_FILE_PATH) throw new Error(`fw_cfg file name too long: ${name}`);
    const i = this.files.findIndex((f) => f.name === name);
    if (i >= 0) this.files[i] = { name, data };
    else {
      if (this.files.length >= FILE_SLOTS) throw new Error("fw_cfg: no file slot left");
      this.files.push({ name, data });
      this.files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    this.items.set(FwCfgKey.FILE_DIR, this.directory());
  }

  /** The item a key selects, or undefined (an invalid key, or one with no data). */
  item(key: number): Uint8Array | undefined {
    if ((key & FwCfgKey.ARCH_LOCAL) !== 0) return undefined;
    const k = key & ENTRY_MASK;
    if (k >= FwCfgKey.FILE_FIRST) return this.files[k - FwCfgKey.FILE_FIRST]?.data;
    return this.items.get(k);
  }

  /** Selects the signature, as QEMU's reset. */
  reset(): void {
    this.select(FwCfgKey.SIGNATURE);
    this.dmaAddrHigh = 0;
  }

  /** `/fw-cfg@base`, properties in the order of QEMU's blob. */
  fdtNode(root: FdtNode): FdtNode {
    return root.child(`fw-cfg@${this.opts.base.toString(16)}`)
      .empty("dma-coherent")
      .u64("reg", this.opts.base, FW_CFG_SIZE)
      .str("compatible", "qemu,fw-cfg-mmio");
  }

  private directory(): Uint8Array {
    const dir = new Uint8Array(4 + FW_CFG_FILE_ENTRY_SIZE * this.files.length);
    const v = new DataView(dir.buffer);
    v.setUint32(0, this.files.length);
    this.files.forEach((f, i) => {
      const at = 4 + FW_CFG_FILE_ENTRY_SIZE * i;
      v.setUint32(at, f.data.length);
      v.setUint16(at + 4, FwCfgKey.FILE_FIRST + i);
      dir.set(new TextEncoder().encode(f.name), at + 8);
    });
    return dir;
  }

  private select(key: number): void {
    this.offset = 0;
    this.current = (key & ENTRY_MASK) >= FwCfgKey.FILE_FIRST + FILE_SLOTS ? -1 : key;
  }

  private selected(): Uint8Array | undefined {
    return this.current < 0 ? undefined : this.item(this.current);
  }

  /** The next `size` bytes of the item, the first in the low byte; zeros past its end. */
  private readData(size: AccessSize): number {
    const data = this.selected();
    if (data === undefined || this.offset >= data.length) return 0;
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = this.offset < data.length ? data[this.offset++] : 0;
      v += b * 2 ** (8 * i);
    }
    return v;
  }

  private writeDma(offset: number, size: AccessSize, value: number): void {
    if (size !== 4) return;
    const be = bswap32(value);
    if (offset === 0) {
      this.dmaAddrHigh = be;
    } else if (offset === 4) {
      const addr = this.dmaAddrHigh * 2 ** 32 + be;
      this.dmaAddrHigh = 0;
      this.transfer(addr);
    }
  }

  /** Run the FWCfgDmaAccess at guest address `addr`. */
  private transfer(addr: number): void {
    const u8 = this.dma.u8;
    const at = this.dma.hostOffset(addr, DMA_ACCESS_SIZE);
    if (at < 0) {
      this.finish(addr, FwCfgDmaCtl.ERROR);
      return;
    }
    const desc = new DataView(u8.buffer, u8.byteOffset + at, DMA_ACCESS_SIZE);
    let control = desc.getUint32(0);
    let length = desc.getUint32(4);
    const addrHigh = desc.getUint32(8);
    let address = addrHigh * 2 ** 32 + desc.getUint32(12);
    if ((control & FwCfgDmaCtl.SELECT) !== 0) this.select(control >>> 16);
    const read = (control & FwCfgDmaCtl.READ) !== 0;
    const write = !read && (control & FwCfgDmaCtl.WRITE) !== 0;
    if (!read && !write && (control & FwCfgDmaCtl.SKIP) === 0) length = 0;
    control = 0;
    const data = this.selected();
    while (length > 0 && (control & FwCfgDmaCtl.ERROR) === 0) {
      const avail = data === undefined ? 0 : Math.max(0, data.length - this.offset);
      const n = avail === 0 ? length : Math.min(length, avail);
      // Every item is read-only: a write fails whether or not the item has data.
      if (write) control |= FwCfgDmaCtl.ERROR;
      else if (read) {
        const host = addrHigh >= 2 ** 21 ? -1 : this.dma.hostOffset(address, n);
        if (host < 0) control |= FwCfgDmaCtl.ERROR;
        else {
          if (avail === 0 || data === undefined) u8.fill(0, host, host + n);
          else u8.set(data.subarray(this.offset, this.offset + n), host);
          this.dma.written(address, n);
        }
      }
      if (avail > 0 && !write) this.offset += n;
      address += n;
      length -= n;
    }
    this.finish(addr, control);
  }

  /** Write the DMA access's control word back (big-endian), when it lies in RAM. */
  private finish(addr: number, control: number): void {
    const at = this.dma.hostOffset(addr, 4);
    if (at < 0) return;
    new DataView(this.dma.u8.buffer, this.dma.u8.byteOffset + at, 4).setUint32(0, control);
    this.dma.written(addr, 4);
  }
}

/** `value` as `bytes` little-endian bytes (QEMU's fw_cfg_add_i16/i32). */
function le(value: number, bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  return b;
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
