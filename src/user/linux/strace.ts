/**
 * -strace output in qemu-riscv64's shape: "PID name(args)" as a call is
 * made, " = result" (or " = -1 errno=N (text)") when it returns, and
 * "--- SIGNAME {siginfo} ---" as a signal is taken.  The arguments are
 * decoded as strace-table.ts says, with the pieces of strace-format.ts.
 */
import { straceTable, type ResultKind } from "./strace-table.js";
import { errnoText, ESIGRETURN } from "./strace-errno.js";
import {
  ACCESS_MODES, AT_FLAGS, atDirfd, CLOCK_IDS, CLONE_FLAGS, dec, FALLOC_FLAGS, fileMode, flags, type FlagTable, guestString,
  hex32, hex64, hostPointer, int32, intAt, itimerval, ITIMER_WHICH, ldec, ludec, MADVISE_ADVICE, MAP_FLAGS,
  MLOCKALL_FLAGS, MOUNT_FLAGS, named, O_CREAT, oct32, openFlags, pointer, PROT_FLAGS, SEEK_WHENCE, signalName,
  SIGPROCMASK_HOW, sockaddr, socketTriple, STATX_FLAGS, STATX_MASK, type StraceMemory, SYSLOG_ACTIONS, timespec,
  timeval, timezone, udec, UMOUNT2_FLAGS, UNLINKAT_FLAGS,
} from "./strace-format.js";
import { ioctlArgument, ioctlResult } from "./strace-ioctl.js";

export type { StraceMemory } from "./strace-format.js";

/** The call's six argument registers, unsigned. */
export type CallArgs = readonly bigint[];

/** Prints the argument at index i; may look at the others (a few kinds print two or three). */
type Kind = (mem: StraceMemory, a: CallArgs, i: number) => string;

const FLAG_TABLES: Record<string, FlagTable> = {
  at: AT_FLAGS, unlinkat: UNLINKAT_FLAGS, access: ACCESS_MODES, statx: STATX_FLAGS, statxmask: STATX_MASK,
  prot: PROT_FLAGS, map: MAP_FLAGS, clone: CLONE_FLAGS, mlockall: MLOCKALL_FLAGS, umount2: UMOUNT2_FLAGS,
  mount: MOUNT_FLAGS, falloc: FALLOC_FLAGS,
};
const ENUM_TABLES: Record<string, FlagTable> = {
  clock: CLOCK_IDS, itimer: ITIMER_WHICH, madvise: MADVISE_ADVICE, whence: SEEK_WHENCE,
};

const S_IFCHR_OR_BLK = 0o60000;

const KINDS: Record<string, Kind> = {
  d: (_m, a, i) => dec(a[i]),
  u: (_m, a, i) => udec(a[i]),
  x: (_m, a, i) => hex32(a[i]),
  o: (_m, a, i) => oct32(a[i]),
  ld: (_m, a, i) => ldec(a[i]),
  lu: (_m, a, i) => ludec(a[i]),
  lx: (_m, a, i) => hex64(a[i]),
  p: (_m, a, i) => hostPointer(a[i]),
  ptr: (_m, a, i) => pointer(a[i]),
  str: (m, a, i) => guestString(m, a[i]),
  atfd: (_m, a, i) => atDirfd(a[i]),
  mode: (_m, a, i) => fileMode(a[i]),
  signal: (_m, a, i) => signalName(a[i]),
  int: (m, a, i) => intAt(m, a[i]),
  timespec: (m, a, i) => timespec(m, a[i]),
  timeval: (m, a, i) => timeval(m, a[i]),
  timezone: (m, a, i) => timezone(m, a[i]),
  itimerval: (m, a, i) => itimerval(m, a[i]),
  how: (_m, a, i) => SIGPROCMASK_HOW.find(([v]) => BigInt(v) === a[i])?.[1] ?? "UNKNOWN",
  syslog: (_m, a, i) => SYSLOG_ACTIONS.find(([v]) => BigInt(v) === a[i])?.[1] ?? ldec(a[i]),
  open: (_m, a, i) => (Number(a[i] & BigInt(O_CREAT)) !== 0 ? `${openFlags(a[i])},${fileMode(a[i + 1])}` : openFlags(a[i])),
  mq_open: (_m, a, i) => (Number(a[i] & BigInt(O_CREAT)) !== 0
    ? `${openFlags(a[i])},${fileMode(a[i + 1])},${pointer(a[i + 2])}` : openFlags(a[i])),
  mknod: (_m, a, i) => {
    if ((Number(a[i] & 0xffffffffn) & S_IFCHR_OR_BLK) === 0) return fileMode(a[i]);
    const dev = a[i + 1];
    const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
    const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
    return `${fileMode(a[i])},makedev(${int32(BigInt(major))},${int32(BigInt(minor))})`;
  },
  socket: (_m, a, i) => socketTriple(a[i], a[i + 1], a[i + 2]),
  sockaddr: (m, a, i) => sockaddr(m, a[i], a[i + 1]),
  siginfo: (m, a, i) => siginfoAt(m, a[i]),
  ipccmd: (_m, a, i) => ipcCommand(Number(a[i] & 0xffn)),
  fcntl: (_m, a, i) => fcntlCommand(a[i], a[i + 1]),
  ioctl: (m, a, i) => ioctlArgument(m, a[i], a[i + 1]),
  futex: (m, a) => futexCall(m, a),
  clone: (_m, a) =>
    `${flags(CLONE_FLAGS, a[0])},child_stack=${hex64(a[1])},parent_tidptr=${hex64(a[2])},tls=${hex64(a[3])},` +
    `child_tidptr=${hex64(a[4])}`,
};

