/**
 * qemu-img check for qcow2: count every reference the metadata makes
 * (header, L1 and L2 tables, data and compressed clusters, snapshots,
 * refcount table and blocks), compare with the stored refcounts and the
 * COPIED flags, and repair leaks (and refcount errors where the refcount
 * block exists) when asked.  Messages are QEMU's, line for line.
 */
import { u32 } from "../bytes.js";
import { ClusterType, entryOffset, type Entry, type Qcow2Image } from "./qcow2.js";

export interface CheckResult {
  corruptions: number;
  leaks: number;
  checkErrors: number;
  corruptionsFixed: number;
  leaksFixed: number;
  totalClusters: number;
  allocatedClusters: number;
  fragmentedClusters: number;
  compressedClusters: number;
  imageEndOffset: number;
  /** What QEMU prints on stderr while checking, one line each. */
  messages: string[];
}

const hex = (n: number): string => n.toString(16);

/** Check `img`; with `fixLeaks`/`fixErrors` (it must be open for writing) repair what can be repaired. */
export function checkQcow2(img: Qcow2Image, fixLeaks = false, fixErrors = false): CheckResult {
  const cs = img.clusterSize;
  const fileClusters = Math.ceil(img.file.length() / cs);
  const refs = new Uint32Array(fileClusters);
  const r: CheckResult = {
    corruptions: 0, leaks: 0, checkErrors: 0, corruptionsFixed: 0, leaksFixed: 0,
    totalClusters: Math.ceil(img.size / cs), allocatedClusters: 0, fragmentedClusters: 0, compressedClusters: 0,
    imageEndOffset: 0, messages: [],
  };
  const inc = (offset: number, size: number): void => {
    if (size <= 0) return;
    const first = Math.floor(offset / cs);
    const last = Math.floor((offset + size - 1) / cs);
    for (let c = first; c <= last; c++) {
      if (c >= fileClusters || !Number.isFinite(c)) {
        r.messages.push(`ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x${hex(c * cs)} size 0x${hex(cs)}`);
        r.corruptions++;
        continue;
      }
      refs[c]++;
    }
  };

  inc(0, cs);
  let nextContiguous = 0;
  const walkL1 = (l1: Uint8Array, active: boolean): void => {
    for (let i = 0; i < l1.length / 8; i++) {
      const e: Entry = { hi: u32(l1, 8 * i), lo: u32(l1, 8 * i + 4) };
      const l2off = entryOffset(e);
      if (l2off === 0) continue;
      if (l2off % cs !== 0) {
        r.messages.push(`ERROR l2_offset=${hex(l2off)}: Table is not cluster aligned; L1 entry corrupted`);
        r.corruptions++;
        continue;
      }
      inc(l2off, cs);
      if (l2off >= img.file.length()) continue;
      const t = new Uint8Array(cs);
      img.file.read(l2off, t);
      // QEMU counts contiguity within one L2 table.
      nextContiguous = 0;
      for (let j = 0; j < img.l2Entries; j++) {
        const at = j * img.l2EntryBytes;
        const le: Entry = { hi: u32(t, at), lo: u32(t, at + 4) };
        const type = img.clusterType(le);
        if (type === ClusterType.Compressed) {
          const cr = img.compressedRange(le);
          if (active) { r.allocatedClusters++; r.compressedClusters++; r.fragmentedClusters++; }
          inc(cr.offset - (cr.offset % 512), cr.length + (cr.offset % 512));
        } else if (type === ClusterType.Normal || type === ClusterType.ZeroAlloc) {
          const off = entryOffset(le);
          if (off % cs !== 0) {
            r.messages.push(`ERROR offset=${hex(off)}: Cluster is not properly aligned; L2 entry corrupted`);
            r.corruptions++;
            continue;
          }
          if (active) {
            r.allocatedClusters++;
            if (nextContiguous !== 0 && off !== nextContiguous) r.fragmentedClusters++;
            nextContiguous = off + cs;
          }
          inc(off, cs);
        }
      }
    }
  };
  inc(img.header.l1TableOffset, img.header.l1Size * 8);
  walkL1(img.l1, true);
  for (const sn of img.snapshots) {
    if (sn.l1TableOffset % cs !== 0) {
      r.messages.push(`ERROR snapshot ${sn.id} (${sn.name}) l1_offset=0x${hex(sn.l1TableOffset)}: L1 table is not cluster aligned; snapshot table entry corrupted`);
      r.corruptions++;
      continue;
    }
    if (sn.l1Size * 8 > 32 * 1024 * 1024) {
      r.messages.push(`ERROR snapshot ${sn.id} (${sn.name}) l1_size=0x${hex(sn.l1Size)}: L1 table is too large; snapshot table entry corrupted`);
      r.corruptions++;
      continue;
    }
    inc(sn.l1TableOffset, sn.l1Size * 8);
    if (sn.l1TableOffset + sn.l1Size * 8 <= img.file.length()) {
      const l1 = new Uint8Array(sn.l1Size * 8);
      img.file.read(sn.l1TableOffset, l1);
      walkL1(l1, false);
    }
  }
  if (img.header.nbSnapshots > 0) inc(img.header.snapshotsOffset, snapshotTableBytes(img));
  const rc = img.refcounts;
  inc(rc.tableOffset, rc.tableClusters * cs);
  for (let k = 0; k < rc.table.length; k++) {
    const off = rc.table[k];
    if (off === 0) continue;
    if (off % cs !== 0) {
      r.messages.push(`ERROR refcount block ${k} is not cluster aligned; refcount table entry corrupted`);
      r.corruptions++;
      continue;
    }
    if (off / cs >= fileClusters) {
      r.messages.push(`ERROR refcount block ${k} is outside image`);
      r.corruptions++;
      continue;
    }
    inc(off, cs);
    if (refs[off / cs] !== 1) {
      r.messages.push(`ERROR refcount block ${k} refcount=${refs[off / cs]}`);
      r.corruptions++;
    }
  }

  // Compare with what the refcount blocks say.
  let highest = -1;
  const stored = (c: number): number => {
    const off = rc.blockOffset(c);
    if (off === 0 || off % cs !== 0 || off / cs >= fileClusters) return 0;
    return rc.get(c);
  };
  const limit = Math.max(fileClusters, 0);
  for (let c = 0; c < limit; c++) {
    const have = stored(c);
    const want = refs[c];
    if (have > 0 || want > 0) highest = c;
    if (have === want) continue;
    const canFix = have > want ? fixLeaks : fixErrors;
    const fixable = canFix && rc.blockOffset(c) !== 0;
    r.messages.push(`${fixable ? "Repairing" : have < want ? "ERROR" : "Leaked"} cluster ${c} refcount=${have} reference=${want}`);
    if (fixable) {
      rc.set(c, want);
      if (have > want) r.leaksFixed++; else r.corruptionsFixed++;
    } else if (have < want) {
      r.corruptions++;
    } else {
      r.leaks++;
    }
  }

  // The COPIED flags of the active tables.
  for (let i = 0; i < img.header.l1Size; i++) {
    const e = img.l1Entry(i);
    const l2off = entryOffset(e);
    if (l2off === 0 || l2off % cs !== 0 || l2off >= img.file.length()) continue;
    const n = stored(l2off / cs);
    if ((n === 1) !== ((e.hi & 0x80000000) !== 0)) {
      r.messages.push(`${fixErrors ? "Repairing" : "ERROR"} OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${l2EntryHex(e)} refcount=${n}`);
      if (fixErrors) r.corruptionsFixed++; else r.corruptions++;
    }
    const t = img.l2Table(l2off);
    for (let j = 0; j < img.l2Entries; j++) {
      const at = j * img.l2EntryBytes;
      const le: Entry = { hi: u32(t, at), lo: u32(t, at + 4) };
      const type = img.clusterType(le);
      if (type !== ClusterType.Normal && type !== ClusterType.ZeroAlloc) continue;
      const off = entryOffset(le);
      if (off % cs !== 0 || off >= img.file.length()) continue;
      const m = stored(off / cs);
      if ((m === 1) !== ((le.hi & 0x80000000) !== 0)) {
        r.messages.push(`${fixErrors ? "Repairing" : "ERROR"} OFLAG_COPIED data cluster: l2_entry=${l2EntryHex(le)} refcount=${m}`);
        if (fixErrors) r.corruptionsFixed++; else r.corruptions++;
      }
    }
  }
  if (fixErrors && r.corruptionsFixed > 0) img.fixCopiedFlags();
  if (fixLeaks || fixErrors) img.flush();
  r.imageEndOffset = (highest + 1) * cs;
  return r;
}

function l2EntryHex(e: Entry): string {
  return (BigInt(e.hi >>> 0) << 32n | BigInt(e.lo >>> 0)).toString(16);
}

function snapshotTableBytes(img: Qcow2Image): number {
  let n = 0;
  for (const sn of img.snapshots) {
    n = (n + 40 + Math.max(sn.extra.length, 0) + new TextEncoder().encode(sn.id).length + new TextEncoder().encode(sn.name).length + 7) & ~7;
  }
  return n;
}
