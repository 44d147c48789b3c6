/**
 * fork: the child is a new tsemu process on the host.  The parent writes a
 * snapshot of the process (mappings and touched pages, the forking thread's
 * registers, descriptors, signal state) to a file; the child, started with
 * the same host descriptors, reads it back and returns 0 from the call.
 * The child reports how it ended in a status file that the parent's wait4
 * reads, since a host process's exit reaches Node only through an event
 * loop that the emulator does not give up while the guest runs.
 */
import { AddressSpace, type Mapping } from "./address-space.js";
import { FdTable, type OpenFile } from "./fd-table.js";
import type { Process, Outcome } from "./process.js";
import type { Thread } from "./thread.js";
import type { SigAction } from "./signal.js";
import { PAGE_SHIFT, PAGE_SIZE } from "../../target/riscv/tlb.js";
import { anonymousFile } from "./shared-mapping.js";

interface SnapshotHeader {
  mappings: Mapping[];
  brkStart: number;
  brk: number;
  mmapBase: number;
  pages: [number, number][];
  xl: number[]; xh: number[]; fl: number[]; fh: number[];
  pc: number; fflags: number; frm: number;
  sigmask: string;
  altStack: { sp: number; size: number; flags: number };
  actions: { handler: number; flags: number; mask: string }[];
  fds: { fd: number; hostFd: number; path: string | undefined; flags: number; cloexec: boolean; owns: boolean }[];
  umask: number; exePath: string; stackSize: number; uid: number; gid: number; trampoline: number;
  parentPid: number;
  /** CLONE_CHILD_SETTID: where the child stores its tid; 0 for none. */
  childSetTid: number;
  clearChildTid: number;
}

/** Serialize the process as seen by thread t, for the child of a fork. */
export function snapshot(p: Process, t: Thread, childSetTid: number): Uint8Array {
  // MAP_SHARED|MAP_ANONYMOUS memory gets a file now, for parent and child to share.
  p.as.shareAnonymous((size) => anonymousFile(p.opts.tempDir(), size));
  const pages = p.as.materializedPages();
  const cpu = t.cpu;
  const header: SnapshotHeader = {
    mappings: p.as.mappings, brkStart: p.as.brkStart, brk: p.as.brk, mmapBase: p.as.mmapBase,
    pages: pages.map(([vpn, prot]) => [vpn, prot]),
    xl: [...cpu.xl], xh: [...cpu.xh], fl: [...cpu.fl], fh: [...cpu.fh],
    pc: cpu.pc, fflags: cpu.fflags, frm: cpu.frm,
    sigmask: t.sigmask.toString(), altStack: t.altStack,
    actions: p.actions.map((a) => ({ handler: a.handler, flags: a.flags, mask: a.mask.toString() })),
    fds: p.fds.open().map((fd) => {
      const f = p.fds.get(fd) as OpenFile;
      return { fd, hostFd: f.hostFd, path: f.path, flags: f.flags, cloexec: p.fds.isCloexec(fd), owns: f.ownsHostFd };
    }),
    umask: p.umask, exePath: p.exePath, stackSize: p.stackSize, uid: p.uid, gid: p.gid,
    trampoline: p.trampoline, parentPid: p.pid, childSetTid, clearChildTid: t.clearChildTid,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + pages.length * PAGE_SIZE);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  const u8 = p.as.ram.u8;
  pages.forEach(([, , host], i) => {
    out.set(u8.subarray(host << PAGE_SHIFT, (host + 1) << PAGE_SHIFT), 4 + json.length + i * PAGE_SIZE);
  });
  return out;
}

/** Rebuild a forked process from its snapshot; its only thread returns 0 from fork. */
export function restore(p: Process, data: Uint8Array): void {
  const len = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
  const h = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + len))) as SnapshotHeader;
  const as = new AddressSpace(p.as.hostPages);
  as.mappings = h.mappings;
  as.brkStart = h.brkStart;
  as.brk = h.brk;
  as.mmapBase = h.mmapBase;
  h.pages.forEach(([vpn, prot], i) => {
    const at = 4 + len + i * PAGE_SIZE;
    as.restorePage(vpn, prot, data.subarray(at, at + PAGE_SIZE));
  });
  p.as = as;
  const t = p.newThread(p.pid);
  const cpu = t.cpu;
  cpu.xl.set(h.xl); cpu.xh.set(h.xh); cpu.fl.set(h.fl); cpu.fh.set(h.fh);
  cpu.pc = h.pc; cpu.fflags = h.fflags; cpu.frm = h.frm;
  cpu.setXNumber(10, 0);
  t.sigmask = BigInt(h.sigmask);
  t.altStack = h.altStack;
  p.threads.push(t);
  h.actions.forEach((a, i) => { p.actions[i] = { handler: a.handler, flags: a.flags, mask: BigInt(a.mask) } as SigAction; });
  const fds = new FdTable();
  const byHost = new Map<number, OpenFile>();
  for (const f of h.fds) {
    let of = byHost.get(f.hostFd);
    if (of === undefined) {
      of = { hostFd: f.hostFd, path: f.path, flags: f.flags, dirPos: 0, dirEntries: undefined, ownsHostFd: f.owns, refs: 0 };
      byHost.set(f.hostFd, of);
    }
    fds.install(f.fd, of, f.cloexec);
  }
  p.fds = fds;
  p.umask = h.umask;
  p.exePath = h.exePath;
  p.stackSize = h.stackSize;
  p.uid = h.uid;
  p.gid = h.gid;
  p.trampoline = h.trampoline;
  p.ppid = h.parentPid;
  t.clearChildTid = h.clearChildTid;
  if (h.childSetTid !== 0) as.writeU32(h.childSetTid, p.pid);
  p.trace?.forkReturned();
}

/** The host descriptors a forked child must inherit at the same numbers. */
export function inheritedHostFds(p: Process): number[] {
  const set = new Set<number>();
  for (const fd of p.fds.open()) set.add((p.fds.get(fd) as OpenFile).hostFd);
  for (const fd of p.as.backingFds()) set.add(fd); // the files of shared mappings
  return [...set].sort((a, b) => a - b);
}

/** How a child's end is written to, and read from, its status file. */
export function encodeOutcome(o: Outcome): string {
  return o.kind === "exit" ? `exit ${o.status}` : `signal ${o.signo} ${o.core ? 1 : 0}`;
}

/** The wait status word (as wait4 stores it) from a status file's text, or undefined if not written yet. */
export function waitStatus(text: string): number | undefined {
  const m = /^(exit|signal) (\d+)(?: (\d))?/.exec(text);
  if (m === null) return undefined;
  if (m[1] === "exit") return (Number(m[2]) & 0xff) << 8;
  return Number(m[2]) | (m[3] === "1" ? 0x80 : 0);
}
