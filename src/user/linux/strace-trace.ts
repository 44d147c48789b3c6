/**
 * -strace for one process: writes each call as it is made and its result as
 * it returns, like qemu-riscv64 (so whatever the call writes itself, and
 * other processes' lines, may come in between), follows calls that block
 * (a futex or a read that completes later, a wait4 made again when a child
 * ends) to their one result, and shows signals as they are taken.
 */
import type { Process } from "./process.js";
import type { Thread } from "./thread.js";
import type { PendingSignal } from "./signal.js";
import { NO_RESULT, type SyscallResult } from "./syscall.js";
import { Prot } from "./address-space.js";
import { errnoText, ERESTARTSYS } from "./strace-errno.js";
import { formatCall, formatResult, formatSignal, siginfoFromBytes, SIGRETURN_RESULT, type SiginfoView,
  type StraceMemory } from "./strace.js";
import { RISCV_FLUSH_ICACHE, straceTable } from "./strace-table.js";

/** A call whose line has been started and whose result has not been written yet. */
interface OpenCall {
  nr: number;
  args: bigint[];
  /** The ecall's address: a thread back there is about to make the same call again. */
  pc: number;
}

const EINTR = 4;
const SIGCHLD = 17;
const FAULT_SIGNALS = new Set([4, 5, 7, 8, 11]);
const SI_USER = 0, SI_KERNEL = 0x80, SI_TKILL = -6, CLD_EXITED = 1, CLD_CONTINUED = 6;
const MAX_STRING = 1 << 20;

export class SyscallTrace {
  private readonly open = new WeakMap<Thread, OpenCall>();
  /** Signal lines that come after the result of the call now running (a signal it sent itself). */
  private deferred: string[] = [];
  private inCall = false;
  /** logText's stand-in: text waiting for the end of its line. */
  private partial = "";
  private readonly mem: StraceMemory;

  constructor(private readonly p: Process) {
    this.mem = {
      bytes: (addr, len) => {
        const a = Number(addr);
        return addr < 2n ** 53n && p.as.check(a, len, Prot.READ) ? p.as.read(a, len) : undefined;
      },
      cstring: (addr) => (addr < 2n ** 53n ? p.as.readCString(Number(addr), MAX_STRING) : undefined),
    };
  }

  private write(text: string): void {
    const o = this.p.opts;
    if (o.logText !== undefined) {
      o.logText(text);
      return;
    }
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) o.log(line);
  }

  /** t makes call nr (its pc still at the ecall). */
  enter(t: Thread, nr: number): void {
    if (nr === RISCV_FLUSH_ICACHE && t.cpu.xh[17] === 0) return;
    const cpu = t.cpu;
    const pc = cpu.pc;
    const prev = this.open.get(t);
    this.inCall = true;
    // The same call made again after it waited (wait4 after a child ended, a read tried again): one line.
    if (prev !== undefined && prev.nr === nr && prev.pc === pc) return;
    const args: bigint[] = [];
    for (let i = 0; i < 6; i++) args.push((BigInt(cpu.xh[10 + i] >>> 0) << 32n) | BigInt(cpu.xl[10 + i] >>> 0));
    const call = formatCall(nr, args, this.mem);
    this.write(`${this.p.pid} ${call}`);
    if (straceTable().has(nr)) this.open.set(t, { nr, args, pc });
    else this.open.delete(t);
  }

  /** The call returned result (NO_RESULT: it set the registers itself, blocked, or does not return). */
  leave(t: Thread, nr: number, result: SyscallResult): void {
    this.inCall = false;
    const c = this.open.get(t);
    if (c !== undefined) {
      if (result !== NO_RESULT) {
        this.finish(t, c, typeof result === "bigint" ? result : BigInt(result));
      } else if (straceTable().get(nr)?.name === "rt_sigreturn") {
        this.finish(t, c, SIGRETURN_RESULT);
      } else if (t.wait === undefined) {
        // exit and exit_group ended their line already; a successful execve leaves its line
        // open, as qemu-riscv64 does when the new program replaces it.
        this.open.delete(t);
      }
    }
    this.flushDeferred();
  }

  /** A blocked thread got its result. */
  woken(t: Thread, result: number): void {
    const c = this.open.get(t);
    if (c === undefined) return;
    // Back at the ecall: it makes the call again, which will finish the line.
    if (t.cpu.pc === c.pc) return;
    // Cut short by a signal: whether it is restarted is known when the signal is delivered.
    if (t.interrupted !== undefined) return;
    this.finish(t, c, BigInt(result));
  }

  /** A signal cut t's call short; restarted: it will be made again once the handler returns. */
  interrupted(t: Thread, restarted: boolean): void {
    const c = this.open.get(t);
    if (c === undefined) return;
    this.open.delete(t);
    const e = restarted ? ERESTARTSYS : EINTR;
    this.write(` = -1 errno=${e} (${errnoText(e)})\n`);
  }

  /**
   * A signal is being taken by t (a handler runs, or its default action ends
   * the process).  A call of t's that is to be made again once the handler
   * returns ends its line as restarted first.
   */
  signal(info: PendingSignal, t?: Thread): void {
    const c = t === undefined ? undefined : this.open.get(t);
    if (t !== undefined && c !== undefined && !this.inCall) {
      // Back at the ecall: made again after the handler.  Still blocked: the signal ends it.
      if (t.cpu.pc === c.pc) this.interrupted(t, true);
      else if (t.wait !== undefined) this.interrupted(t, false);
    }
    const line = formatSignal(siginfoView(info));
    if (this.inCall) this.deferred.push(line);
    else this.write(line);
  }

  /** In a forked child: its side of the fork returns 0. */
  forkReturned(): void {
    this.write(" = 0\n");
  }

  private finish(t: Thread, c: OpenCall, ret: bigint): void {
    this.open.delete(t);
    this.write(formatResult(c.nr, c.args, ret, this.mem));
  }

  private flushDeferred(): void {
    if (this.deferred.length === 0) return;
    for (const line of this.deferred) this.write(line);
    this.deferred = [];
  }
}

/** What a queued signal says, in the terms -strace prints. */
function siginfoView(s: PendingSignal): SiginfoView {
  if (s.raw !== undefined) return { ...siginfoFromBytes(s.raw), signo: s.signo };
  const base: SiginfoView = {
    signo: s.signo, code: s.code, pid: s.pid, uid: s.uid, status: 0, utime: 0n, stime: 0n, value: 0n, fd: 0,
    addr: 0n, type: "kill",
  };
  if (s.code === SI_USER || s.code === SI_TKILL || s.code === SI_KERNEL) return base;
  if (s.signo === SIGCHLD && s.code >= CLD_EXITED && s.code <= CLD_CONTINUED) {
    return { ...base, type: "chld", status: s.status };
  }
  if (FAULT_SIGNALS.has(s.signo)) return { ...base, type: "fault", addr: BigInt(s.addr) };
  return { ...base, type: "rt" };
}
