/**
 * A Linux process's address space: a list of mappings (start, end,
 * protection) and a page table from guest pages to host pages of the RAM
 * pool.  Pages are given host memory on first touch, zero-filled, as the
 * kernel does; this is what lets a Go program reserve gigabytes it never
 * uses.  Guest addresses are plain JS numbers (user addresses are below
 * 2^47, so exact).
 */
import { Cause, type CpuMemory, type RiscvCpu } from "../../target/riscv/cpu.js";
import { GuestRam } from "../../target/riscv/ram.js";
import { Access, PAGE_SHIFT, PAGE_SIZE } from "../../target/riscv/tlb.js";

export const enum Prot { NONE = 0, READ = 1, WRITE = 2, EXEC = 4 }

export interface Mapping {
  start: number;
  end: number;
  prot: number;
  /** What /proc/self/maps would name it. */
  name: string;
}

/** Highest user address + 1 (Sv48-sized user half, as QEMU's riscv64 linux-user). */
export const USER_TOP = 2 ** 47;
const TWO32 = 4294967296;
/** Host memory reserved for guest pages: the OS commits only what is touched. */
const DEFAULT_POOL = 2 ** 31 - PAGE_SIZE;

export class OutOfMemory extends Error {}

/**
 * Host pages of one RAM pool, handed out to address spaces.  execve builds
 * the new image in a second address space over the same pool while the old
 * one still exists, so the pool, not the address space, owns the free list.
 */
export class HostPages {
  private nextFresh = 1; // host page 0 stays unused
  private readonly free: number[] = [];

  constructor(readonly ram: GuestRam) {}

  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) {
      this.ram.u8.fill(0, reused << PAGE_SHIFT, (reused + 1) << PAGE_SHIFT);
      return reused;
    }
    if (this.nextFresh >= this.ram.pages) throw new OutOfMemory("guest memory exhausted");
    return this.nextFresh++;
  }

  release(host: number): void {
    this.ram.dropCode(host);
    this.free.push(host);
  }
}

export class AddressSpace implements CpuMemory {
  readonly ram: GuestRam;
  /** Sorted, non-overlapping mappings. */
  mappings: Mapping[] = [];
  /** Guest page number -> host page * 8 + prot. */
  private readonly pages = new Map<number, number>();
  readonly hostPages: HostPages;
  brkStart = 0;
  brk = 0;
  /** Where mmap without a hint looks first. */
  mmapBase = 0x4000000000;

  constructor(hostPages?: HostPages) {
    this.hostPages = hostPages ?? new HostPages(new GuestRam(DEFAULT_POOL));
    this.ram = this.hostPages.ram;
  }

  // ---- CpuMemory ----

  translate(cpu: RiscvCpu, hi: number, lo: number, access: Access): number {
    const addr = hi * TWO32 + (lo >>> 0);
    const vpn = Math.floor(addr / PAGE_SIZE);
    const need = access === Access.READ ? Prot.READ : access === Access.WRITE ? Prot.WRITE : Prot.EXEC;
    let e = this.pages.get(vpn);
    if (e === undefined) {
      const m = addr >= 0 && addr < USER_TOP ? this.find(addr) : undefined;
      if (m === undefined || (m.prot & need) === 0) {
        cpu.raise(faultCause(access), hi, lo);
        return -1;
      }
      e = this.materialize(vpn, m.prot);
    }
    if ((e & need) === 0) {
      cpu.raise(faultCause(access), hi, lo);
      return -1;
    }
    const hostBase = (e >>> 3) << PAGE_SHIFT;
    cpu.fillTlb(access, hi, lo, hostBase);
    return hostBase + (lo & (PAGE_SIZE - 1));
  }

  // ---- mappings ----

