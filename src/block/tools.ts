/**
 * What qemu-img does with images, as operations on BlockImage: convert,
 * compare, commit, rebase and map.  Output text is left to the command
 * line; these only move and compare bytes.
 */
import type { BlockImage, BlockStatus } from "./block.js";
import { isZero } from "./bytes.js";
import { Qcow2Image } from "./qcow2/qcow2.js";

const CHUNK = 2 * 1024 * 1024;

/** The status of [offset, offset+length) seen through the whole chain, with depth -1 for "no layer has it". */
export function chainStatus(img: BlockImage, offset: number, length: number): BlockStatus {
  return img.blockStatus(offset, length);
}

/** Number of layers in the chain (1 for an image without backing). */
export function chainLength(img: BlockImage): number {
  let n = 0;
  for (let i: BlockImage | null = img; i !== null; i = i.backing) n++;
  return n;
}

export interface ConvertOptions {
  compress: boolean;
  progress?: (fraction: number) => void;
}

/** Copy every non-zero byte of `src` into `dst` (a fresh image of at least the same size). */
export function convertImage(src: BlockImage, dst: BlockImage, o: ConvertOptions): void {
  const unit = dst instanceof Qcow2Image ? Math.max(dst.clusterSize, 65536) : CHUNK;
  const step = dst instanceof Qcow2Image && o.compress ? dst.clusterSize : unit;
  const buf = new Uint8Array(step);
  let offset = 0;
  let lastReport = -1;
  while (offset < src.size) {
    const n = Math.min(step, src.size - offset);
    const s = src.blockStatus(offset, n);
    if (s.zero && !s.data && s.length === n) {
      offset += n;
    } else {
      const part = buf.subarray(0, n);
      src.read(offset, part);
      if (!isZero(part)) {
        if (o.compress && dst instanceof Qcow2Image) {
          const whole = n === step ? part : padded(part, step);
          dst.writeCompressed(offset / dst.clusterSize, whole);
        } else {
          dst.write(offset, part);
        }
      }
      offset += n;
    }
    if (o.progress !== undefined) {
      const pct = Math.floor(offset / src.size * 100);
      if (pct !== lastReport) { lastReport = pct; o.progress(offset / src.size); }
    }
  }
  dst.flush();
}

function padded(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

/** The first offset (in 512-byte sectors, as qemu-img reports) where `a` and `b` differ, or -1; the longer image's extra bytes must be zero. */
export function compareImages(a: BlockImage, b: BlockImage): number {
  const common = Math.min(a.size, b.size);
  const ba = new Uint8Array(CHUNK);
  const bb = new Uint8Array(CHUNK);
  for (let off = 0; off < common; off += CHUNK) {
    const n = Math.min(CHUNK, common - off);
    const sa = a.blockStatus(off, n);
    const sb = b.blockStatus(off, n);
    if (sa.zero && sb.zero && !sa.data && !sb.data && sa.length === n && sb.length === n) continue;
    a.read(off, ba.subarray(0, n));
    b.read(off, bb.subarray(0, n));
    for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return off + i - (i % 512);
  }
  const longer = a.size > b.size ? a : b;
  for (let off = common; off < longer.size; off += CHUNK) {
    const n = Math.min(CHUNK, longer.size - off);
    longer.read(off, ba.subarray(0, n));
    for (let i = 0; i < n; i++) if (ba[i] !== 0) return off + i - (i % 512);
  }
  return -1;
}

/** Copy what `top` itself holds into its backing image (opened for writing as `base`), then empty `top`. */
export function commitImage(top: Qcow2Image, base: BlockImage, empty: boolean): void {
  const buf = new Uint8Array(CHUNK);
  for (let off = 0; off < top.size;) {
    const s = top.blockStatus(off, Math.min(CHUNK, top.size - off));
    if (s.depth === 0 && off < base.size) {
      const n = Math.min(s.length, base.size - off);
      if (s.zero) base.writeZeroes(off, n, false);
      else { top.read(off, buf.subarray(0, n)); base.write(off, buf.subarray(0, n)); }
    }
    off += s.length;
  }
  base.flush();
  if (empty) top.makeEmpty();
}

/**
 * Safe rebase: where `img` has nothing of its own and the old and new
 * backing images differ, copy the old backing's bytes into `img`.
 */
export function rebaseImage(img: Qcow2Image, oldBacking: BlockImage | null, newBacking: BlockImage | null): void {
  const cs = img.clusterSize;
  const a = new Uint8Array(cs);
  const b = new Uint8Array(cs);
  const readOr0 = (i: BlockImage | null, off: number, into: Uint8Array): void => {
    into.fill(0);
    if (i === null || off >= i.size) return;
    i.read(off, into.subarray(0, Math.min(into.length, i.size - off)));
  };
  for (let off = 0; off < img.size; off += cs) {
    const n = Math.min(cs, img.size - off);
    const s = img.blockStatus(off, n);
    if (s.depth === 0 && s.length === n) continue;
    readOr0(oldBacking, off, a.subarray(0, n));
    readOr0(newBacking, off, b.subarray(0, n));
    let same = true;
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) { same = false; break; }
    if (same) continue;
    // Only the parts this image does not hold itself.
    for (let p = 0; p < n;) {
      const st = img.blockStatus(off + p, n - p);
      if (st.depth !== 0) img.write(off + p, a.subarray(p, p + st.length));
      p += st.length;
    }
  }
}
