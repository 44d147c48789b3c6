/**
 * The machine- and supervisor-level CSRs of a system hart (privileged spec
 * 1.12, as QEMU 7.2's rv64 implements the parts Linux and OpenSBI use).
 * Registered into the CSR table by the system emulator only.
 */
import { registerCsrs, type CsrDef } from "./csr.js";
import type { RiscvCpu } from "./cpu.js";
import { Counter, counterValue, writeCounter, writeCountInhibit } from "./counters.js";
import { pmpUpdate } from "./pmp.js";
import { TRIGGER_CSRS } from "./triggers.js";
import { type HartState, MSTATUS_WRITABLE, Mstatus, S_INTERRUPTS, SSTATUS_MASK, SatpMode, Irq } from "./hart-state.js";

const TWO32 = 4294967296;
/** misa: MXL = 64-bit; extensions A, C, D, F, I, M, S, U. */
const MISA_LO = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);
const MISA_HI = 0x80000000 | 0;
/** Exceptions that medeleg can hand to S-mode (not ecall from M). */
const MEDELEG_WRITABLE = 0xb3ff;
/** mip bits software may write at M level besides SEIP (see writeMip). */
const MIP_WRITABLE = Irq.SSI | Irq.STI;
/** menvcfg/senvcfg: FIOM, CBIE, CBCFE, CBZE. */
const ENVCFG_WRITABLE = 0xf1;

const asNumber = (lo: number, hi: number): number => hi * TWO32 + (lo >>> 0);

function setNumber(cpu: RiscvCpu, v: number): void {
  cpu.tmpLo = v | 0;
  cpu.tmpHi = Math.floor(v / TWO32) | 0;
}

function set(cpu: RiscvCpu, lo: number, hi: number): void {
  cpu.tmpLo = lo;
  cpu.tmpHi = hi;
}

/** mstatus as read: SD set when FS is Dirty; UXL = SXL = 64-bit. */
function readMstatus(cpu: RiscvCpu, mask: number): void {
  const m = cpu.state.mstatus & mask;
  const sd = (cpu.state.mstatus & Mstatus.FS) === Mstatus.FS ? 0x80000000 : 0;
  set(cpu, m, (mask === SSTATUS_MASK ? 0x2 : 0xa) | sd);
}

/** The mstatus bits whose change alone (MPP: without MPRV) leaves translation and FP state as they were. */
const QUIET_MSTATUS = Mstatus.SIE | Mstatus.MIE | Mstatus.SPIE | Mstatus.MPIE | Mstatus.SPP | Mstatus.MPP;

/**
 * Write mstatus (or sstatus, through `mask`).  Returns false when only the
 * interrupt-enable and previous-privilege bits changed (Linux clears and sets
 * SIE around every critical section): the run loop need not look, unless an
 * interrupt became takeable, which the interpreter checks after every write.
 */
function writeMstatus(cpu: RiscvCpu, lo: number, mask: number): boolean {
  const st = cpu.state;
  const old = st.mstatus;
  let v = (old & ~mask) | (lo & mask);
  // MPP is WARL: 2 (reserved) reads back as U.
  if (((v & Mstatus.MPP) >>> Mstatus.MPP_SHIFT) === 2) v &= ~Mstatus.MPP;
  st.mstatus = v;
  cpu.fpOff = (v & Mstatus.FS) === 0;
  // SUM, MXR, MPRV (and MPP under MPRV) change how addresses translate; the
  // interrupt-enable bits, written far more often, do not.  S mode has a TLB
  // for each value of SUM, so SUM alone only switches between them (unless
  // MPRV has M-mode accesses translated, in M mode's TLB).
  const changed = old ^ v;
  if ((changed & (Mstatus.MXR | Mstatus.MPRV)) !== 0 ||
    ((v & Mstatus.MPRV) !== 0 && (changed & (Mstatus.MPP | Mstatus.SUM)) !== 0)) {
    cpu.flushTlbs();
    return true;
  }
  if ((changed & Mstatus.SUM) !== 0) {
    cpu.selectTlb();
    return true;
  }
  return (changed & ~QUIET_MSTATUS) !== 0;
}

