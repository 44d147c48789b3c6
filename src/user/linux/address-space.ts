/**
 * A Linux process's address space: a list of mappings (start, end,
 * protection) and a page table from guest pages to host pages of the RAM
 * pool.  Pages are given host memory on first touch, zero-filled, as the
 * kernel does; this is what lets a Go program reserve gigabytes it never
 * uses.  Guest addresses are plain JS numbers (user addresses are below
 * 2^47, so exact).
 *
 * Adjacent mappings that Linux would merge into one VMA (same protection,
 * same kind, contiguous file offsets) are kept merged, because mremap and
 * mincore see VMAs: a mapping grown in place by mremap must shrink again in
 * one call.
 *
 * MAP_SHARED memory is a SharedMemory object (shared-memory.ts) whose host
 * pages every process mapping it uses directly: anonymous, or a file's (one
 * object per file), whose pages are read in on touch and whose changes are
 * written back to the file at each system call (syncShared), so the file
 * sees the guest's stores.
 *
 * fork copies an address space copy-on-write: the child gets the parent's
 * page table with every host page's reference count raised, and the first
 * write to a private page that more than one address space holds copies it.
 */
import { Cause, type CpuMemory, type RiscvCpu } from "../../target/riscv/cpu.js";
import { GuestRam } from "../../target/riscv/ram.js";
import { Access, PAGE_SHIFT, PAGE_SIZE } from "../../target/riscv/tlb.js";
import { closeQuietly, fileSize, reopen, writeChanges } from "./shared-mapping.js";
import { SharedMemory } from "./shared-memory.js";
import { fs } from "../../host/fs.js";

export const enum Prot { NONE = 0, READ = 1, WRITE = 2, EXEC = 4 }

export interface Mapping {
  start: number;
  end: number;
  prot: number;
  /** What /proc/self/maps would name it. */
  name: string;
  /** MAP_SHARED: the host descriptor (owned by the address space) of the file holding the bytes. */
  hostFd?: number;
  /** With hostFd: the file offset of `start`. */
  offset?: number;
  /** False when mprotect may not add PROT_WRITE (a shared map of a descriptor not open for writing). */
  mayWrite?: boolean;
  /** MAP_SHARED|MAP_ANONYMOUS: the memory object (its byte offset of `start` in `offset`). */
  shm?: SharedMemory;
  /**
   * A loaded program's segment: its private pages are filled at first touch
   * from these bytes (the file up to the end of the segment's file part), from
   * byte `offset` for `start`, zeros past their end; Linux reads an ELF
   * program's pages from its file on demand in the same way.
   */
  image?: Uint8Array;
}

/** What a mapping is besides its range, protection and name. */
export type MappingKind = Pick<Mapping, "hostFd" | "offset" | "mayWrite" | "shm" | "image">;

/** The kind of a mapping that continues m at addr (mremap growth): the same file, further on. */
export function continuation(m: Mapping, addr: number): MappingKind {
  const k: MappingKind = {};
  if (m.hostFd !== undefined) k.hostFd = m.hostFd;
  if (m.shm !== undefined) k.shm = m.shm;
  if (m.image !== undefined) k.image = m.image;
  if (m.offset !== undefined) k.offset = m.offset + (addr - m.start);
  if (m.mayWrite !== undefined) k.mayWrite = m.mayWrite;
  return k;
}

/** The part [start, end) of m, its file offset moved along. */
function piece(m: Mapping, start: number, end: number): Mapping {
  const p: Mapping = { ...m, start, end };
  if (m.offset !== undefined) p.offset = m.offset + (start - m.start);
  return p;
}

/** Whether b continues a so that Linux would have one VMA for both. */
function mergeable(a: Mapping, b: Mapping): boolean {
  if (a.end !== b.start || a.prot !== b.prot || a.name !== b.name || a.hostFd !== b.hostFd ||
    a.mayWrite !== b.mayWrite || a.shm !== b.shm || a.image !== b.image) return false;
  return a.offset === undefined || a.offset + (a.end - a.start) === b.offset;
}

/** Highest user address + 1 (Sv48-sized user half, as QEMU's riscv64 linux-user). */
export const USER_TOP = 2 ** 47;
const TWO32 = 4294967296;
/** Host memory reserved for guest pages: the OS commits only what is touched. */
const DEFAULT_POOL = 2 ** 31 - PAGE_SIZE;

export class OutOfMemory extends Error {}

/**
 * Host pages of one RAM pool, handed out to the address spaces of every
 * process (and to shared memory objects), with a reference count each: a
 * page is free again when its last holder lets it go.
 */
