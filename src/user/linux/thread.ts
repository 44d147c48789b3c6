/**
 * A guest thread: one hart's worth of state plus the per-thread kernel
 * state (thread id, clear_child_tid, signal mask and pending signals,
 * alternate signal stack, what it is blocked on).
 */
import { noSwitches, noTimes, type CpuTimes, type Switches } from "./cpu-time.js";
import { RiscvCpu, type CpuMemory } from "../../target/riscv/cpu.js";
import type { Interrupted, PendingSignal, RestartMode } from "./signal.js";
import type { AddressSpace } from "./address-space.js";
import type { OpenFile } from "./fd-table.js";

/**
 * Why a thread is not running: a futex wait (with its key and bitset), a
 * signal wait, a child's end, a vfork child's exec or end, a call to retry,
 * the end of the host program the process exec'd.
 */
export interface Wait {
  kind: "futex" | "sigsuspend" | "pause" | "child" | "sigwait" | "retry" | "vfork" | "host";
  /** Futex key address (see Process.futexKey); for sigwait, where the siginfo goes (0: nowhere). */
  addr: number;
  /** A futex's address space; undefined for a word of shared memory (addr is then a host offset). */
  space?: AddressSpace;
  bitset: number;
  /** Monotonic deadline in ms (nowMs() scale), or Infinity. */
  deadline: number;
  /** sigwait: the signals waited for. */
  sigset?: bigint;
  /** What a signal handler interrupting the wait does to the call (default: by kind, see restartModeOf). */
  restart?: RestartMode;
}

export class Thread {
  readonly cpu: RiscvCpu;
  /** set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken at exit. */
  clearChildTid = 0;
  /** Blocked signals, bit (signo - 1). */
  sigmask = 0n;
  /** The mask to restore when the handler that ends a sigsuspend returns. */
  savedMask: bigint | undefined;
  /** Signals sent to this thread alone (tgkill, faults). */
  readonly pending: PendingSignal[] = [];
  /** sigaltstack: base, size, flags. */
  altStack = { sp: 0, size: 0, flags: 2 /* SS_DISABLE */ };
  robustList = 0;
  /** CPU time it has used, in ms: its guest code (user) and its system calls and faults (system); see cpu-time.ts. */
  readonly times: CpuTimes = noTimes();
  /** Its context switches (cpu-time.ts). */
  readonly switches: Switches = noSwitches();
  exited = false;
  /** Set while blocked. */
  wait: Wait | undefined;
  /** A blocking call cut short by a signal, until the signal is delivered (to decide EINTR or restart). */
  interrupted: Interrupted | undefined;
  /** A call parked by retryLater, from then until the thread next runs (and makes it again). */
  retry: Interrupted | undefined;
  /** The a0 a timed-out wait returns (-ETIMEDOUT unless the call says otherwise). */
  onTimeout: number | undefined;
  /** wait4's first argument, put back when the call is restarted after a child ends. */
  retryA0 = 0;
  /**
   * A call that waits in steps (poll, select, epoll_pwait, a socket call):
   * the ecall's address, when its timeout ends, and for a blocking stream
   * send, pipe write or sendfile the bytes it has sent so far (and
   * sendfile's bytes read but not yet written), for sendmmsg/recvmmsg the
   * messages moved so far (while `sent` is the bytes of the one in progress)
   * and when recvmmsg's own timeout ends.
   */
  callWait: {
    pc: number; deadline: number; sent?: number; pending?: Uint8Array; moved?: number; until?: number;
  } | undefined;
  /**
   * A parked call waiting on host descriptors (a socket, a pipe, a
   * terminal): the descriptors and the poll events, for the scheduler to
   * poll while nothing runs.  Set by parkOnHost, cleared by retryLater.
   */
  hostWait: { fds: number[]; events: number[] } | undefined;
  /**
   * A read or fsync a host thread makes for this one (background-io.ts):
   * the native handle, and the call it serves (its ecall's address, file,
   * buffer and length; 0 and 0 for a sync).
   */
  backgroundCall: { handle: object; pc: number; file: OpenFile; buf: number; len: number } | undefined;
  /** Instructions left in this thread's turn. */
  budget = 0;

  constructor(public readonly tid: number, mem: CpuMemory) {
    this.cpu = new RiscvCpu(mem);
  }
}
