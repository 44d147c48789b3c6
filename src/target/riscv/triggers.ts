/**
 * The debug triggers of Sdtrig (the RISC-V debug specification's trigger
 * module) as QEMU 7.2 has them on its virt board's harts: two address/data
 * match triggers, each of type 2 (mcontrol) or type 6 (mcontrol6), selected
 * by tselect and described by tdata1 and tdata2; tdata3 reads zero, tinfo
 * says which types there are.  A trigger whose mode bit matches the current
 * privilege level raises a breakpoint exception (tval 0) before the
 * instruction it matches runs: an execute trigger at its address, a load or
 * store trigger on an access that overlaps its bytes.
 *
 * What QEMU keeps of a tdata1 write (read back from qemu-system-riscv64 7.2
 * by test/guest-system/triggers.c): the type, if 2 or 6 (any other write is
 * ignored); the U, S, M, load, store and execute bits; for type 6 also VU
 * and VS; the size field only when it names a size QEMU supports; nothing
 * else (dmode, match, chain, action, timing, select, hit are always zero).
 */
import { Cause, type RiscvCpu } from "./cpu.js";
import type { CsrDef } from "./csr.js";

export const TRIGGER_COUNT = 2;
const TWO32 = 4294967296;

const TYPE_MCONTROL = 2, TYPE_MCONTROL6 = 6;
/** tinfo: the types a trigger can take. */
const TINFO = (1 << TYPE_MCONTROL) | (1 << TYPE_MCONTROL6);

/** tdata1 bits 31:0 of both types. */
const LOAD = 1 << 0, STORE = 1 << 1, EXEC = 1 << 2, MODES = (1 << 3) | (1 << 4) | (1 << 6);
const KEPT = LOAD | STORE | EXEC | MODES;
/** mcontrol: sizelo (17:16) and sizehi (22:21); mcontrol6: size (19:16), VU (23), VS (24). */
const SIZELO = 3 << 16, SIZEHI = 3 << 21, SIZE6 = 15 << 16, VU_VS = 3 << 23;
/** Bytes an access-size encoding matches (0: any, which QEMU watches as 8 bytes), -1 where QEMU has none. */
const ACCESS_SIZE = [8, 1, 2, 4, -1, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1];

function sizeCode(type: number, lo: number): number {
  return type === TYPE_MCONTROL ? (((lo >>> 21) & 3) << 2) | ((lo >>> 16) & 3) : (lo >>> 16) & 15;
}

