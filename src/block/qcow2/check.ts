/**
 * qemu-img check for qcow2: count every reference the metadata makes
 * (header, L1 and L2 tables, data and compressed clusters, snapshots,
 * refcount table and blocks), compare with the stored refcounts and the
 * COPIED flags, and repair leaks and refcount errors when asked: counts
 * are patched where the structure is sound, and the whole refcount
 * structure is rebuilt where it is not (as qemu-img check -r all does).
 * Messages are QEMU's.
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
  /** Set when the check could not go on (qemu-img: "Check failed: ..."). */
  failed?: string;
}

const hex = (n: number): string => n.toString(16);

/** Check `img`; with `fixLeaks`/`fixErrors` (it must be open for writing) repair what can be repaired. */
export function checkQcow2(img: Qcow2Image, fixLeaks = false, fixErrors = false, copiedFlags = true): CheckResult {
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
  // A broken structure (a block misplaced or shared, a referenced cluster counted 0) is rebuilt, not patched.
  let rebuild = false;
  const rc = img.refcounts;
  inc(rc.tableOffset, rc.tableClusters * cs);
  for (let k = 0; k < rc.table.length; k++) {
    const off = rc.table[k];
    if (off === 0) continue;
    // QEMU 7.2 (REFT_RESERVED_MASK): the low nine bits of an entry are reserved.
    if (off % 512 !== 0) {
      r.messages.push(`ERROR refcount table entry ${k} has reserved bits set`);
      r.corruptions++;
      rebuild = true;
      continue;
    }
    if (off % cs !== 0) {
      r.messages.push(`ERROR refcount block ${k} is not cluster aligned; refcount table entry corrupted`);
      r.corruptions++;
      rebuild = true;
      continue;
    }
    if (off / cs >= fileClusters) {
      r.messages.push(`ERROR refcount block ${k} is outside image`);
      r.corruptions++;
      rebuild = true;
      continue;
    }
    inc(off, cs);
    if (refs[off / cs] !== 1) {
      r.messages.push(`ERROR refcount block ${k} refcount=${refs[off / cs]}`);
      r.corruptions++;
      rebuild = true;
    }
  }

  // Compare with what the refcount blocks say.
  let highest = -1;
  // The file's current length: a rebuilt structure lies past the end the check started with.
  const stored = (c: number): number => {
    const off = rc.blockOffset(c);
    if (off === 0 || off % cs !== 0 || off >= img.file.length()) return 0;
    return rc.get(c);
  };
  const limit = Math.max(fileClusters, 0);
  for (let c = 0; c < limit && !rebuild; c++) {
    if (stored(c) === 0 && refs[c] > 0) rebuild = true;
  }
  // Patching counts in a broken structure could write into clusters it wrongly claims; a rebuild replaces it whole.
  const patch = !rebuild;
  for (let c = 0; c < limit; c++) {
    const have = stored(c);
    const want = refs[c];
    if (have > 0 || want > 0) highest = c;
    if (have === want) continue;
    const canFix = patch && (have > want ? fixLeaks : fixErrors);
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

  if (rebuild && fixErrors) {
    r.messages.push("Rebuilding refcount structure");
    rc.rebuild(refs);
    // Counted again on the new structure: the old one is a leak now, repaired (and printed) but not counted, as QEMU does.
    const again = checkQcow2(img, true, false, false);
    r.messages.push(...again.messages);
    r.corruptionsFixed += r.corruptions - again.corruptions;
    r.leaksFixed += r.leaks;
    r.corruptions = again.corruptions;
    r.leaks = again.leaks;
  } else if (rebuild && fixLeaks) {
    // -r leaks cannot mend a broken structure; QEMU stops the check here.
    r.messages.push("ERROR need to rebuild refcount structures");
    r.checkErrors++;
    r.failed = "Input/output error";
    return r;
  }

  // The COPIED flags of the active tables: -r all repairs them, and so does -r leaks once the
  // refcounts are known to be right (QEMU's check_oflag_copied).
  if (!copiedFlags) return r;
  const repairCopied = fixErrors || (fixLeaks && r.checkErrors === 0 && r.corruptions === 0 && r.leaks === 0);
  let copiedWrong = 0;
  for (let i = 0; i < img.header.l1Size; i++) {
    const e = img.l1Entry(i);
    const l2off = entryOffset(e);
    if (l2off === 0 || l2off % cs !== 0 || l2off >= img.file.length()) continue;
    const n = stored(l2off / cs);
    if ((n === 1) !== ((e.hi & 0x80000000) !== 0)) {
      r.messages.push(`${repairCopied ? "Repairing" : "ERROR"} OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${l2EntryHex(e)} refcount=${n}`);
      copiedWrong++;
      if (repairCopied) r.corruptionsFixed++; else r.corruptions++;
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
        r.messages.push(`${repairCopied ? "Repairing" : "ERROR"} OFLAG_COPIED data cluster: l2_entry=${l2EntryHex(le)} refcount=${m}`);
        copiedWrong++;
        if (repairCopied) r.corruptionsFixed++; else r.corruptions++;
      }
    }
  }
  if (repairCopied && copiedWrong > 0) img.fixCopiedFlags();
  if (fixLeaks || fixErrors) {
    // A repaired image is clean again (QEMU's qcow2_mark_clean and qcow2_mark_consistent).
    if (r.corruptions === 0 && r.checkErrors === 0) img.markClean();
    img.flush();
  }
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