/** A trap-vector write: modes 0 (direct) and 1 (vectored) are kept, others ignored as QEMU does. */
function writeTvec(lo: number, hi: number, old: number): number {
  if ((lo & 3) >= 2) return old;
  return asNumber(lo, hi);
}

function writeSatp(cpu: RiscvCpu, lo: number, hi: number): void {
  const mode = hi >>> 28;
  if (mode !== SatpMode.BARE && mode !== SatpMode.SV39 && mode !== SatpMode.SV48) return;
  const st = cpu.state;
  st.satpMode = mode;
  st.satpAsid = (hi >>> 12) & 0xffff;
  // A small integer when the number is one (every root a guest's RAM can hold), so that V8 keeps the
  // field as one: a double stored there once changes the hart state's hidden class, and an optimised
  // interpreter compiled against the old one is thrown away (docs/performance.md).
  const ppnHi = hi & 0xfff;
  st.satpPpn = ppnHi === 0 ? lo >>> 0 : ppnHi * TWO32 + (lo >>> 0);
  cpu.flushTlbs();
}

/**
 * A write of mip.  SEIP goes to the software bit, not to the PLIC's line.
 * csrrs/csrrc compute the new value from what mip read, which includes the
 * line; the spec leaves the line out of that read-modify-write.  The write
 * handler cannot tell the two apart, so while the line is high and the
 * software bit clear, a 1 in SEIP is taken to come from the read.
 */
function writeMip(cpu: RiscvCpu, lo: number): void {
  const st = cpu.state;
  st.mip = (st.mip & ~MIP_WRITABLE) | (lo & MIP_WRITABLE);
  const lineHigh = (st.mip & Irq.SEI) !== 0;
  st.seipSoftware = (lo & Irq.SEI) !== 0 && (st.seipSoftware !== 0 || !lineHigh) ? Irq.SEI : 0;
}

function pmpcfgDef(num: number): CsrDef {
  const first = (num - 0x3a0) * 4; // pmpcfg0 holds entries 0-7, pmpcfg2 entries 8-15
  return {
    num, name: `pmpcfg${num - 0x3a0}`,
    read(cpu) {
      const c = cpu.state.pmpcfg;
      set(cpu, c[first] | (c[first + 1] << 8) | (c[first + 2] << 16) | (c[first + 3] << 24),
        c[first + 4] | (c[first + 5] << 8) | (c[first + 6] << 16) | (c[first + 7] << 24));
    },
    write(cpu, lo, hi) {
      const c = cpu.state.pmpcfg;
      for (let i = 0; i < 8; i++) {
        if ((c[first + i] & 0x80) !== 0) continue; // locked
        let b = ((i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4))) & 0xff) & 0x9f;
        if ((b & 3) === 2) b &= ~3; // W without R is reserved: keep neither
        c[first + i] = b;
      }
      pmpUpdate(cpu.state);
      cpu.flushTlbs();
    },
  };
}

function pmpaddrDef(i: number): CsrDef {
  return {
    num: 0x3b0 + i, name: `pmpaddr${i}`,
    read(cpu) { set(cpu, cpu.state.pmpaddrLo[i], cpu.state.pmpaddrHi[i]); },
    write(cpu, lo, hi) {
      const st = cpu.state;
      if ((st.pmpcfg[i] & 0x80) !== 0) return;
      // A TOR entry's address is also locked when the next entry is a locked TOR.
      if (i < 15 && (st.pmpcfg[i + 1] & 0x98) === 0x88) return;
      st.pmpaddrLo[i] = lo;
      st.pmpaddrHi[i] = hi & 0x3fffff;
      st.pmpaddr[i] = asNumber(lo, hi & 0x3fffff);
      pmpUpdate(st);
      cpu.flushTlbs();
    },
  };
}

/** The HartState fields that hold numbers. */
type NumberField = { [K in keyof HartState]: HartState[K] extends number ? K : never }[keyof HartState];

