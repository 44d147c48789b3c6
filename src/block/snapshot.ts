/**
 * A copy-on-write overlay for -snapshot: writes stay in memory, in 4 KiB
 * clusters, and reads merge them over the image, which is never written.
 * Everything the guest wrote is gone when the machine exits, as with QEMU's
 * temporary overlay.
 */
import { checkRange, type BlockBackend } from "./block.js";

const CLUSTER = 4096;

export class SnapshotOverlay implements BlockBackend {
  readonly size: number;
  readonly readOnly = false;
  private readonly clusters = new Map<number, Uint8Array>();

  constructor(private readonly base: BlockBackend) {
    this.size = base.size;
  }

  /** Bytes held in memory, for `info block`-like reports. */
  get allocated(): number {
    return this.clusters.size * CLUSTER;
  }

  read(offset: number, into: Uint8Array): void {
    checkRange(this.size, offset, into.length);
    // Runs of clusters that were never written go to the image in one read.
    let runStart = 0;
    let pos = 0;
    while (pos < into.length) {
      const at = offset + pos;
      const index = Math.floor(at / CLUSTER);
      const within = at - index * CLUSTER;
      const n = Math.min(CLUSTER - within, into.length - pos);
      const c = this.clusters.get(index);
      if (c !== undefined) {
        if (runStart < pos) this.base.read(offset + runStart, into.subarray(runStart, pos));
        into.set(c.subarray(within, within + n), pos);
        runStart = pos + n;
      }
      pos += n;
    }
    if (runStart < pos) this.base.read(offset + runStart, into.subarray(runStart, pos));
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this.size, offset, data.length);
    let pos = 0;
    while (pos < data.length) {
      const at = offset + pos;
      const index = Math.floor(at / CLUSTER);
      const within = at - index * CLUSTER;
      const n = Math.min(CLUSTER - within, data.length - pos);
      let c = this.clusters.get(index);
      if (c === undefined) {
        // The last cluster of an image whose size is not a multiple of 4 KiB is short.
        c = new Uint8Array(Math.min(CLUSTER, this.size - index * CLUSTER));
        if (n < c.length) this.base.read(index * CLUSTER, c);
        this.clusters.set(index, c);
      }
      c.set(data.subarray(pos, pos + n), within);
      pos += n;
    }
  }

  /** Nothing is durable under -snapshot. */
  flush(): void {}

  close(): void {
    this.clusters.clear();
    this.base.close();
  }
}
