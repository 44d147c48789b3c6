/**
 * Address translation for a debugger (gdb stub, monitor) on a system hart:
 * the hart's current data translation (its privilege, MPRV, satp) walked
 * without side effects (no A/D updates, no TLB fill, no trap recorded), as
 * QEMU's get_phys_page_debug.  Permission bits are not checked: a debugger
 * may read any page the tables map.
 */
import { Priv, type RiscvCpu } from "./cpu.js";
import { Mstatus, SatpMode } from "./hart-state.js";
import { Access } from "./tlb.js";
import type { PhysBus } from "./mmu.js";

const TWO32 = 4294967296;
const PAGE = 4096;
const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8;
const PA_LIMIT = 2 ** 56;

/** The physical address `va` (a signed address, as the pc) maps to for `cpu` now, or -1. */
export function debugTranslate(cpu: RiscvCpu, bus: PhysBus, va: number): number {
  const st = cpu.state;
  let priv = cpu.priv;
  if (priv === Priv.M && (st.mstatus & Mstatus.MPRV) !== 0) priv = (st.mstatus & Mstatus.MPP) >>> Mstatus.MPP_SHIFT;
  if (priv === Priv.M || st.satpMode === SatpMode.BARE) return va >= 0 && va < PA_LIMIT ? va : -1;
  const levels = st.satpMode === SatpMode.SV39 ? 3 : 4;
  const hi = Math.floor(va / TWO32) | 0;
  const lo = va | 0;
  const top = hi >> (levels === 3 ? 6 : 15);
  if (top !== 0 && top !== -1) return -1;
  const vpnAll = (hi & 0xffff) * 1048576 + (lo >>> 12);
  const i32 = bus.ram.i32;
  let table = st.satpPpn * PAGE;
  for (let level = levels - 1; level >= 0; level--) {
    const span = 2 ** (9 * level);
    const pteAddr = table + (Math.floor(vpnAll / span) % 512) * 8;
    const host = bus.hostPage(pteAddr - (pteAddr % PAGE), Access.READ);
    if (host < 0) return -1;
    const at = (host + (pteAddr % PAGE)) >> 2;
    const pteLo = i32[at];
    const pteHi = i32[at + 1];
    if ((pteLo & PTE_V) === 0 || (pteLo & (PTE_R | PTE_W)) === PTE_W || (pteHi >>> 22) !== 0) return -1;
    const ppn = (pteHi & 0x3fffff) * 4194304 + (pteLo >>> 10);
    if ((pteLo & (PTE_R | PTE_X)) === 0) {
      table = ppn * PAGE;
      continue;
    }
    if (ppn % span !== 0) return -1;
    return (ppn + (vpnAll % span)) * PAGE + (lo & (PAGE - 1));
  }
  return -1;
}
