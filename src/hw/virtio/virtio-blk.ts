/**
 * virtio-blk (virtio 1.2 section 5.2): one request queue, served
 * synchronously when the driver notifies it.  A request is a 16-byte header
 * {type, reserved, sector} in the readable buffers, then data, and a status
 * byte as the last writable byte.
 */
import type { BlockBackend } from "../../block/block.js";
import type { VirtioDevice } from "./virtio-mmio.js";
import type { Chain, Virtqueue } from "./virtqueue.js";

export const VIRTIO_ID_BLOCK = 2;

export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
export const VIRTIO_BLK_F_RO = 1n << 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;
export const VIRTIO_BLK_F_MQ = 1n << 12n;
export const VIRTIO_BLK_F_DISCARD = 1n << 13n;
export const VIRTIO_BLK_F_WRITE_ZEROES = 1n << 14n;
/** The most request queues (QEMU's VIRTIO_QUEUE_MAX less the ones it keeps). */
export const VIRTIO_BLK_MAX_QUEUES = 1024;

export const enum VirtioBlkType { IN = 0, OUT = 1, FLUSH = 4, GET_ID = 8, DISCARD = 11, WRITE_ZEROES = 13 }
export const enum VirtioBlkStatus { OK = 0, IOERR = 1, UNSUPP = 2 }

export const SECTOR_SIZE = 512;
const HEADER_SIZE = 16;
const ID_BYTES = 20;
/** QEMU's default queue-size (256) minus the header and status descriptors. */
const SEG_MAX = 254;
/**
 * struct virtio_blk_config through write_zeroes_may_unmap and its padding,
 * the size QEMU 7.2 gives it; it sizes virtio-blk-pci's legacy I/O BAR.
 */
const CONFIG_SIZE = 60;
/** The largest DISCARD / WRITE_ZEROES, as QEMU's default (BDRV_REQUEST_MAX_SECTORS: INT_MAX >> 9). */
export const MAX_ZERO_DISCARD_SECTORS = 0x3fffff;
/** One struct virtio_blk_discard_write_zeroes: sector (u64), num_sectors (u32), flags (u32). */
const SEGMENT_SIZE = 16;
const WRITE_ZEROES_FLAG_UNMAP = 1;