export class HostPages {
  private nextFresh = 1; // host page 0 stays unused
  private readonly free: number[] = [];
  /** Holders of each host page (page tables and shared memory objects). */
  private readonly refs: Uint16Array;
  /** Private pages copied on a write after fork, for -d statistics. */
  copies = 0;

  /** The memory objects of files with MAP_SHARED mappings, by "device:inode". */
  readonly files = new Map<string, SharedMemory>();

  constructor(readonly ram: GuestRam) {
    this.refs = new Uint16Array(ram.pages);
  }

  alloc(): number {
    let host = this.free.pop();
    if (host !== undefined) {
      // Its decoded instructions are dropped now, not when it was freed: nothing maps a free page,
      // and an address space torn down at exit then clears none of its code pages' caches.
      this.ram.dropCode(host);
      this.ram.u8.fill(0, host << PAGE_SHIFT, (host + 1) << PAGE_SHIFT);
    } else {
      if (this.nextFresh >= this.ram.pages) throw new OutOfMemory("guest memory exhausted");
      host = this.nextFresh++;
    }
    this.refs[host] = 1;
    return host;
  }

  /** One more holder of `host`. */
  share(host: number): void {
    if (this.refs[host] === 0xffff) throw new OutOfMemory("a page is shared by too many processes");
    this.refs[host]++;
  }

  /** Whether `host` has more than one holder (a private page then copies on write). */
  isShared(host: number): boolean {
    return this.refs[host] > 1;
  }

  release(host: number): void {
    if (--this.refs[host] > 0) return;
    this.free.push(host);
  }
}

/** A page-table entry: host page, a flag for pages of a SharedMemory, and the protection. */
const SHM_PAGE = 8;
const hostOf = (e: number): number => e >>> 4;

export class AddressSpace implements CpuMemory {
  readonly ram: GuestRam;
  /** Sorted, non-overlapping mappings, neighbours merged as Linux merges VMAs. */
  mappings: Mapping[] = [];
  /** Guest page number -> host page * 16 + SHM_PAGE when from a SharedMemory + prot. */
  private readonly pages = new Map<number, number>();
  /**
   * Pages of shared file mappings written since the last syncShared (a
   * page's write TLB entries go at each sync, so the next store comes through
   * translate and marks it again).
   */
  private readonly dirty = new Set<number>();
  readonly hostPages: HostPages;
  brkStart = 0;
  brk = 0;
  /** Where mmap without a hint looks first. */
  mmapBase = 0x4000000000;
  /** Processes using this address space (more than one after vfork or clone with CLONE_VM). */
  users = 1;
  /** The SharedMemory objects this address space maps. */
  private shms = new Set<SharedMemory>();
  /** The most pages it has had resident at once (its high-water RSS, getrusage's ru_maxrss). */
  peakPages = 0;
  /** Pages given host memory on a touch or copied on a write: the minor faults taken on it (ru_minflt). */
  faults = 0;

  constructor(hostPages?: HostPages) {
    this.hostPages = hostPages ?? new HostPages(new GuestRam(DEFAULT_POOL));
    this.ram = this.hostPages.ram;
  }

  // ---- CpuMemory ----

  translate(cpu: RiscvCpu, hi: number, lo: number, access: Access): number {
    // An entry its TLB slot gave up to another page (see tlb.ts).
    const victim = cpu.tlb.victim(access, hi, lo);
    if (victim >= 0) return victim + (lo & (PAGE_SIZE - 1));
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
      e = this.materialize(vpn, m);
    }
    if ((e & need) === 0) {
      cpu.raise(faultCause(access), hi, lo);
      return -1;
    }
    if (access === Access.WRITE) e = this.writing(vpn, e);
    const hostBase = hostOf(e) << PAGE_SHIFT;
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

  /**
   * Map [start, end) fresh, replacing whatever was there: zero-filled on
   * touch, or, for a shared file mapping (kind.hostFd), the file's bytes
   * from kind.offset.
   */
  map(start: number, end: number, prot: number, name: string, kind: MappingKind = {}): void {
    this.unmap(start, end);
    this.insert([{ start, end, prot, name, ...kind }]);
  }

  /** Remove [start, end) from the mappings, freeing its host pages. */
  unmap(start: number, end: number): void {
    this.dropPages(start, end);
    const removed = this.cut(start, end);
    this.closeUnused(removed);
    this.flushTlbs();
  }