/** One parsed argument list: which kind prints which argument. */
type Plan = readonly (readonly [Kind, number])[];

function parsePlan(spec: string): Plan {
  const plan: [Kind, number][] = [];
  let next = 0;
  for (const word of spec.split(" ").filter((w) => w !== "")) {
    const [name, at] = word.split("@");
    const i = at === undefined ? next : Number(at);
    const [base, table] = name.split(":");
    let kind: Kind | undefined;
    if (base === "flags" && table in FLAG_TABLES) kind = (_m, a, j) => flags(FLAG_TABLES[table], a[j]);
    else if (base === "enum" && table in ENUM_TABLES) kind = (_m, a, j) => named(ENUM_TABLES[table], a[j]);
    else kind = KINDS[name];
    if (kind === undefined) throw new Error(`strace table: unknown argument kind '${word}'`);
    plan.push([kind, i]);
    next = i + 1;
  }
  return plan;
}

const GENERIC_PLAN = parsePlan("ld ld ld ld ld ld");
/** execve's list: its whole line is made by execveCall (it stops where the guest's memory does). */
const WHOLE_CALL = "execve";
/** Plans by syscall number, made once, on the first traced call. */
let plans: Map<number, Plan> | undefined;

function planFor(nr: number): Plan | undefined {
  if (plans === undefined) {
    plans = new Map();
    for (const [n, e] of straceTable()) {
      if (e.args === WHOLE_CALL) continue;
      plans.set(n, e.args === undefined ? GENERIC_PLAN : parsePlan(e.args));
    }
  }
  return plans.get(nr);
}

/** The call as it is made: "name(args)", "\n" included for calls that never return; undefined if unknown. */
export function formatCall(nr: number, a: CallArgs, mem: StraceMemory): string {
  const e = straceTable().get(nr);
  if (e === undefined) return `Unknown syscall ${nr}\n`;
  if (e.args === WHOLE_CALL) return execveCall(mem, a);
  const plan = planFor(nr) ?? GENERIC_PLAN;
  const text = `${e.name}(${plan.map(([kind, i]) => kind(mem, a, i)).join(",")})`;
  return e.result === "exit" ? `${text}\n` : text;
}

const ERRNO_MAX = 4096n;

/** " = result" and the newline, for the call nr that returned ret (unsigned or signed 64-bit). */
export function formatResult(nr: number, a: CallArgs, ret: bigint, mem: StraceMemory): string {
  const e = straceTable().get(nr);
  if (e === undefined) return "";
  const r = BigInt.asIntN(64, ret);
  if (r < 0n && -r < ERRNO_MAX) {
    const errno = Number(-r);
    return ` = -1 errno=${errno} (${errnoText(errno)})\n`;
  }
  return ` = ${resultText(e.result ?? "ld", r, a, mem)}\n`;
}

/** The result of rt_sigreturn as qemu-riscv64 reports it: the registers came back from the frame. */
export const SIGRETURN_RESULT = -BigInt(ESIGRETURN);

function resultText(kind: ResultKind, r: bigint, a: CallArgs, mem: StraceMemory): string {
  switch (kind) {
    case "ld": case "exit": return r.toString();
    case "addr": return hex64(r);
    case "clock": return `${r} (${timespec(mem, a[1])})`;
    case "tod": return `${r} (${timeval(mem, a[0])},${timezone(mem, a[1])})`;
    case "getitimer": return `${r} (${itimerval(mem, a[1])})`;
    case "setitimer": return `${r} (old_value = ${itimerval(mem, a[2])})`;
    case "ioctl": return `${r}${ioctlResult(mem, a[1], a[2])}`;
    case "adjtimex": return `${r}${ADJTIMEX_STATES[Number(r)] ?? ""}`;
    case "listxattr": return `${r} (list = ${xattrList(mem, a[1], r)})`;
  }
}

