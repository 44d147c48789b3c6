/** The qcow2 snapshot table: one entry per internal snapshot, each padded to 8 bytes. */
import { put16, put32, put64, u16, u32, u64 } from "../bytes.js";
import { ImageError } from "./header.js";

export interface Qcow2Snapshot {
  l1TableOffset: number;
  l1Size: number;
  id: string;
  name: string;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  vmStateSize: number;
  /** Extra data as found (QEMU 7.2 writes 24 bytes: vm state size, disk size, icount). */
  extra: Uint8Array;
  /** The virtual disk size when the snapshot was taken (from the extra data, or the image's). */
  diskSize: number;
  icount: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Parse `count` entries from `b`; throws ImageError when an entry runs past the table. */
export function parseSnapshots(b: Uint8Array, count: number, imageSize: number): { list: Qcow2Snapshot[]; bytes: number } {
  const list: Qcow2Snapshot[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 40 > b.length) throw new ImageError("snapshot table is truncated");
    const idLen = u16(b, at + 12);
    const nameLen = u16(b, at + 14);
    const extraLen = u32(b, at + 36);
    if (extraLen > 1024) throw new ImageError("Too much extra metadata in snapshot table entry");
    const end = at + 40 + extraLen + idLen + nameLen;
    if (end > b.length) throw new ImageError("snapshot table is truncated");
    const extra = b.slice(at + 40, at + 40 + extraLen);
    const sn: Qcow2Snapshot = {
      l1TableOffset: u64(b, at), l1Size: u32(b, at + 8),
      dateSec: u32(b, at + 16), dateNsec: u32(b, at + 20), vmClockNsec: u64(b, at + 24), vmStateSize: u32(b, at + 32),
      extra, diskSize: extraLen >= 16 ? u64(extra, 8) : imageSize, icount: extraLen >= 24 ? u64(extra, 16) : -1,
      id: decoder.decode(b.subarray(at + 40 + extraLen, at + 40 + extraLen + idLen)),
      name: decoder.decode(b.subarray(at + 40 + extraLen + idLen, end)),
    };
    if (extraLen >= 8) sn.vmStateSize = Math.max(sn.vmStateSize, u64(extra, 0));
    list.push(sn);
    at = (end + 7) & ~7;
  }
  return { list, bytes: at };
}

export function encodeSnapshots(list: Qcow2Snapshot[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const sn of list) {
    const id = encoder.encode(sn.id);
    const name = encoder.encode(sn.name);
    const extra = new Uint8Array(Math.max(sn.extra.length, 24));
    extra.set(sn.extra);
    put64(extra, 8, sn.diskSize);
    if (sn.extra.length < 24) put64(extra, 16, sn.icount < 0 ? 0 : sn.icount);
    const len = (40 + extra.length + id.length + name.length + 7) & ~7;
    const e = new Uint8Array(len);
    put64(e, 0, sn.l1TableOffset); put32(e, 8, sn.l1Size); put16(e, 12, id.length); put16(e, 14, name.length);
    put32(e, 16, sn.dateSec); put32(e, 20, sn.dateNsec); put64(e, 24, sn.vmClockNsec); put32(e, 32, sn.vmStateSize);
    put32(e, 36, extra.length);
    e.set(extra, 40); e.set(id, 40 + extra.length); e.set(name, 40 + extra.length + id.length);
    parts.push(e);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
