/**
 * Loading a program into a fresh address space and building its initial
 * stack (strings, AT_RANDOM bytes, argc/argv/envp/auxv), in the layout of
 * QEMU's linux-user (see QEMU-COMPAT.md).
 */
import { AddressSpace, Prot } from "./address-space.js";
import { ElfError, ET_DYN, PT_LOAD, PT_PHDR, parseElf, type ElfImage } from "./elf.js";
import { PAGE_SIZE } from "../../target/riscv/tlb.js";

export const AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
  AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_HWCAP = 16,
  AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_EXECFN = 31;

/** I, M, A, F, D, C as bits counted from 'A'. */
export const HWCAP_RV64IMAFDC = [..."IMAFDC"].reduce((v, c) => v | (1 << (c.charCodeAt(0) - 65)), 0);

/** Where the main program goes when it is position-independent. */
const PIE_BASE = 0x2aaaaab000;
export const STACK_TOP = 0x3ffffff000;
export const DEFAULT_STACK_SIZE = 8 * 1024 * 1024;

export interface LoadOptions {
  argv: string[];
  envp: string[];
  /** The path the program was started by (AT_EXECFN). */
  execfn: string;
  stackSize: number;
  uid: number;
  gid: number;
  /** Read the interpreter named by PT_INTERP (already resolved for -L). */
  readInterpreter(path: string): Uint8Array;
  random(bytes: Uint8Array): void;
}

export interface Loaded {
  entry: number;
  sp: number;
  /** Where the main program was placed (load bias). */
  bias: number;
  interpBase: number;
}

const up = (v: number): number => Math.ceil(v / PAGE_SIZE) * PAGE_SIZE;
const down = (v: number): number => Math.floor(v / PAGE_SIZE) * PAGE_SIZE;

function protOf(flags: number): number {
  return ((flags & 4) !== 0 ? Prot.READ : 0) | ((flags & 2) !== 0 ? Prot.WRITE : 0) |
    ((flags & 1) !== 0 ? Prot.EXEC : 0);
}

/** Map an ELF image's PT_LOAD segments at `bias`; returns the end of the highest segment. */
function mapImage(as: AddressSpace, elf: ElfImage, bias: number, name: string): number {
  let top = 0;
  for (const ph of elf.phdrs) {
    if (ph.type !== PT_LOAD || ph.memsz === 0) continue;
    const start = down(bias + ph.vaddr);
    const end = up(bias + ph.vaddr + ph.memsz);
    // Segments may share a page: keep what an earlier segment put there.
    const prot = protOf(ph.flags);
    const existing = as.find(start);
    // The file offset of the segment's first page (ELF has p_offset congruent to p_vaddr modulo the page size).
    const offset = ph.offset - (bias + ph.vaddr - start);
    if (existing === undefined && offset >= 0) {
      // Pages filled when first touched (most of a program's code never runs).
      as.map(start, end, prot, name, { image: elf.data.subarray(0, ph.offset + ph.filesz), offset });
    } else {
      if (existing === undefined) as.map(start, end, prot, name);
      else {
        if (end > existing.end) as.map(existing.end, end, prot, name);
        as.protect(start, Math.min(end, existing.end), existing.prot | prot);
      }
      as.write(bias + ph.vaddr, elf.data.subarray(ph.offset, ph.offset + ph.filesz));
    }
    top = Math.max(top, bias + ph.vaddr + ph.memsz);
  }
  return top;
}

function span(elf: ElfImage): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = 0;
  for (const ph of elf.phdrs) {
    if (ph.type !== PT_LOAD) continue;
    lo = Math.min(lo, down(ph.vaddr));
    hi = Math.max(hi, up(ph.vaddr + ph.memsz));
  }
  return { lo, hi };
}