const ADJTIMEX_STATES: Record<number, string> = {
  0: " TIME_OK (clock synchronized, no leap second)", 1: " TIME_INS (insert leap second)",
  2: " TIME_DEL (delete leap second)", 3: " TIME_OOP (leap second in progress)",
  4: " TIME_WAIT (leap second has occurred)", 5: " TIME_ERROR (clock not synchronized)",
};

/** The names a listxattr call returned, each a quoted string. */
function xattrList(mem: StraceMemory, addr: bigint, total: bigint): string {
  if (addr === 0n) return "NULL";
  const names: string[] = [];
  let at = addr;
  let left = Number(total);
  while (left > 0 && names.length < 4096) {
    const s = mem.cstring(at);
    if (s === undefined) break;
    names.push(guestString(mem, at));
    at += BigInt(s.length + 1);
    left -= s.length + 1;
  }
  return names.join(",");
}

/** execve("path",{"arg0","arg1",NULL}): the environment is not shown. */
function execveCall(mem: StraceMemory, a: CallArgs): string {
  const path = a[0] === 0n ? undefined : mem.cstring(a[0]);
  if (path === undefined) return ""; // qemu-riscv64 prints nothing of a call whose path it cannot read
  let out = `execve(${guestString(mem, a[0])},{`;
  for (let p = a[1], n = 0; n < 65536; p += 8n, n++) {
    const b = mem.bytes(p, 8);
    if (b === undefined) return out; // the list ends where it can no longer be read
    const s = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
    if (s === 0n) break;
    if (mem.cstring(s) !== undefined) out += `${guestString(mem, s)},`;
  }
  return `${out}NULL})`;
}

const FUTEX_NAMES = [
  "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE", "FUTEX_WAKE_OP", "FUTEX_LOCK_PI",
  "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI",
  "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2",
];
const FUTEX_PRIVATE_FLAG = 128, FUTEX_CLOCK_REALTIME = 256;
/** The operations whose fourth argument is a timeout. */
const FUTEX_TIMED = new Set([0, 9, 6, 13, 11]);

/** futex(uaddr,op,val,timeout or uaddr2,uaddr2,val3): the fifth argument is shown both as pointer and as int. */
function futexCall(mem: StraceMemory, a: CallArgs): string {
  const op = int32(a[1]);
  const base = (op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) >>> 0;
  const opText = base < FUTEX_NAMES.length
    ? `${(op & FUTEX_PRIVATE_FLAG) !== 0 ? "FUTEX_PRIVATE_FLAG|" : ""}` +
      `${(op & FUTEX_CLOCK_REALTIME) !== 0 ? "FUTEX_CLOCK_REALTIME|" : ""}${FUTEX_NAMES[base]}`
    : `0x${(op >>> 0).toString(16)}`;
  const fourth = FUTEX_TIMED.has(base) ? timespec(mem, a[3]) : pointer(a[3]);
  return [pointer(a[0]), opText, dec(a[2]), fourth, pointer(a[4]), dec(a[4])].join(",");
}

/** fcntl's command by name and its argument in the form that command takes. */
function fcntlCommand(cmd: bigint, arg: bigint): string {
  switch (BigInt.asIntN(64, cmd)) {
    case 0n: return `F_DUPFD,${ldec(arg)}`;
    case 1n: return "F_GETFD";
    case 2n: return `F_SETFD,${ldec(arg)}`;
    case 3n: return "F_GETFL";
    case 4n: return `F_SETFL,${openFlags(arg)}`;
    case 5n: return `F_GETLK,${pointer(arg)}`;
    case 6n: return `F_SETLK,${pointer(arg)}`;
    case 7n: return `F_SETLKW,${pointer(arg)}`;
    case 8n: return `F_SETOWN,${ldec(arg)},`; // qemu-riscv64 leaves a comma after these two
    case 9n: return "F_GETOWN";
    case 10n: return `F_SETSIG,${ldec(arg)},`;
    case 11n: return "F_GETSIG";
    case 15n: return `F_SETOWN_EX,${pointer(arg)}`;
    case 16n: return `F_GETOWN_EX,${pointer(arg)}`;
    case 36n: return `F_OFD_GETLK,${pointer(arg)}`;
    case 37n: return `F_OFD_SETLK,${pointer(arg)}`;
    case 38n: return `F_OFD_SETLKW,${pointer(arg)}`;
    case 1024n: return `F_SETLEASE,${ldec(arg)}`;
    case 1025n: return "F_GETLEASE";
    case 1026n: return `F_NOTIFY,${ldec(arg)}`;
    case 1030n: return `F_DUPFD_CLOEXEC,${ldec(arg)}`;
    case 1031n: return `F_SETPIPE_SZ,${ldec(arg)}`;
    case 1032n: return "F_GETPIPE_SZ";
    case 1033n: return `F_ADD_SEALS,${hex64(arg)}`;
    case 1034n: return "F_GET_SEALS";
    default: return `${ldec(cmd)},${pointer(arg)}`;
  }
}

