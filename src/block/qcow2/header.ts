/**
 * The qcow2 header and its extensions (docs/interop/qcow2.txt in QEMU's
 * tree): parsing with QEMU's limits, and writing it back with unknown
 * extensions kept as they were.
 */
import { put32, put64, u32, u64 } from "../bytes.js";

export const QCOW_MAGIC = 0x514649fb;

/** Incompatible feature bits. */
export const INCOMPAT_DIRTY = 1;
export const INCOMPAT_CORRUPT = 2;
export const INCOMPAT_DATA_FILE = 4;
export const INCOMPAT_COMPRESSION = 8;
export const INCOMPAT_EXTL2 = 16;
/** Compatible feature bits. */
export const COMPAT_LAZY_REFCOUNTS = 1;

export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_TABLE = 0x6803f857;

/** QEMU's limits (block/qcow2.h). */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
export const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;
export const MAX_SNAPSHOTS = 65536;
export const MAX_BACKING_NAME = 1023;

export interface HeaderExtension { type: number; data: Uint8Array }

export interface Qcow2Header {
  version: number;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  /** Feature bits; only the low 32 bits carry known features, high bits are kept in `incompatibleHigh` etc. */
  incompatible: number;
  incompatibleHigh: number;
  compatible: number;
  compatibleHigh: number;
  autoclear: number;
  autoclearHigh: number;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  backingFile: string;
  backingFormat: string;
  /** Extensions tsemu does not interpret, in file order (written back as found). */
  otherExtensions: HeaderExtension[];
}

/** An image that cannot be used as it is: the message is the whole line for the user. */
export class ImageError extends Error {}

const FEATURES: [number, number, string][] = [
  [0, 0, "dirty bit"], [0, 1, "corrupt bit"], [0, 2, "external data file"], [0, 3, "compression type"],
  [0, 4, "extended L2 entries"], [1, 0, "lazy refcounts"], [2, 0, "bitmaps"], [2, 1, "raw external data"],
];

const decoder = new TextDecoder();

/** Parse the header in `b` (the first cluster of the file, or as much as there is). */
export function parseHeader(b: Uint8Array, name: string, fileLength: number): Qcow2Header {
  const bad = (why: string): ImageError => new ImageError(`Could not open '${name}': ${why}`);
  if (b.length < 72 || u32(b, 0) !== QCOW_MAGIC) throw bad("Image is not in qcow2 format");
  const version = u32(b, 4);
  if (version < 2 || version > 3) throw bad(`Unsupported qcow2 version ${version}`);
  const clusterBits = u32(b, 20);
  if (clusterBits < 9 || clusterBits > 21) throw bad(`Unsupported cluster size: 2^${clusterBits}`);
  const h: Qcow2Header = {
    version, backingFileOffset: u64(b, 8), backingFileSize: u32(b, 16), clusterBits, size: u64(b, 24),
    cryptMethod: u32(b, 32), l1Size: u32(b, 36), l1TableOffset: u64(b, 40), refcountTableOffset: u64(b, 48),
    refcountTableClusters: u32(b, 56), nbSnapshots: u32(b, 60), snapshotsOffset: u64(b, 64),
    incompatible: 0, incompatibleHigh: 0, compatible: 0, compatibleHigh: 0, autoclear: 0, autoclearHigh: 0,
    refcountOrder: 4, headerLength: 72, compressionType: 0, backingFile: "", backingFormat: "", otherExtensions: [],
  };
  if (version === 3) {
    if (b.length < 104) throw bad("qcow2 header exceeds cluster size");
    h.incompatibleHigh = u32(b, 72); h.incompatible = u32(b, 76);
    h.compatibleHigh = u32(b, 80); h.compatible = u32(b, 84);
    h.autoclearHigh = u32(b, 88); h.autoclear = u32(b, 92);
    h.refcountOrder = u32(b, 96);
    h.headerLength = u32(b, 100);
    if (h.headerLength < 104) throw bad("qcow2 header too short");
    if (h.headerLength > b.length) throw bad("qcow2 header exceeds cluster size");
    if (h.headerLength > 104) h.compressionType = b[104];
  }
  const clusterSize = 2 ** clusterBits;
  if (h.cryptMethod !== 0) throw bad("encrypted qcow2 images are not supported by tsemu");
  if (h.incompatibleHigh !== 0 || (h.incompatible & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2)) !== 0) {
    const known = h.incompatible & INCOMPAT_DATA_FILE ? "external data file" : "Unknown incompatible feature";
    throw bad(`Unsupported qcow2 feature(s): ${known}`);
  }
  if (h.incompatible & INCOMPAT_COMPRESSION && h.compressionType !== 0) throw bad("compression type zstd is not supported by tsemu");
  if (!(h.incompatible & INCOMPAT_COMPRESSION) && h.compressionType !== 0) throw bad("Invalid compression type");
  if (h.refcountOrder > 6) throw bad("Reference count entry width too large; may not exceed 64 bits");
  if (!Number.isSafeInteger(h.size)) throw bad("Image is too big");
  const l2Bits = clusterBits - (h.incompatible & INCOMPAT_EXTL2 ? 4 : 3);
  const needL1 = Math.ceil(h.size / 2 ** (clusterBits + l2Bits));
  if (h.l1Size * 8 > MAX_L1_BYTES) throw bad("Active L1 table too large");
  if (h.l1Size < needL1) throw bad("L1 table is too small");
  if (h.refcountTableClusters * clusterSize > MAX_REFTABLE_BYTES) throw bad("Reference count table too large");
  if (h.nbSnapshots > MAX_SNAPSHOTS) throw bad("Too many snapshots");
  const table = (what: string, offset: number, bytes: number, present: boolean): void => {
    if (!present) return;
    if (!Number.isSafeInteger(offset) || offset % clusterSize !== 0) throw bad(`Invalid ${what} offset`);
    if (offset === 0 || offset + bytes > fileLength) throw bad(`${what} at offset ${offset} lies past the end of the file (${fileLength} bytes)`);
  };
  table("L1 table", h.l1TableOffset, h.l1Size * 8, h.l1Size > 0);
  table("Reference count table", h.refcountTableOffset, h.refcountTableClusters * clusterSize, true);
  table("Snapshot table", h.snapshotsOffset, 40 * h.nbSnapshots, h.nbSnapshots > 0);
  if (h.refcountTableClusters === 0) throw bad("Image does not contain a reference count table");

  // Extensions follow the header, within the first cluster.
  let at = version === 2 ? 72 : h.headerLength;
  const end = h.backingFileOffset > 0 ? Math.min(h.backingFileOffset, b.length) : b.length;
  while (at + 8 <= end) {
    const type = u32(b, at);
    const len = u32(b, at + 4);
    at += 8;
    if (type === EXT_END) break;
    if (len > end - at) throw bad("Invalid qcow2 header extension: length exceeds the header cluster");
    const data = b.slice(at, at + len);
    if (type === EXT_BACKING_FORMAT) h.backingFormat = decoder.decode(data).replace(/\0.*$/s, "");
    else if (type !== EXT_FEATURE_TABLE) h.otherExtensions.push({ type, data });
    at += (len + 7) & ~7;
  }
  if (h.backingFileOffset > 0) {
    if (h.backingFileSize > MAX_BACKING_NAME || h.backingFileOffset + h.backingFileSize > b.length) {
      throw bad("Backing file name too long");
    }
    h.backingFile = decoder.decode(b.subarray(h.backingFileOffset, h.backingFileOffset + h.backingFileSize));
  }
  return h;
}