  /** Change the protection of [start, end); false when part of it is unmapped. */
  protect(start: number, end: number, prot: number): boolean {
    if (!this.covered(start, end)) return false;
    const out: Mapping[] = [];
    for (const m of this.mappings) {
      if (m.end <= start || m.start >= end) { out.push(m); continue; }
      if (m.start < start) out.push(piece(m, m.start, start));
      out.push({ ...piece(m, Math.max(m.start, start), Math.min(m.end, end)), prot });
      if (m.end > end) out.push(piece(m, end, m.end));
    }
    this.mappings = out;
    this.merge();
    this.forEachPage(start, end, (vpn, e) => this.pages.set(vpn, (e & ~7) | prot));
    this.flushTlbs();
    return true;
  }

  /** Whether every byte of [start, end) is in some mapping. */
  covered(start: number, end: number): boolean {
    let covered = start;
    for (const m of this.mappings) {
      if (m.end <= covered) continue;
      if (m.start > covered || covered >= end) break;
      covered = m.end;
    }
    return covered >= end;
  }

  /**
   * mremap's move: the mappings and pages of [from, from + len) go to
   * [to, to + len) (which must not overlap it), replacing what was there;
   * private pages keep their host memory, so untouched pages stay untouched.
   */
  move(from: number, len: number, to: number): void {
    this.unmap(to, to + len);
    // The pages written since the last sync are known by their old numbers.
    this.syncShared();
    const moved: [number, number][] = [];
    this.forEachPage(from, from + len, (vpn, e) => moved.push([vpn, e]));
    const delta = (to - from) / PAGE_SIZE;
    for (const [vpn] of moved) this.pages.delete(vpn);
    for (const [vpn, e] of moved) {
      // Decoded instructions are cached per host page; drop them so nothing refers to the old addresses.
      this.ram.dropCode(hostOf(e));
      this.pages.set(vpn + delta, e);
    }
    const pieces = this.cut(from, from + len);
    this.insert(pieces.map((m) => ({ ...m, start: m.start + to - from, end: m.end + to - from })));
    this.noteShared();
    this.flushTlbs();
  }

  /**
   * madvise(MADV_DONTNEED): forget the pages of [start, end).  Private
   * anonymous memory reads back as zeros, shared memory as its file's
   * bytes, a loaded program's pages as its file's.  Private file pages of
   * mmap are kept: they were copied from the file at mmap time and cannot be
   * read again (Linux would reread the file).
   */
  discard(start: number, end: number): void {
    this.forEachPage(start, end, (vpn) => {
      const m = this.find(vpn * PAGE_SIZE);
      if (m === undefined || m.hostFd !== undefined || m.name !== "file") this.dropPage(vpn);
    });
    this.flushTlbs();
  }

  /** Whether the page holding addr is in memory, as mincore reports it. */
  resident(addr: number): boolean {
    if (this.pages.has(Math.floor(addr / PAGE_SIZE))) return true;
    const m = this.find(addr);
    if (m === undefined) return false;
    // A shared file page is in its file (in the host's page cache) when within the file's size.
    if (m.hostFd !== undefined) return (m.offset as number) + (addr - m.start) < fileSize(m.hostFd);
    if (m.shm !== undefined) return m.shm.has(shmIndex(m, addr));
    // A program's page is in its file (read in full when it was loaded); the zeros after it are not.
    if (m.image !== undefined) return imageOffset(m, addr) < m.image.length;
    return false;
  }

  /**
   * Write back to their files what the guest stored into shared file pages
   * since the last time.  Called at every system call (before it, so the call
   * sees the guest's stores in the file; after it, for what the call stored),
   * at signal delivery and at exit.  Free when no such page was written.
   */
  syncShared(): void {
    if (this.dirty.size === 0) return;
    const sizes = new Map<number, number>();
    for (const vpn of this.dirty) this.writeBack(vpn, sizes);
    this.dirty.clear();
  }

  /** Write back one written page of a shared file mapping; its write TLB entries go, so the next store marks it again. */
  private writeBack(vpn: number, sizes: Map<number, number>): void {
    const e = this.pages.get(vpn);
    const addr = vpn * PAGE_SIZE;
    const m = this.find(addr);
    if (e === undefined || m?.shm === undefined || m.hostFd === undefined) return;
    const offset = (m.offset as number) + (addr - m.start);
    const twin = m.shm.twin(Math.floor(offset / PAGE_SIZE));
    if (twin === undefined) return;
    let size = sizes.get(m.hostFd);
    if (size === undefined) {
      size = fileSize(m.hostFd);
      sizes.set(m.hostFd, size);
    }
    const at = hostOf(e) << PAGE_SHIFT;
    writeChanges(m.hostFd, this.ram.u8, at, twin, offset, size - offset);
    twin.set(this.ram.u8.subarray(at, at + PAGE_SIZE));
    const hi = Math.floor(addr / TWO32), lo = addr % TWO32 | 0;
    for (const t of this.ram.tlbs) t.flushPage(hi, lo);
  }