export interface VirtioBlkOptions {
  /** The drive's serial= (GET_ID answers it, up to 20 bytes). */
  serial?: string;
  /** Request queues (QEMU's num-queues; default 1): more than one offers VIRTIO_BLK_F_MQ. */
  numQueues?: number;
}

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly queueCount: number;
  /** QEMU's queue-size default. */
  readonly queueSize = 256;
  readonly config = new Uint8Array(CONFIG_SIZE);
  private readonly serial: Uint8Array;
  private readonly sectors: number;

  constructor(private readonly disk: BlockBackend, opts: VirtioBlkOptions = {}) {
    const queues = opts.numQueues ?? 1;
    if (!Number.isInteger(queues) || queues < 1 || queues > VIRTIO_BLK_MAX_QUEUES) {
      throw new Error(`virtio-blk: ${queues} queues (1 to ${VIRTIO_BLK_MAX_QUEUES})`);
    }
    this.queueCount = queues;
    // DISCARD and WRITE_ZEROES are offered as QEMU's discard=on and
    // write-zeroes=on defaults do; the drive's discard= decides whether a
    // discard reaches the image (QEMU's -drive discard=ignore by default).
    this.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH
      | VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES
      | (disk.readOnly ? VIRTIO_BLK_F_RO : 0n) | (queues > 1 ? VIRTIO_BLK_F_MQ : 0n);
    this.serial = new TextEncoder().encode(opts.serial ?? "").subarray(0, ID_BYTES);
    // A trailing partial sector is not visible to the guest.
    this.sectors = Math.floor(disk.size / SECTOR_SIZE);
    const v = new DataView(this.config.buffer);
    v.setUint32(0, this.sectors >>> 0, true); // capacity, u64
    v.setUint32(4, Math.floor(this.sectors / 2 ** 32), true);
    v.setUint32(12, SEG_MAX, true);
    v.setUint32(20, SECTOR_SIZE, true); // blk_size
    v.setUint16(34, queues, true); // num_queues
    v.setUint32(36, MAX_ZERO_DISCARD_SECTORS, true); // max_discard_sectors
    v.setUint32(40, 1, true); // max_discard_seg: one segment a request, as QEMU
    v.setUint32(44, SECTOR_SIZE >> 9, true); // discard_sector_alignment, in sectors
    v.setUint32(48, MAX_ZERO_DISCARD_SECTORS, true); // max_write_zeroes_sectors
    v.setUint32(52, 1, true); // max_write_zeroes_seg
    v.setUint8(56, 1); // write_zeroes_may_unmap
  }

  notify(vq: Virtqueue): void {
    for (let chain = vq.pop(); chain !== undefined; chain = vq.pop()) {
      // Like QEMU, a request without its header or status byte is the driver's bug: stop.
      if (chain.readableLength < HEADER_SIZE || chain.writableLength < 1) {
        vq.fail("virtio-blk request without its header or status byte");
        return;
      }
      if (this.segmentMissing(chain)) {
        vq.fail("virtio-blk discard/write_zeroes header too short");
        return;
      }
      vq.push(chain, this.request(chain));
    }
  }

  /** A DISCARD or WRITE_ZEROES without its segment: QEMU takes it as a broken driver too. */
  private segmentMissing(chain: Chain): boolean {
    if (chain.readableLength >= HEADER_SIZE + SEGMENT_SIZE) return false;
    const type = new Uint8Array(4);
    chain.read(0, type);
    const t = new DataView(type.buffer).getUint32(0, true);
    return t === VirtioBlkType.DISCARD || t === VirtioBlkType.WRITE_ZEROES;
  }

  /** Serve one request; returns the bytes written, status byte included. */
  private request(chain: Chain): number {
    const header = new Uint8Array(HEADER_SIZE);
    chain.read(0, header);
    const h = new DataView(header.buffer);
    const type = h.getUint32(0, true);
    const sector = h.getUint32(8, true) + h.getUint32(12, true) * 2 ** 32;
    const dataIn = chain.writableLength - 1; // writable bytes before the status byte
    let status: VirtioBlkStatus;
    let written = 0;
    switch (type) {
      case VirtioBlkType.IN:
        status = this.transfer(chain, sector, dataIn, false);
        if (status === VirtioBlkStatus.OK) written = dataIn;
        break;
      case VirtioBlkType.OUT:
        status = this.transfer(chain, sector, chain.readableLength - HEADER_SIZE, true);
        break;
      case VirtioBlkType.FLUSH:
        status = this.attempt(() => this.disk.flush());
        break;
      case VirtioBlkType.GET_ID: {
        // NUL-terminated when shorter than 20 bytes, as QEMU does.
        const id = new Uint8Array(Math.min(this.serial.length + 1, ID_BYTES, dataIn));
        id.set(this.serial.subarray(0, id.length));
        written = chain.write(0, id);
        status = VirtioBlkStatus.OK;
        break;
      }
      case VirtioBlkType.DISCARD:
      case VirtioBlkType.WRITE_ZEROES:
        status = this.zeroOrDiscard(chain, type === VirtioBlkType.WRITE_ZEROES);
        break;
      default:
        status = VirtioBlkStatus.UNSUPP;
    }
    chain.write(dataIn, Uint8Array.of(status));
    return written + 1;
  }

  /** IN (into guest buffers) or OUT (from them) of `length` bytes at `sector`. */
  private transfer(chain: Chain, sector: number, length: number, out: boolean): VirtioBlkStatus {
    if (length % SECTOR_SIZE !== 0 || sector > this.sectors || length / SECTOR_SIZE > this.sectors - sector) {
      return VirtioBlkStatus.IOERR;
    }
    if (out && this.disk.readOnly) return VirtioBlkStatus.IOERR;
    const at = sector * SECTOR_SIZE;
    return this.attempt(() => {
      if (out) chain.readWith(HEADER_SIZE, length, (view, pos) => this.disk.write(at + pos, view));
      else chain.writeWith(0, length, (view, pos) => this.disk.read(at + pos, view));
    });
  }

  /**
   * DISCARD or WRITE_ZEROES of the one segment after the header (virtio 1.2
   * 5.2.6.2; notify made sure it is there): more than one segment is UNSUPP (max_*_seg is 1), so are
   * unknown flags and the unmap flag on a discard; a range past the end or
   * over the limit is IOERR, as on QEMU.
   */
  private zeroOrDiscard(chain: Chain, zero: boolean): VirtioBlkStatus {
    if (chain.readableLength - HEADER_SIZE > SEGMENT_SIZE) return VirtioBlkStatus.UNSUPP;
    const seg = new Uint8Array(SEGMENT_SIZE);
    chain.read(HEADER_SIZE, seg);
    const v = new DataView(seg.buffer);
    const sector = v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
    const count = v.getUint32(8, true);
    const flags = v.getUint32(12, true);
    if (count > MAX_ZERO_DISCARD_SECTORS || sector > this.sectors || count > this.sectors - sector) return VirtioBlkStatus.IOERR;
    if ((flags & ~WRITE_ZEROES_FLAG_UNMAP) !== 0 || (!zero && flags !== 0)) return VirtioBlkStatus.UNSUPP;
    if (this.disk.readOnly) return VirtioBlkStatus.IOERR;
    const at = sector * SECTOR_SIZE;
    const length = count * SECTOR_SIZE;
    return this.attempt(() => {
      if (zero) this.disk.writeZeroes(at, length, (flags & WRITE_ZEROES_FLAG_UNMAP) !== 0);
      else this.disk.discard(at, length);
    });
  }

  /**
   * A host I/O error becomes IOERR for the guest, as QEMU's rerror=report
   * (QEMU's default werror=enospc would pause the VM on a full host disk).
   */
  private attempt(io: () => void): VirtioBlkStatus {
    try {
      io();
      return VirtioBlkStatus.OK;
    } catch {
      return VirtioBlkStatus.IOERR;
    }
  }
}