export class Triggers {
  select = 0;
  /** tdata1 and tdata2 of each trigger as int32 halves. */
  readonly tdata1Lo = new Int32Array(TRIGGER_COUNT);
  readonly tdata1Hi = new Int32Array(TRIGGER_COUNT);
  readonly tdata2Lo = new Int32Array(TRIGGER_COUNT);
  readonly tdata2Hi = new Int32Array(TRIGGER_COUNT);
  /** Some trigger is enabled for execution (the hart then runs one instruction at a time) / for loads or stores. */
  exec = false;
  data = false;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.select = 0;
    this.tdata1Lo.fill(0);
    this.tdata1Hi.fill(TYPE_MCONTROL << 28);
    this.tdata2Lo.fill(0);
    this.tdata2Hi.fill(0);
    this.update();
  }

  writeTdata1(lo: number, hi: number): void {
    const type = (hi >>> 28) & 15;
    if (type !== TYPE_MCONTROL && type !== TYPE_MCONTROL6) return;
    let kept = lo & (type === TYPE_MCONTROL6 ? KEPT | VU_VS : KEPT);
    if (ACCESS_SIZE[sizeCode(type, lo)] >= 0) kept |= lo & (type === TYPE_MCONTROL ? SIZELO | SIZEHI : SIZE6);
    this.tdata1Lo[this.select] = kept;
    this.tdata1Hi[this.select] = type << 28;
    this.update();
  }

  writeTdata2(lo: number, hi: number): void {
    this.tdata2Lo[this.select] = lo;
    this.tdata2Hi[this.select] = hi;
  }

  /** Whether trigger i is enabled for `kind` (LOAD, STORE, EXEC bits) at privilege level `priv`. */
  private fires(i: number, kind: number, priv: number): boolean {
    const c = this.tdata1Lo[i];
    return (c & kind) !== 0 && ((c >>> 3) & (1 << priv)) !== 0;
  }

  private address(i: number): number {
    return this.tdata2Hi[i] * TWO32 + (this.tdata2Lo[i] >>> 0);
  }

  /** Whether an execute trigger matches the instruction at cpu.pc. */
  execHit(cpu: RiscvCpu): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if (this.fires(i, EXEC, cpu.priv) && this.address(i) === cpu.pc) return true;
    }
    return false;
  }

  /** Whether a load (store) of `size` bytes at (hi, lo) matches a trigger: then the breakpoint exception is raised. */
  dataHit(cpu: RiscvCpu, hi: number, lo: number, size: number, write: boolean): boolean {
    const addr = hi * TWO32 + (lo >>> 0);
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if (!this.fires(i, write ? STORE : LOAD, cpu.priv)) continue;
      const at = this.address(i);
      if (addr < at + this.length(i) && at < addr + size) {
        cpu.raise(Cause.BREAKPOINT, 0, 0);
        return true;
      }
    }
    return false;
  }

  /** Whether a load or store trigger covers a byte of the virtual page holding (hi, lo) (kept out of the TLBs). */
  watchesPage(hi: number, lo: number): boolean {
    const page = Math.floor((hi * TWO32 + (lo >>> 0)) / 4096);
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.tdata1Lo[i] & (LOAD | STORE)) === 0 || (this.tdata1Lo[i] & MODES) === 0) continue;
      const at = this.address(i);
      if (page >= Math.floor(at / 4096) && page <= Math.floor((at + this.length(i) - 1) / 4096)) return true;
    }
    return false;
  }

  private length(i: number): number {
    const type = (this.tdata1Hi[i] >>> 28) & 15;
    const n = ACCESS_SIZE[sizeCode(type, this.tdata1Lo[i])];
    return n > 0 ? n : 8;
  }

  private update(): void {
    let exec = false, data = false;
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const c = this.tdata1Lo[i];
      if ((c & MODES) === 0) continue;
      if ((c & EXEC) !== 0) exec = true;
      if ((c & (LOAD | STORE)) !== 0) data = true;
    }
    this.exec = exec;
    this.data = data;
  }
}

function setNumber(cpu: RiscvCpu, lo: number, hi: number): void {
  cpu.tmpLo = lo;
  cpu.tmpHi = hi;
}

/** The trigger CSRs (M-mode). A write that may change what is watched drops the hart's cached translations. */
export const TRIGGER_CSRS: readonly CsrDef[] = [
  {
    num: 0x7a0, name: "tselect",
    read(cpu) { setNumber(cpu, cpu.state.trig.select, 0); },
    write(cpu, lo, hi) { if (hi === 0 && lo >>> 0 < TRIGGER_COUNT) cpu.state.trig.select = lo; },
  },
  {
    num: 0x7a1, name: "tdata1",
    read(cpu) { const t = cpu.state.trig; setNumber(cpu, t.tdata1Lo[t.select], t.tdata1Hi[t.select]); },
    write(cpu, lo, hi) { cpu.state.trig.writeTdata1(lo, hi); cpu.flushTlbs(); },
  },
  {
    num: 0x7a2, name: "tdata2",
    read(cpu) { const t = cpu.state.trig; setNumber(cpu, t.tdata2Lo[t.select], t.tdata2Hi[t.select]); },
    write(cpu, lo, hi) { cpu.state.trig.writeTdata2(lo, hi); cpu.flushTlbs(); },
  },
  // tdata3 (textra) holds nothing on QEMU 7.2: writes are dropped.
  { num: 0x7a3, name: "tdata3", read(cpu) { setNumber(cpu, 0, 0); }, write() { /* always zero */ } },
  { num: 0x7a4, name: "tinfo", read(cpu) { setNumber(cpu, TINFO, 0); } },
];