/** System V IPC commands; where message, shared memory and semaphore numbers collide the first name wins. */
const IPC_COMMANDS: Record<number, string> = {
  0: "IPC_RMID", 1: "IPC_SET", 2: "IPC_STAT", 3: "IPC_INFO", 11: "MSG_STAT", 12: "MSG_INFO", 13: "SHM_STAT",
  14: "SHM_INFO", 15: "GETZCNT", 16: "SETVAL", 17: "SETALL", 18: "SEM_STAT", 19: "SEM_INFO",
};

function ipcCommand(cmd: number): string {
  return IPC_COMMANDS[cmd] ?? String(cmd);
}

// ---- signals ----

const SI_USER = 0, SI_KERNEL = 0x80, SI_QUEUE = -1, SI_TIMER = -2, SI_MESGQ = -3, SI_ASYNCIO = -4, SI_SIGIO = -5,
  SI_TKILL = -6;
const SI_CODES: Record<number, string> = {
  [SI_USER]: "SI_USER", [SI_KERNEL]: "SI_KERNEL", [SI_QUEUE]: "SI_QUEUE", [SI_TIMER]: "SI_TIMER",
  [SI_MESGQ]: "SI_MESGQ", [SI_ASYNCIO]: "SI_ASYNCIO", [SI_SIGIO]: "SI_SIGIO", [SI_TKILL]: "SI_TKILL",
};
const SIGCHLD = 17, SIGIO = 29;

/** What a siginfo says, as the fields that matter for how it was sent. */
export interface SiginfoView {
  signo: number;
  code: number;
  /** kill: sender; fault: the address; chld: the child */
  pid: number;
  uid: number;
  status: number;
  utime: bigint;
  stime: bigint;
  /** rt: the value; poll: the band */
  value: bigint;
  fd: number;
  addr: bigint;
  /** Which union member is valid: how the signal came about. */
  type: "kill" | "fault" | "chld" | "rt" | "poll";
}

/** "{si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=1, si_uid=0}" */
export function formatSiginfo(s: SiginfoView): string {
  let out = `{si_signo=${signalName(BigInt(s.signo))}, si_code=${SI_CODES[s.code] ?? String(s.code)}`;
  switch (s.type) {
    case "kill": out += `, si_pid=${s.pid >>> 0}, si_uid=${s.uid >>> 0}`; break;
    case "poll": out += `, si_band=${int32(s.value)}, si_fd=${s.fd}`; break;
    case "fault": out += `, si_addr=${pointer(s.addr)}`; break;
    case "chld":
      out += `, si_pid=${s.pid >>> 0}, si_uid=${s.uid >>> 0}, si_status=${s.status}, si_utime=${s.utime}, ` +
        `si_stime=${s.stime}`;
      break;
    case "rt": out += `, si_pid=${s.pid >>> 0}, si_uid=${s.uid >>> 0}, si_sigval=${BigInt.asIntN(64, s.value)}`; break;
  }
  return `${out}}`;
}

/** "--- SIGNAME {siginfo} ---" and the newline, for a signal being taken. */
export function formatSignal(s: SiginfoView): string {
  return `--- ${signalName(BigInt(s.signo))} ${formatSiginfo(s)} ---\n`;
}

/**
 * A siginfo in guest memory (rt_sigqueueinfo's argument), read as the kernel
 * would guess its kind: the code tells kill from the rest, then the signal.
 */
export function siginfoFromBytes(b: Uint8Array): SiginfoView {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const signo = v.getInt32(0, true);
  const code = v.getInt32(8, true);
  const s: SiginfoView = {
    signo, code, pid: v.getInt32(16, true), uid: v.getInt32(20, true), status: 0, utime: 0n, stime: 0n,
    value: 0n, fd: 0, addr: 0n, type: "kill",
  };
  if (code === SI_USER || code === SI_TKILL || code === SI_KERNEL) return s;
  if (signo === SIGCHLD) {
    return { ...s, type: "chld", status: v.getInt32(24, true), utime: v.getBigInt64(32, true), stime: v.getBigInt64(40, true) };
  }
  if (signo === SIGIO) return { ...s, type: "poll", value: v.getBigInt64(16, true), fd: v.getInt32(24, true) };
  return { ...s, type: "rt", value: v.getBigUint64(24, true) };
}

const SIGINFO_SIZE = 128;

function siginfoAt(mem: StraceMemory, addr: bigint): string {
  const b = addr === 0n ? undefined : mem.bytes(addr, SIGINFO_SIZE);
  return b === undefined ? pointer(addr) : formatSiginfo(siginfoFromBytes(b));
}