  /**
   * The file open as host descriptor fd was written through it (write(2)):
   * its shared mappings, in every process, see the new bytes.
   */
  fileWritten(fd: number): void {
    if (this.hostPages.files.size === 0) return;
    let key: string;
    try {
      const st = fs.fstatSync(fd);
      key = `${st.dev}:${st.ino}`;
    } catch {
      return;
    }
    this.hostPages.files.get(key)?.reload();
  }

  /** Remove [start, end) from the mapping list; returns the removed parts. */
  private cut(start: number, end: number): Mapping[] {
    const out: Mapping[] = [];
    const removed: Mapping[] = [];
    for (const m of this.mappings) {
      if (m.end <= start || m.start >= end) { out.push(m); continue; }
      if (m.start < start) out.push(piece(m, m.start, start));
      removed.push(piece(m, Math.max(m.start, start), Math.min(m.end, end)));
      if (m.end > end) out.push(piece(m, end, m.end));
    }
    this.mappings = out;
    return removed;
  }

  /** Add mappings over free space, keeping the list sorted and merged. */
  private insert(add: Mapping[]): void {
    const ms = this.mappings;
    for (const m of add) {
      let i = 0;
      while (i < ms.length && ms[i].start < m.start) i++;
      ms.splice(i, 0, m);
    }
    this.merge();
    this.noteShared();
  }

  /**
   * Keep each SharedMemory's count of address spaces mapping it: an object
   * no address space maps any more gives its pages back.
   */
  private noteShared(): void {
    const now = new Set<SharedMemory>();
    for (const m of this.mappings) if (m.shm !== undefined) now.add(m.shm);
    if (now.size === 0 && this.shms.size === 0) return;
    for (const s of now) if (!this.shms.has(s)) s.users++;
    for (const s of this.shms) if (!now.has(s)) s.leave();
    this.shms = now;
  }

  /** Join neighbours that Linux would keep as one VMA. */
  private merge(): void {
    const out: Mapping[] = [];
    for (const m of this.mappings) {
      const last = out[out.length - 1];
      if (last !== undefined && mergeable(last, m)) out[out.length - 1] = { ...last, end: m.end };
      else out.push(m);
    }
    this.mappings = out;
  }

  /** Close the host files of removed shared mappings that no mapping uses any more. */
  private closeUnused(removed: Mapping[]): void {
    this.noteShared();
    for (const r of removed) {
      const fd = r.hostFd;
      if (fd !== undefined && !this.mappings.some((m) => m.hostFd === fd)) {
        closeQuietly(fd);
        for (const x of removed) if (x.hostFd === fd) x.hostFd = undefined;
      }
    }
  }

  /** Free the materialized pages of [start, end). */
  private dropPages(start: number, end: number): void {
    const vpns: number[] = [];
    this.forEachPage(start, end, (vpn) => vpns.push(vpn));
    for (const vpn of vpns) this.dropPage(vpn);
  }

