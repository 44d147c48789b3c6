/**
 * Creating a qcow2 image the way qemu-img lays it out: the header (with the
 * feature name table when it fits), the refcount table, the refcount
 * blocks, then the L1 table; preallocation adds L2 tables and clusters.
 */
import { put64 } from "../bytes.js";
import type { BlockHost } from "../image-file.js";
import { createImageFile } from "../image-lock.js";
import {
  COMPAT_LAZY_REFCOUNTS, encodeHeader, ImageError, INCOMPAT_EXTL2, MAX_L1_BYTES, type Qcow2Header,
} from "./header.js";
import { Qcow2Image } from "./qcow2.js";

export interface Qcow2CreateOptions {
  size: number;
  clusterSize: number;
  /** 2 for compat=0.10, 3 for compat=1.1. */
  version: number;
  backingFile: string;
  backingFormat: string;
  lazyRefcounts: boolean;
  refcountBits: number;
  extendedL2: boolean;
  preallocation: "off" | "metadata" | "falloc" | "full";
}

export function createQcow2(host: BlockHost, path: string, o: Qcow2CreateOptions): void {
  const cs = o.clusterSize;
  if (!Number.isInteger(Math.log2(cs)) || cs < 512 || cs > 2 * 1024 * 1024) {
    throw new ImageError("Cluster size must be a power of two between 512 and 2048k");
  }
  const clusterBits = Math.log2(cs);
  const refcountOrder = Math.log2(o.refcountBits);
  if (!Number.isInteger(refcountOrder) || refcountOrder > 6) throw new ImageError("Refcount width must be a power of two and may not exceed 64 bits");
  if (o.version === 2 && (o.refcountBits !== 16 || o.lazyRefcounts || o.extendedL2)) {
    throw new ImageError(o.lazyRefcounts ? "Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)"
      : o.extendedL2 ? "Extended L2 entries are only supported with compatibility level 1.1 and above (use compat=1.1 or greater)"
        : "Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
  }
  if (o.extendedL2 && cs < 16384) throw new ImageError("Extended L2 entries are only supported with cluster sizes of at least 16 KiB");
  const entryBytes = o.extendedL2 ? 16 : 8;
  const l1Size = Math.ceil(o.size / (cs * (cs / entryBytes)));
  if (l1Size * 8 > MAX_L1_BYTES) throw new ImageError("The image size is too large for file format 'qcow2' (try using a larger cluster size)");
  const l1Clusters = Math.max(Math.ceil(l1Size * 8 / cs), 1);
  const perBlock = cs * 8 / o.refcountBits;
  // Header, refcount table, refcount blocks, L1: grow the counts until the blocks cover them all.
  let tableClusters = 1;
  let blocks = 1;
  for (;;) {
    const total = 1 + tableClusters + blocks + l1Clusters;
    const b = Math.ceil(total / perBlock);
    const t = Math.ceil(b * 8 / cs);
    if (b === blocks && t === tableClusters) break;
    blocks = b; tableClusters = t;
  }
  const tableOffset = cs;
  const blocksOffset = tableOffset + tableClusters * cs;
  const l1Offset = blocksOffset + blocks * cs;
  const h: Qcow2Header = {
    version: o.version, backingFileOffset: 0, backingFileSize: 0, clusterBits, size: o.size, cryptMethod: 0,
    l1Size, l1TableOffset: l1Offset, refcountTableOffset: tableOffset, refcountTableClusters: tableClusters,
    nbSnapshots: 0, snapshotsOffset: 0, incompatible: o.extendedL2 ? INCOMPAT_EXTL2 : 0, incompatibleHigh: 0,
    compatible: o.lazyRefcounts ? COMPAT_LAZY_REFCOUNTS : 0, compatibleHigh: 0, autoclear: 0, autoclearHigh: 0,
    refcountOrder, headerLength: o.version === 3 ? 112 : 72, compressionType: 0,
    backingFile: o.backingFile, backingFormat: o.backingFormat, otherExtensions: [],
  };
  const headerBytes = encodeHeader(h, true);
  const file = createImageFile(host, path);
  try {
    const meta = new Uint8Array(l1Offset + l1Clusters * cs);
    meta.set(headerBytes);
    const total = 1 + tableClusters + blocks + l1Clusters;
    for (let k = 0; k < blocks; k++) put64(meta, tableOffset + 8 * k, blocksOffset + k * cs);
    for (let c = 0; c < total; c++) setRefcount(meta, blocksOffset, c, o.refcountBits, 1);
    file.write(0, meta);
    // The L1 table need not fill its last cluster; QEMU's files end with it.
    file.flush();
  } finally {
    file.close();
  }
  if (o.preallocation !== "off") preallocate(host, path, o);
}

function setRefcount(meta: Uint8Array, blocksOffset: number, c: number, bits: number, v: number): void {
  const bitPos = c * bits;
  const at = blocksOffset + Math.floor(bitPos / 8);
  if (bits < 8) meta[at] |= v << (bitPos % 8);
  else meta[at + bits / 8 - 1] = v;
}

/** preallocation=metadata|falloc|full: every cluster gets an L2 entry pointing at a host cluster. */
function preallocate(host: BlockHost, path: string, o: Qcow2CreateOptions): void {
  const img = new Qcow2Image(host.open(path, false), { readOnly: false, host, backing: null });
  try {
    img.preallocate(o.preallocation === "full");
  } finally {
    img.close();
  }
}