/** A register that keeps any 64-bit value written (scratch, cause, tval): its halves in two HartState fields. */
function storage64(num: number, name: string, lo: NumberField, hi: NumberField): CsrDef {
  return {
    num, name,
    read(cpu) { set(cpu, cpu.state[lo], cpu.state[hi]); },
    write(cpu, l, h) { cpu.state[lo] = l; cpu.state[hi] = h; return false; },
  };
}

/** A register of constant value (identification, unimplemented counters): reads the value, ignores writes. */
/** Whether `cpu` is a system hart, for registers a user-mode hart does not have. */
function onSystemHart(cpu: RiscvCpu): boolean {
  return cpu.system;
}

function constant(num: number, name: string, value = 0, writable = true): CsrDef {
  const def: CsrDef = { num, name, read(cpu) { setNumber(cpu, value); } };
  return writable ? { ...def, write() { /* WARL: nothing to keep */ } } : def;
}

const defs: CsrDef[] = [
  // Supervisor
  {
    num: 0x100, name: "sstatus",
    read(cpu) { readMstatus(cpu, SSTATUS_MASK); },
    write(cpu, lo) { return writeMstatus(cpu, lo, SSTATUS_MASK); },
  },
  {
    num: 0x104, name: "sie",
    read(cpu) { set(cpu, cpu.state.mie & cpu.state.mideleg, 0); },
    write(cpu, lo) { const st = cpu.state; st.mie = (st.mie & ~st.mideleg) | (lo & st.mideleg & S_INTERRUPTS); },
  },
  {
    num: 0x105, name: "stvec",
    read(cpu) { setNumber(cpu, cpu.state.stvec); },
    write(cpu, lo, hi) { cpu.state.stvec = writeTvec(lo, hi, cpu.state.stvec); },
  },
  {
    num: 0x106, name: "scounteren",
    read(cpu) { set(cpu, cpu.state.scounteren, 0); },
    write(cpu, lo) { cpu.state.scounteren = lo; },
  },
  {
    num: 0x10a, name: "senvcfg",
    read(cpu) { set(cpu, cpu.state.senvcfg, 0); },
    write(cpu, lo) { cpu.state.senvcfg = lo & ENVCFG_WRITABLE; },
  },
  storage64(0x140, "sscratch", "sscratchLo", "sscratchHi"),
  {
    num: 0x141, name: "sepc",
    read(cpu) { setNumber(cpu, cpu.state.sepc); },
    write(cpu, lo, hi) { cpu.state.sepc = asNumber(lo & ~1, hi); return false; },
  },
  storage64(0x142, "scause", "scauseLo", "scauseHi"),
  storage64(0x143, "stval", "stvalLo", "stvalHi"),
  {
    num: 0x144, name: "sip",
    read(cpu) { set(cpu, (cpu.state.mip | cpu.state.seipSoftware) & cpu.state.mideleg, 0); },
    // Only SSIP is writable from S-mode.
    write(cpu, lo) {
      const st = cpu.state;
      const mask = Irq.SSI & st.mideleg;
      st.mip = (st.mip & ~mask) | (lo & mask);
    },
  },
  {
    num: 0x180, name: "satp",
    read(cpu) {
      const st = cpu.state;
      set(cpu, st.satpPpn | 0, (st.satpMode << 28) | (st.satpAsid << 12) | Math.floor(st.satpPpn / TWO32));
    },
    write(cpu, lo, hi) { writeSatp(cpu, lo, hi); },
  },
  // Machine
  constant(0xf11, "mvendorid", 0, false),
  constant(0xf12, "marchid", 0, false),
  constant(0xf13, "mimpid", 0, false),
  { num: 0xf14, name: "mhartid", read(cpu) { set(cpu, cpu.state.mhartid, 0); } },
  constant(0xf15, "mconfigptr", 0, false),
  {
    num: 0x300, name: "mstatus",
    read(cpu) { readMstatus(cpu, -1); },
    write(cpu, lo) { return writeMstatus(cpu, lo, MSTATUS_WRITABLE); },
  },
  { num: 0x301, name: "misa", read(cpu) { set(cpu, MISA_LO, MISA_HI); }, write() { /* fixed */ } },
  {
    num: 0x302, name: "medeleg",
    read(cpu) { set(cpu, cpu.state.medeleg, 0); },
    write(cpu, lo) { cpu.state.medeleg = lo & MEDELEG_WRITABLE; },
  },
  {
    num: 0x303, name: "mideleg",
    read(cpu) { set(cpu, cpu.state.mideleg, 0); },
    write(cpu, lo) { cpu.state.mideleg = lo & S_INTERRUPTS; },
  },
  {
    num: 0x304, name: "mie",
    read(cpu) { set(cpu, cpu.state.mie, 0); },
    write(cpu, lo) { cpu.state.mie = lo & (S_INTERRUPTS | Irq.MSI | Irq.MTI | Irq.MEI); },
  },
  {
    num: 0x305, name: "mtvec",
    read(cpu) { setNumber(cpu, cpu.state.mtvec); },
    write(cpu, lo, hi) { cpu.state.mtvec = writeTvec(lo, hi, cpu.state.mtvec); },
  },
  {
    num: 0x306, name: "mcounteren",
    read(cpu) { set(cpu, cpu.state.mcounteren, 0); },
    write(cpu, lo) { cpu.state.mcounteren = lo; },
  },
  {
    num: 0x30a, name: "menvcfg",
    read(cpu) { set(cpu, cpu.state.menvcfgLo, 0); },
    write(cpu, lo) { cpu.state.menvcfgLo = lo & ENVCFG_WRITABLE; },
  },
  {
    num: 0x320, name: "mcountinhibit",
    read(cpu) { set(cpu, cpu.state.mcountinhibit, 0); },
    write(cpu, lo) { writeCountInhibit(cpu, lo); },
  },
  storage64(0x340, "mscratch", "mscratchLo", "mscratchHi"),
  {
    num: 0x341, name: "mepc",
    read(cpu) { setNumber(cpu, cpu.state.mepc); },
    write(cpu, lo, hi) { cpu.state.mepc = asNumber(lo & ~1, hi); return false; },
  },
  storage64(0x342, "mcause", "mcauseLo", "mcauseHi"),
  storage64(0x343, "mtval", "mtvalLo", "mtvalHi"),
  {
    num: 0x344, name: "mip",
    read(cpu) { set(cpu, cpu.state.mip | cpu.state.seipSoftware, 0); },
    write(cpu, lo) { writeMip(cpu, lo); },
  },
  pmpcfgDef(0x3a0),
  pmpcfgDef(0x3a2),
  ...Array.from({ length: 16 }, (_, i) => pmpaddrDef(i)),
  {
    num: 0xb00, name: "mcycle",
    read(cpu) { setNumber(cpu, counterValue(cpu, Counter.CYCLE)); },
    write(cpu, lo, hi) { writeCounter(cpu, Counter.CYCLE, asNumber(lo, hi)); },
  },
  {
    num: 0xb02, name: "minstret",
    read(cpu) { setNumber(cpu, counterValue(cpu, Counter.INSTRET)); },
    write(cpu, lo, hi) { writeCounter(cpu, Counter.INSTRET, asNumber(lo, hi)); },
  },
  // hpm counters and events exist and read zero, as on QEMU without a PMU configured.
  ...Array.from({ length: 29 }, (_, i) => constant(0xb03 + i, `mhpmcounter${i + 3}`)),
  ...Array.from({ length: 29 }, (_, i) => constant(0x323 + i, `mhpmevent${i + 3}`)),
  // User mode has none (its counters are csr.ts's), also once a user-mode run has made these exist (warm-up.ts).
  ...Array.from({ length: 29 }, (_, i) => ({ ...constant(0xc03 + i, `hpmcounter${i + 3}`, 0, false), present: onSystemHart })),
  ...TRIGGER_CSRS,
];

let registered = false;
/** Make the privileged CSRs exist (idempotent). */
export function registerPrivilegedCsrs(): void {
  if (registered) return;
  registerCsrs(defs);
  registered = true;
}