const encoder = new TextEncoder();

/** The header with its extensions and backing file name, as it goes at offset 0 (throws if it outgrows the cluster). */
export function encodeHeader(h: Qcow2Header, withFeatureTable: boolean): Uint8Array {
  const clusterSize = 2 ** h.clusterBits;
  const exts: HeaderExtension[] = [];
  if (h.backingFormat !== "") exts.push({ type: EXT_BACKING_FORMAT, data: encoder.encode(h.backingFormat) });
  const headerLength = h.version === 2 ? 72 : Math.max(h.headerLength, 112);
  const sizeOf = (list: HeaderExtension[]): number => list.reduce((n, e) => n + 8 + ((e.data.length + 7) & ~7), 0);
  const tail = [...h.otherExtensions];
  const name = encoder.encode(h.backingFile);
  const fixed = headerLength + sizeOf(exts) + sizeOf(tail) + 8 + name.length;
  if (withFeatureTable && h.version === 3 && fixed + 8 + FEATURES.length * 48 <= clusterSize) {
    const t = new Uint8Array(FEATURES.length * 48);
    FEATURES.forEach(([type, bit, text], i) => {
      t[i * 48] = type; t[i * 48 + 1] = bit; t.set(encoder.encode(text), i * 48 + 2);
    });
    exts.push({ type: EXT_FEATURE_TABLE, data: t });
  }
  exts.push(...tail);
  const extBytes = sizeOf(exts) + 8;
  const total = headerLength + extBytes + name.length;
  if (total > clusterSize) throw new ImageError("qcow2 header and extensions do not fit in the first cluster");
  const b = new Uint8Array(total);
  put32(b, 0, QCOW_MAGIC); put32(b, 4, h.version);
  put64(b, 8, name.length > 0 ? headerLength + extBytes : 0); put32(b, 16, name.length);
  put32(b, 20, h.clusterBits); put64(b, 24, h.size); put32(b, 32, h.cryptMethod);
  put32(b, 36, h.l1Size); put64(b, 40, h.l1TableOffset); put64(b, 48, h.refcountTableOffset);
  put32(b, 56, h.refcountTableClusters); put32(b, 60, h.nbSnapshots); put64(b, 64, h.snapshotsOffset);
  if (h.version === 3) {
    put32(b, 72, h.incompatibleHigh); put32(b, 76, h.incompatible);
    put32(b, 80, h.compatibleHigh); put32(b, 84, h.compatible);
    put32(b, 88, h.autoclearHigh); put32(b, 92, h.autoclear);
    put32(b, 96, h.refcountOrder); put32(b, 100, headerLength);
    b[104] = h.compressionType;
  }
  let at = headerLength;
  for (const e of exts) {
    put32(b, at, e.type); put32(b, at + 4, e.data.length);
    b.set(e.data, at + 8);
    at += 8 + ((e.data.length + 7) & ~7);
  }
  at += 8; // the end marker is zeros
  b.set(name, at);
  h.headerLength = headerLength;
  h.backingFileOffset = name.length > 0 ? headerLength + extBytes : 0;
  h.backingFileSize = name.length;
  return b;
}
