/**
 * Physical memory protection (privileged spec 3.7): up to 16 regions, each
 * OFF, TOR, NA4 or NAPOT, checked in order; the first one that holds the
 * address decides.  M-mode passes unless the entry is locked; S and U fail
 * when nothing matches (once any entry is in use).
 */
import { Access } from "./tlb.js";
import { Priv } from "./cpu.js";
import type { HartState } from "./hart-state.js";

/** Results of pmpCheck. */
export const enum PmpResult { DENY = 0, ALLOW_PAGE, ALLOW_ADDRESS }

const R = 1, W = 2, X = 4, L = 0x80;
const PAGE = 4096;

function trailingOnes(v: number): number {
  return v === -1 ? 32 : 31 - Math.clz32(~v & (v + 1));
}

/** [start, end) of entry i in bytes, or undefined when it is off. */
function range(st: HartState, i: number): [number, number] | undefined {
  const mode = (st.pmpcfg[i] >>> 3) & 3;
  const a = st.pmpaddr[i];
  switch (mode) {
    case 1: return [i === 0 ? 0 : st.pmpaddr[i - 1] * 4, a * 4];
    case 2: return [a * 4, a * 4 + 4];
    case 3: {
      // Trailing ones of the exact register give the size: 2^(t+3) bytes.
      const lo = st.pmpaddrLo[i];
      const hi = st.pmpaddrHi[i];
      const t = lo === -1 ? 32 + trailingOnes(hi) : trailingOnes(lo);
      const clearedLo = t >= 32 ? 0 : lo & ~((2 ** t) - 1);
      const clearedHi = t <= 32 ? hi : hi & ~((2 ** (t - 32)) - 1);
      const base = (clearedHi * 4294967296 + (clearedLo >>> 0)) * 4;
      return [base, base + 2 ** (t + 3)];
    }
    default: return undefined;
  }
}

/** Recompute the byte ranges of the PMP entries after a pmpcfg or pmpaddr write (checks run on every TLB miss). */
export function pmpUpdate(st: HartState): void {
  st.pmpCount = 0;
  for (let i = 0; i < 16; i++) {
    const r = range(st, i);
    if (r === undefined) {
      st.pmpStart[i] = 0;
      st.pmpEnd[i] = 0;
    } else {
      st.pmpStart[i] = r[0];
      st.pmpEnd[i] = r[1];
      st.pmpCount = i + 1;
    }
  }
}

/**
 * May `priv` make `access` at physical `pa`?  ALLOW_PAGE also says the whole
 * 4 KiB page around `pa` has the same answer, so a TLB may cache it.
 */
export function pmpCheck(st: HartState, pa: number, access: Access, priv: number): PmpResult {
  const page = pa - (pa % PAGE);
  const used = st.pmpCount > 0;
  let pageClean = true; // no earlier entry covers only part of this page
  for (let i = 0; i < st.pmpCount; i++) {
    const start = st.pmpStart[i];
    const end = st.pmpEnd[i];
    if (end <= start) continue;
    const overlapsPage = start < page + PAGE && end > page;
    if (pa >= start && pa < end) {
      const cfg = st.pmpcfg[i];
      let ok: boolean;
      if (priv === Priv.M && (cfg & L) === 0) ok = true;
      else ok = (cfg & (access === Access.READ ? R : access === Access.WRITE ? W : X)) !== 0;
      if (!ok) return PmpResult.DENY;
      return pageClean && start <= page && end >= page + PAGE ? PmpResult.ALLOW_PAGE : PmpResult.ALLOW_ADDRESS;
    }
    if (overlapsPage) pageClean = false;
  }
  if (used && priv !== Priv.M) return PmpResult.DENY;
  return pageClean ? PmpResult.ALLOW_PAGE : PmpResult.ALLOW_ADDRESS;
}