/** Load `exe` (and its interpreter) into `as` and build the stack. */
export function loadProgram(as: AddressSpace, exe: ElfImage, opts: LoadOptions): Loaded {
  const bias = exe.type === ET_DYN ? PIE_BASE - span(exe).lo : 0;
  const end = mapImage(as, exe, bias, "exe");
  as.brkStart = as.brk = up(end);

  let entry = bias + exe.entry;
  let interpBase = 0;
  if (exe.interp !== undefined) {
    let interp: ElfImage;
    try {
      interp = parseElf(opts.readInterpreter(exe.interp));
    } catch (e) {
      if (e instanceof ElfError) throw new ElfError(`interpreter ${exe.interp}: ${e.message}`);
      throw e;
    }
    const s = span(interp);
    const base = as.findFree(s.hi - s.lo);
    if (base < 0) throw new ElfError("no room for the interpreter");
    interpBase = interp.type === ET_DYN ? base - s.lo : 0;
    mapImage(as, interp, interpBase, "interp");
    entry = interpBase + interp.entry;
  }

  const phdrSeg = exe.phdrs.find((p) => p.type === PT_PHDR);
  const firstLoad = exe.phdrs.find((p) => p.type === PT_LOAD && p.offset === 0);
  const phdrAddr = phdrSeg !== undefined ? bias + phdrSeg.vaddr
    : firstLoad !== undefined ? bias + firstLoad.vaddr + exe.phoff : 0;

  const sp = buildStack(as, opts, {
    phdr: phdrAddr, phent: exe.phentsize, phnum: exe.phnum, base: interpBase, entry: bias + exe.entry,
  });
  return { entry, sp, bias, interpBase };
}

interface AuxInfo { phdr: number; phent: number; phnum: number; base: number; entry: number }

function buildStack(as: AddressSpace, opts: LoadOptions, aux: AuxInfo): number {
  const size = Math.max(up(opts.stackSize), 64 * 1024);
  as.map(STACK_TOP - size, STACK_TOP, Prot.READ | Prot.WRITE, "[stack]");
  const enc = new TextEncoder();
  // Below a word of zero at the very top, as Linux leaves: the strings, each pushed below the one before (the path
  // the program was started by, the environment, the arguments), NUL-terminated, written at once.
  const strings = [opts.execfn, ...opts.envp, ...opts.argv].map((s) => enc.encode(s));
  const area = new Uint8Array(strings.reduce((n, b) => n + b.length + 1, 0));
  let p = STACK_TOP - 8 - area.length;
  let q = area.length;
  const addrs = strings.map((b) => {
    q -= b.length + 1;
    area.set(b, q);
    return p + q;
  });
  as.write(p, area);
  const execfn = addrs[0];
  const envAddrs = addrs.slice(1, 1 + opts.envp.length);
  const argAddrs = addrs.slice(1 + opts.envp.length);
  const rnd = new Uint8Array(16);
  opts.random(rnd);
  p = Math.floor(p / 16) * 16 - 16;
  const randomAddr = p;
  as.write(p, rnd);

  const auxv: [number, number][] = [
    [AT_PHDR, aux.phdr], [AT_PHENT, aux.phent], [AT_PHNUM, aux.phnum], [AT_PAGESZ, PAGE_SIZE],
    [AT_BASE, aux.base], [AT_FLAGS, 0], [AT_ENTRY, aux.entry], [AT_UID, opts.uid], [AT_EUID, opts.uid],
    [AT_GID, opts.gid], [AT_EGID, opts.gid], [AT_HWCAP, HWCAP_RV64IMAFDC], [AT_CLKTCK, 100],
    [AT_RANDOM, randomAddr], [AT_SECURE, 0], [AT_EXECFN, execfn], [AT_NULL, 0],
  ];
  const words: number[] = [opts.argv.length, ...argAddrs, 0, ...envAddrs, 0];
  for (const [k, v] of auxv) words.push(k, v);
  p -= words.length * 8;
  p = Math.floor(p / 16) * 16;
  const table = new Uint8Array(words.length * 8);
  const dv = new DataView(table.buffer);
  words.forEach((w, i) => dv.setBigUint64(i * 8, BigInt(w), true));
  as.write(p, table);
  return p;
}