  /** The mapping containing addr, if any. */
  find(addr: number): Mapping | undefined {
    const ms = this.mappings;
    let lo = 0;
    let hi = ms.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = ms[mid];
      if (addr < m.start) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  /** Whether [start, end) overlaps no mapping. */
  isFree(start: number, end: number): boolean {
    for (const m of this.mappings) if (m.start < end && start < m.end) return false;
    return true;
  }

  /** Find a free range of `length` bytes at or above `from`. */
  findFree(length: number, from = this.mmapBase): number {
    let start = from;
    for (const m of this.mappings) {
      if (m.end <= start) continue;
      if (m.start >= start + length) break;
      start = m.end;
    }
    return start + length <= USER_TOP ? start : -1;
  }

  /** Map [start, end) fresh (zero-filled on touch), replacing whatever was there. */
  map(start: number, end: number, prot: number, name: string): void {
    this.unmap(start, end);
    const ms = this.mappings;
    let i = 0;
    while (i < ms.length && ms[i].start < start) i++;
    ms.splice(i, 0, { start, end, prot, name });
  }

  /** Remove [start, end) from the mappings, freeing its host pages. */
  unmap(start: number, end: number): void {
    const out: Mapping[] = [];
    for (const m of this.mappings) {
      if (m.end <= start || m.start >= end) { out.push(m); continue; }
      if (m.start < start) out.push({ ...m, end: start });
      if (m.end > end) out.push({ ...m, start: end });
    }
    this.mappings = out;
    this.forEachPage(start, end, (vpn, e) => {
      this.pages.delete(vpn);
      this.releaseHostPage(e >>> 3);
    });
    this.flushTlbs();
  }

  /** Change the protection of [start, end); false when part of it is unmapped. */
  protect(start: number, end: number, prot: number): boolean {
    let covered = start;
    for (const m of this.mappings) {
      if (m.end <= covered) continue;
      if (m.start > covered || covered >= end) break;
      covered = m.end;
    }
    if (covered < end) return false;
    const out: Mapping[] = [];
    for (const m of this.mappings) {
      if (m.end <= start || m.start >= end) { out.push(m); continue; }
      if (m.start < start) out.push({ ...m, end: start });
      out.push({ ...m, start: Math.max(m.start, start), end: Math.min(m.end, end), prot });
      if (m.end > end) out.push({ ...m, start: end });
    }
    this.mappings = out;
    this.forEachPage(start, end, (vpn, e) => this.pages.set(vpn, (e & ~7) | prot));
    this.flushTlbs();
    return true;
  }

  private forEachPage(start: number, end: number, f: (vpn: number, e: number) => void): void {
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.ceil(end / PAGE_SIZE);
    if (last - first < this.pages.size) {
      for (let vpn = first; vpn < last; vpn++) {
        const e = this.pages.get(vpn);
        if (e !== undefined) f(vpn, e);
      }
    } else {
      for (const [vpn, e] of this.pages) if (vpn >= first && vpn < last) f(vpn, e);
    }
  }

  flushTlbs(): void {
    for (const t of this.ram.tlbs) t.flushAll();
  }

  // ---- host pages ----

  private materialize(vpn: number, prot: number): number {
    const host = this.allocHostPage();
    const e = host * 8 + prot;
    this.pages.set(vpn, e);
    return e;
  }

  private allocHostPage(): number {
    return this.hostPages.alloc();
  }

  private releaseHostPage(host: number): void {
    this.hostPages.release(host);
  }

  /** Host byte offset of the guest page holding addr, materializing it (no protection check). */
  hostOffset(addr: number): number {
    const vpn = Math.floor(addr / PAGE_SIZE);
    let e = this.pages.get(vpn);
    if (e === undefined) {
      const m = this.find(addr);
      if (m === undefined) return -1;
      e = this.materialize(vpn, m.prot);
    }
    return ((e >>> 3) << PAGE_SHIFT) + (addr & (PAGE_SIZE - 1));
  }

  // ---- fork ----

  /** Every materialized page: guest page number, protection, host page. */
  materializedPages(): [number, number, number][] {
    const out: [number, number, number][] = [];
    for (const [vpn, e] of this.pages) out.push([vpn, e & 7, e >>> 3]);
    return out;
  }

  /** Give guest page vpn (inside a mapping) the contents `data`. */
  restorePage(vpn: number, prot: number, data: Uint8Array): void {
    const e = this.materialize(vpn, prot);
    this.ram.u8.set(data, (e >>> 3) << PAGE_SHIFT);
  }

  // ---- bulk access for the kernel side (syscalls, loader) ----

  /** Whether every byte of [addr, addr+len) is mapped with `prot`. */
  check(addr: number, len: number, prot: number): boolean {
    if (len === 0) return true;
    if (addr < 0 || addr + len > USER_TOP) return false;
    let a = addr;
    const end = addr + len;
    while (a < end) {
      const m = this.find(a);
      if (m === undefined || (m.prot & prot) !== prot) return false;
      a = m.end;
    }
    return true;
  }

  /** Copy guest memory out (caller checked access). */
  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
      const h = this.hostOffset(a);
      out.set(this.ram.u8.subarray(h, h + n), done);
      done += n;
    }
    return out;
  }

  /** Copy bytes into guest memory (caller checked access); drops decoded code it overwrites. */
  write(addr: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = addr + done;
      const n = Math.min(data.length - done, PAGE_SIZE - (a % PAGE_SIZE));
      const h = this.hostOffset(a);
      this.ram.dropCode(h >>> PAGE_SHIFT);
      this.ram.u8.set(data.subarray(done, done + n), h);
      done += n;
    }
  }

  /** Read a NUL-terminated string of at most `max` bytes; undefined when unmapped or too long. */
  readCString(addr: number, max = 4096): Uint8Array | undefined {
    const bytes: number[] = [];
    for (let a = addr; bytes.length < max; a++) {
      if (a % PAGE_SIZE === 0 || a === addr) {
        if (!this.check(a, 1, Prot.READ)) return undefined;
      }
      const b = this.ram.u8[this.hostOffset(a)];
      if (b === 0) return Uint8Array.from(bytes);
      bytes.push(b);
    }
    return undefined;
  }

  readU64(addr: number): bigint {
    const b = this.read(addr, 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  writeU64(addr: number, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.write(addr, b);
  }

  readU32(addr: number): number {
    const b = this.read(addr, 4);
    return new DataView(b.buffer).getUint32(0, true);
  }

  writeU32(addr: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.write(addr, b);
  }
}

function faultCause(access: Access): Cause {
  return access === Access.READ ? Cause.LOAD_PAGE_FAULT
    : access === Access.WRITE ? Cause.STORE_PAGE_FAULT : Cause.INSN_PAGE_FAULT;
}
