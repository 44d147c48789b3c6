/**
 * execve: replace the process image in place, with another riscv64 ELF
 * program or a `#!` script whose interpreter is one.  The process keeps its
 * pid, descriptors (less the close-on-exec ones) and ignored signals; the
 * calling thread becomes the only thread.
 */
import { define, NO_RESULT } from "../syscall.js";
import { Errno, errnoFromHost } from "../errno.js";
import { AddressSpace, Prot } from "../address-space.js";
import { ElfError, parseElf } from "../elf.js";
import { loadProgram } from "../loader.js";
import { SIG_DFL, SIG_IGN } from "../signal.js";
import { absolutePath, type Process } from "../process.js";
import type { Thread } from "../thread.js";
import { fs, randomFillSync } from "../../../host/fs.js";
import { useUmask } from "../../../host/cwd.js";

const MAX_ARGS = 0x10000;
const MAX_SHEBANG_DEPTH = 4;

function readStringArray(p: Process, addr: number): string[] | number {
  const out: string[] = [];
  if (addr === 0) return out;
  const dec = new TextDecoder();
  for (let i = 0; i < MAX_ARGS; i++) {
    if (!p.as.check(addr + i * 8, 8, Prot.READ)) return -Errno.EFAULT;
    const ptr = Number(p.as.readU64(addr + i * 8));
    if (ptr === 0) return out;
    const s = p.as.readCString(ptr, 128 * 1024);
    if (s === undefined) return -Errno.EFAULT;
    out.push(dec.decode(s));
  }
  return -Errno.E2BIG;
}

/** Resolve a guest path relative to the host cwd and the -L prefix. */
function readProgram(p: Process, guestPath: string): Uint8Array | number {
  try {
    const host = p.hostPath(guestPath);
    const st = fs.statSync(host);
    if (st.isDirectory()) return -Errno.EACCES;
    fs.accessSync(host, fs.constants.X_OK);
    return fs.readFileSync(host);
  } catch (e) {
    return -errnoFromHost(e);
  }
}

/** The interpreter and optional argument of a `#!` line, or undefined. */
function shebang(data: Uint8Array): [string, string | undefined] | undefined {
  if (data[0] !== 0x23 || data[1] !== 0x21) return undefined;
  let end = data.indexOf(0x0a);
  if (end < 0) end = Math.min(data.length, 256);
  const line = new TextDecoder().decode(data.subarray(2, end)).trim();
  if (line === "") return undefined;
  const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
  if (m === null) return undefined;
  return [m[1], m[2]?.trim()];
}

export function execve(p: Process, t: Thread, path: string, argv: string[], envp: string[]): number | typeof NO_RESULT {
  let file = readProgram(p, path);
  let args = argv;
  let execPath = path;
  for (let depth = 0; typeof file !== "number"; depth++) {
    const sb = shebang(file);
    if (sb === undefined) break;
    if (depth >= MAX_SHEBANG_DEPTH) return -Errno.ELOOP;
    const [interp, arg] = sb;
    args = [interp, ...(arg !== undefined ? [arg] : []), execPath, ...args.slice(1)];
    execPath = interp;
    file = readProgram(p, interp);
  }
  if (typeof file === "number") return file;
  let exe;
  try {
    exe = parseElf(file);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    if (!e.message.startsWith("ELF file for ")) return -Errno.ENOEXEC;
    // A program for the host: like qemu-riscv64 (whose execve is the host's), run it there.
    return execHost(p, t, execPath, args, envp);
  }
  const as = new AddressSpace(p.as.hostPages);
  let loaded;
  try {
    loaded = loadProgram(as, exe, {
      argv: args, envp, execfn: path, stackSize: p.stackSize, uid: p.uid, gid: p.gid,
      readInterpreter: (ip) => fs.readFileSync(p.hostPath(ip)),
      random: (b) => randomFillSync(b),
    });
  } catch (e) {
    if (e instanceof ElfError) return -Errno.ENOEXEC;
    if ((e as { code?: string }).code !== undefined) return -errnoFromHost(e);
    throw e;
  }
  // Past the point of no return: the old image goes (unless a vfork parent still runs on it, which now goes on).
  p.leaveAddressSpace();
  p.useAddressSpace(as);
  p.vforkDone();
  p.exePath = absolutePath(p.hostPath(execPath));
  p.mapTrampoline();
  for (const other of p.threads) {
    if (other === t) continue;
    other.exited = true;
    other.cpu.releaseState();
    p.threadGone(other);
  }
  p.threads.length = 0;
  p.threads.push(t);
  t.cpu.setMemory(as);
  t.cpu.xl.fill(0);
  t.cpu.xh.fill(0);
  t.cpu.fl.fill(0);
  t.cpu.fh.fill(0);
  t.cpu.fflags = 0;
  t.cpu.frm = 0;
  t.cpu.resValid = false;
  t.cpu.pc = loaded.entry;
  t.cpu.setXNumber(2, loaded.sp);
  t.clearChildTid = 0;
  t.altStack = { sp: 0, size: 0, flags: 2 };
  for (let sig = 1; sig < p.actions.length; sig++) {
    if (p.actions[sig].handler !== SIG_IGN) p.actions[sig] = { handler: SIG_DFL, flags: 0, mask: 0n };
  }
  for (const f of p.fds.closeOnExec()) {
    if (f.ownsHostFd) {
      try { fs.closeSync(f.hostFd); } catch { /* already gone: nothing to release */ }
    }
  }
  return NO_RESULT;
}

function execHost(p: Process, t: Thread, path: string, argv: string[], envp: string[]): typeof NO_RESULT {
  const fdMap: number[] = [];
  for (const fd of p.fds.open()) {
    if (!p.fds.isCloexec(fd)) fdMap[fd] = (p.fds.get(fd) as { hostFd: number }).hostFd;
  }
  useUmask(p.umask); // the host program inherits the guest's mask, as under QEMU
  // execve keeps a signal ignored and puts every other back to its default action.
  const ignored: number[] = [];
  p.actions.forEach((a, sig) => { if (sig > 0 && a.handler === SIG_IGN) ignored.push(sig); });
  p.becomeHostProgram(t, p.opts.startHostProgram(p.hostPath(path), argv, envp, fdMap, p.cwd, ignored));
  // The guest image is gone: a vfork parent goes on.
  p.vforkDone();
  return NO_RESULT;
}

define(221, "execve", (p, t, a) => {
  const path = p.as.readCString(a.n(0));
  if (path === undefined) return -Errno.EFAULT;
  const argv = readStringArray(p, a.n(1));
  if (typeof argv === "number") return argv;
  const envp = readStringArray(p, a.n(2));
  if (typeof envp === "number") return envp;
  return execve(p, t, new TextDecoder().decode(path), argv, envp);
});