  /** Free one materialized page, first writing a shared file page's changes to its file. */
  private dropPage(vpn: number): void {
    const e = this.pages.get(vpn);
    if (e === undefined) return;
    if (this.dirty.delete(vpn)) this.writeBack(vpn, new Map());
    this.pages.delete(vpn);
    this.hostPages.release(hostOf(e));
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

  /** Give guest page vpn of mapping m host memory: zeros, the bytes of m's file, or its shared memory's page. */
  private materialize(vpn: number, m: Mapping): number {
    if (m.shm !== undefined) {
      const page = m.shm.page(shmIndex(m, vpn * PAGE_SIZE));
      this.hostPages.share(page);
      const s = page * 16 + SHM_PAGE + m.prot;
      this.pages.set(vpn, s);
      this.peakPages = Math.max(this.peakPages, this.pages.size);
      this.faults++;
      return s;
    }
    const host = this.hostPages.alloc();
    if (m.image !== undefined) this.fillFromImage(host, m, vpn * PAGE_SIZE);
    const e = host * 16 + m.prot;
    this.pages.set(vpn, e);
    this.peakPages = Math.max(this.peakPages, this.pages.size);
    this.faults++;
    return e;
  }

  /** Copy the bytes of a program's segment behind guest page addr into fresh (zeroed) host page `host`. */
  private fillFromImage(host: number, m: Mapping, addr: number): void {
    const image = m.image as Uint8Array;
    const from = imageOffset(m, addr);
    if (from >= image.length) return;
    this.ram.u8.set(image.subarray(from, Math.min(image.length, from + PAGE_SIZE)), host << PAGE_SHIFT);
  }

  /**
   * A write to page vpn: a private page other address spaces also hold gets
   * a copy of its own; a shared file page is marked for write-back.
   */
  private writing(vpn: number, e: number): number {
    if ((e & SHM_PAGE) === 0) return this.hostPages.isShared(hostOf(e)) ? this.copyPage(vpn, e) : e;
    if (!this.dirty.has(vpn) && this.find(vpn * PAGE_SIZE)?.hostFd !== undefined) this.dirty.add(vpn);
    return e;
  }

  /**
   * A write to private page vpn, whose host page e other address spaces
   * also hold: give it a copy of its own (copy-on-write after fork).
   */
  private copyPage(vpn: number, e: number): number {
    const old = hostOf(e);
    const host = this.hostPages.alloc();
    this.ram.u8.copyWithin(host << PAGE_SHIFT, old << PAGE_SHIFT, (old + 1) << PAGE_SHIFT);
    this.hostPages.release(old);
    this.hostPages.copies++;
    this.faults++;
    const copied = host * 16 + (e & 15);
    this.pages.set(vpn, copied);
    // Every TLB entry for the page pointed at the shared copy.
    const addr = vpn * PAGE_SIZE;
    const hi = Math.floor(addr / TWO32), lo = addr % TWO32 | 0;
    for (const t of this.ram.tlbs) t.flushPage(hi, lo);
    return copied;
  }

  /**
   * Host byte offset of the guest page holding addr, materializing it (no
   * protection check); `write` first gives a copy-on-write page its own copy.
   */
  hostOffset(addr: number, write = false): number {
    const vpn = Math.floor(addr / PAGE_SIZE);
    let e = this.pages.get(vpn);
    if (e === undefined) {
      const m = this.find(addr);
      if (m === undefined) return -1;
      e = this.materialize(vpn, m);
    }
    if (write) e = this.writing(vpn, e);
    return (hostOf(e) << PAGE_SHIFT) + (addr & (PAGE_SIZE - 1));
  }

  /**
   * The host page behind a page of MAP_SHARED anonymous memory (a futex
   * there is the same word in every process mapping it), or undefined for
   * private memory and memory not yet touched.
   */
  sharedHostPage(addr: number): number | undefined {
    const e = this.pages.get(Math.floor(addr / PAGE_SIZE));
    return e !== undefined && (e & SHM_PAGE) !== 0 ? hostOf(e) : undefined;
  }

  // ---- fork and the end ----

  /**
   * fork: a copy of this address space sharing every page copy-on-write
   * (MAP_SHARED memory stays shared; a shared file mapping gets a host
   * descriptor of its own).
   */
  fork(): AddressSpace {
    this.syncShared();
    const c = new AddressSpace(this.hostPages);
    const reopened = new Map<number, number>();
    c.mappings = this.mappings.map((m) => {
      const copy = { ...m };
      if (m.hostFd !== undefined) {
        let fd = reopened.get(m.hostFd);
        if (fd === undefined) {
          fd = reopen(m.hostFd, m.mayWrite === true);
          reopened.set(m.hostFd, fd);
        }
        copy.hostFd = fd;
      }
      return copy;
    });
    c.noteShared();
    c.brkStart = this.brkStart;
    c.brk = this.brk;
    c.mmapBase = this.mmapBase;
    for (const [vpn, e] of this.pages) {
      this.hostPages.share(hostOf(e));
      c.pages.set(vpn, e);
    }
    c.peakPages = c.pages.size;
    // The parent's writes to its now shared pages must fault and copy.
    for (const t of this.ram.tlbs) t.flushWrites();
    return c;
  }

  /** The last process using this address space has ended or exec'd: give everything back. */
  release(): void {
    this.unmap(0, USER_TOP);
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
      const h = this.hostOffset(a, true);
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

/** The page index in its SharedMemory of the page of m holding addr. */
/** The byte offset behind guest address addr in what m maps (its file, memory object or image). */
function imageOffset(m: Mapping, addr: number): number {
  return (m.offset as number) + (addr - m.start);
}

function shmIndex(m: Mapping, addr: number): number {
  return Math.floor(imageOffset(m, addr) / PAGE_SIZE);
}

function faultCause(access: Access): Cause {
  return access === Access.READ ? Cause.LOAD_PAGE_FAULT
    : access === Access.WRITE ? Cause.STORE_PAGE_FAULT : Cause.INSN_PAGE_FAULT;
}
