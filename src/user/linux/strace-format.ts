/**
 * The pieces of a -strace line, each a small function of one argument (or a
 * few related ones): numbers in the printf forms qemu-riscv64 uses, guest
 * pointers, strings read from guest memory, and the flag and name tables
 * that turn a number into O_RDWR|O_CREAT, PROT_READ, SIGCHLD or AT_FDCWD.
 *
 * Values arrive as the unsigned 64-bit register contents (bigint); the
 * narrower forms take the low 32 bits, as a C int parameter would.
 */

/** What the formatters may read of the guest: undefined where unmapped. */
export interface StraceMemory {
  bytes(addr: bigint, len: number): Uint8Array | undefined;
  cstring(addr: bigint): Uint8Array | undefined;
}

// ---- numbers ----

const U64 = (1n << 64n) - 1n;

export function int32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

export function uint32(v: bigint): number {
  return Number(BigInt.asUintN(32, v));
}

/** %d */
export const dec = (v: bigint): string => String(int32(v));
/** %u */
export const udec = (v: bigint): string => String(uint32(v));
/** %ld: the whole register, signed */
export const ldec = (v: bigint): string => BigInt.asIntN(64, v).toString();
/** %lu */
export const ludec = (v: bigint): string => BigInt.asUintN(64, v).toString();
/** %#x of an int: no prefix for zero, as C prints it */
export const hex32 = (v: bigint): string => (uint32(v) === 0 ? "0" : `0x${uint32(v).toString(16)}`);
/** %#o of an int */
export const oct32 = (v: bigint): string => (uint32(v) === 0 ? "0" : `0${uint32(v).toString(8)}`);
/** %p: the host C library's form, "(nil)" for zero */
export const hostPointer = (v: bigint): string => (v === 0n ? "(nil)" : `0x${(v & U64).toString(16)}`);
/** A 64-bit value in 16 hex digits, as the guest's addresses are shown. */
export const hex64 = (v: bigint): string => `0x${(v & U64).toString(16).padStart(16, "0")}`;
/** A guest pointer: NULL, or its address in full. */
export const pointer = (v: bigint): string => (v === 0n ? "NULL" : hex64(v));

// ---- strings ----

const utf8 = new TextDecoder("utf-8");

/** A NUL-terminated guest string in quotes, as it is (no escapes); the pointer when unreadable. */
export function guestString(mem: StraceMemory, addr: bigint): string {
  const s = addr === 0n ? undefined : mem.cstring(addr);
  return s === undefined ? pointer(addr) : `"${utf8.decode(s)}"`;
}

// ---- flags and names ----

/** [value, name] pairs, in the order the names are tried. */
export type FlagTable = readonly (readonly [number, string])[];

/**
 * Names of the bits set, joined by "|", then whatever no name covered in
 * hex; the table's zero entry (if first) names zero; hex when nothing matches.
 */
export function flags(table: FlagTable, value: bigint): string {
  let rest = uint32(value);
  if (rest === 0 && table.length > 0 && table[0][0] === 0) return table[0][1];
  const names: string[] = [];
  for (const [bit, name] of table) {
    if (bit !== 0 && (rest & bit) >>> 0 === bit) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (names.length === 0) return hex32(value);
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join("|");
}

/** The name of a value from a list, or the value in hex. */
export function named(table: FlagTable, value: bigint): string {
  for (const [v, name] of table) if (BigInt(v) === value) return name;
  return hex32(value);
}

export const O_ACCMODE = 3;
export const O_CREAT = 0o100;

const OPEN_ACCESS: FlagTable = [[0, "O_RDONLY"], [1, "O_WRONLY"], [2, "O_RDWR"]];
const OPEN_FLAGS: FlagTable = [
  [0o2000, "O_APPEND"], [0o100, "O_CREAT"], [0o200000, "O_DIRECTORY"], [0o200, "O_EXCL"],
  [0o100000, "O_LARGEFILE"], [0o400, "O_NOCTTY"], [0o400000, "O_NOFOLLOW"], [0o4000, "O_NONBLOCK"],
  [0o10000, "O_DSYNC"], [0o4000000, "__O_SYNC"], [0o1000, "O_TRUNC"], [0o40000, "O_DIRECT"],
  [0o1000000, "O_NOATIME"], [0o2000000, "O_CLOEXEC"], [0o10000000, "O_PATH"],
  [0o20200000, "O_TMPFILE"], [0o20000000, "__O_TMPFILE"],
];

/** open/openat flags: the access mode by name, then the other flags. */
export function openFlags(v: bigint): string {
  const access = flags(OPEN_ACCESS, v & BigInt(O_ACCMODE));
  const rest = v & ~BigInt(O_ACCMODE);
  return uint32(rest) === 0 ? access : `${access}|${flags(OPEN_FLAGS, rest)}`;
}

const FILE_TYPES: FlagTable = [
  [0o140000, "S_IFSOCK"], [0o120000, "S_IFLNK"], [0o100000, "S_IFREG"], [0o60000, "S_IFBLK"],
  [0o40000, "S_IFDIR"], [0o20000, "S_IFCHR"], [0o10000, "S_IFIFO"],
];
const S_IFMT = 0o170000;

/** A file mode: its type by name (if any), then the permission bits in octal. */
export function fileMode(v: bigint): string {
  let mode = uint32(v);
  if (mode === 0) return "000";
  let out = "";
  for (const [bits, name] of FILE_TYPES) {
    if ((bits & mode) === bits) {
      out = name;
      break;
    }
  }
  mode &= ~S_IFMT;
  if (mode !== 0) out += `${out === "" ? "" : "|"}0${mode.toString(8)}`;
  return out;
}

const AT_FDCWD = -100;

export const atDirfd = (v: bigint): string => (int32(v) === AT_FDCWD && BigInt.asIntN(64, v) === -100n ? "AT_FDCWD" : dec(v));

export const ACCESS_MODES: FlagTable = [[0, "F_OK"], [4, "R_OK"], [2, "W_OK"], [1, "X_OK"]];
export const AT_FLAGS: FlagTable = [[0x200, "AT_EACCESS"], [0x100, "AT_SYMLINK_NOFOLLOW"]];
export const UNLINKAT_FLAGS: FlagTable = [[0x200, "AT_REMOVEDIR"]];
export const STATX_FLAGS: FlagTable = [
  [0x1000, "AT_EMPTY_PATH"], [0x800, "AT_NO_AUTOMOUNT"], [0x100, "AT_SYMLINK_NOFOLLOW"], [0, "AT_STATX_SYNC_AS_STAT"],
  [0x2000, "AT_STATX_FORCE_SYNC"], [0x4000, "AT_STATX_DONT_SYNC"],
];
export const STATX_MASK: FlagTable = [
  [0xfff, "STATX_ALL"], [0x7ff, "STATX_BASIC_STATS"], [0x1, "STATX_TYPE"], [0x2, "STATX_MODE"], [0x4, "STATX_NLINK"],
  [0x8, "STATX_UID"], [0x10, "STATX_GID"], [0x20, "STATX_ATIME"], [0x40, "STATX_MTIME"], [0x80, "STATX_CTIME"],
  [0x100, "STATX_INO"], [0x200, "STATX_SIZE"], [0x400, "STATX_BLOCKS"], [0x800, "STATX_BTIME"],
];
export const PROT_FLAGS: FlagTable = [
  [0, "PROT_NONE"], [4, "PROT_EXEC"], [1, "PROT_READ"], [2, "PROT_WRITE"], [8, "PROT_SEM"],
  [0x1000000, "PROT_GROWSDOWN"], [0x2000000, "PROT_GROWSUP"],
];
export const MAP_FLAGS: FlagTable = [
  [0x1, "MAP_SHARED"], [0x2, "MAP_PRIVATE"], [0x20, "MAP_ANONYMOUS"], [0x800, "MAP_DENYWRITE"], [0x10, "MAP_FIXED"],
  [0x100, "MAP_GROWSDOWN"], [0x1000, "MAP_EXECUTABLE"], [0x2000, "MAP_LOCKED"], [0x10000, "MAP_NONBLOCK"],
  [0x4000, "MAP_NORESERVE"], [0x8000, "MAP_POPULATE"], [0x4000000, "MAP_UNINITIALIZED"],
];
export const CLONE_FLAGS: FlagTable = [
  [0x100, "CLONE_VM"], [0x200, "CLONE_FS"], [0x400, "CLONE_FILES"], [0x800, "CLONE_SIGHAND"], [0x2000, "CLONE_PTRACE"],
  [0x4000, "CLONE_VFORK"], [0x8000, "CLONE_PARENT"], [0x10000, "CLONE_THREAD"], [0x20000, "CLONE_NEWNS"],
  [0x40000, "CLONE_SYSVSEM"], [0x80000, "CLONE_SETTLS"], [0x100000, "CLONE_PARENT_SETTID"],
  [0x200000, "CLONE_CHILD_CLEARTID"], [0x400000, "CLONE_DETACHED"], [0x800000, "CLONE_UNTRACED"],
  [0x1000000, "CLONE_CHILD_SETTID"], [0x4000000, "CLONE_NEWUTS"], [0x8000000, "CLONE_NEWIPC"],
  [0x10000000, "CLONE_NEWUSER"], [0x20000000, "CLONE_NEWPID"], [0x40000000, "CLONE_NEWNET"],
  [0x2000000, "CLONE_NEWCGROUP"], [0x80, "CLONE_NEWTIME"], [0x80000000, "CLONE_IO"],
];
export const MLOCKALL_FLAGS: FlagTable = [[1, "MCL_CURRENT"], [2, "MCL_FUTURE"], [4, "MCL_ONFAULT"]];
export const UMOUNT2_FLAGS: FlagTable = [[1, "MNT_FORCE"], [2, "MNT_DETACH"], [4, "MNT_EXPIRE"]];
export const MOUNT_FLAGS: FlagTable = [
  [4096, "MS_BIND"], [128, "MS_DIRSYNC"], [64, "MS_MANDLOCK"], [8192, "MS_MOVE"], [1024, "MS_NOATIME"],
  [4, "MS_NODEV"], [2048, "MS_NODIRATIME"], [8, "MS_NOEXEC"], [2, "MS_NOSUID"], [1, "MS_RDONLY"],
  [1 << 21, "MS_RELATIME"], [32, "MS_REMOUNT"], [16, "MS_SYNCHRONOUS"],
];
export const FALLOC_FLAGS: FlagTable = [
  [1, "FALLOC_FL_KEEP_SIZE"], [2, "FALLOC_FL_PUNCH_HOLE"], [4, "FALLOC_FL_NO_HIDE_STALE"],
  [8, "FALLOC_FL_COLLAPSE_RANGE"], [0x10, "FALLOC_FL_ZERO_RANGE"], [0x20, "FALLOC_FL_INSERT_RANGE"],
  [0x40, "FALLOC_FL_UNSHARE_RANGE"],
];
export const CLOCK_IDS: FlagTable = [
  [0, "CLOCK_REALTIME"], [1, "CLOCK_MONOTONIC"], [2, "CLOCK_PROCESS_CPUTIME_ID"], [3, "CLOCK_THREAD_CPUTIME_ID"],
  [4, "CLOCK_MONOTONIC_RAW"], [5, "CLOCK_REALTIME_COARSE"], [6, "CLOCK_MONOTONIC_COARSE"], [7, "CLOCK_BOOTTIME"],
  [8, "CLOCK_REALTIME_ALARM"], [9, "CLOCK_BOOTTIME_ALARM"], [10, "CLOCK_SGI_CYCLE"], [11, "CLOCK_TAI"],
];
export const ITIMER_WHICH: FlagTable = [[0, "ITIMER_REAL"], [1, "ITIMER_VIRTUAL"], [2, "ITIMER_PROF"]];
export const MADVISE_ADVICE: FlagTable = [
  [0, "MADV_NORMAL"], [1, "MADV_RANDOM"], [2, "MADV_SEQUENTIAL"], [3, "MADV_WILLNEED"], [4, "MADV_DONTNEED"],
  [8, "MADV_FREE"], [9, "MADV_REMOVE"], [10, "MADV_DONTFORK"], [11, "MADV_DOFORK"], [12, "MADV_MERGEABLE"],
  [13, "MADV_UNMERGEABLE"], [14, "MADV_HUGEPAGE"], [15, "MADV_NOHUGEPAGE"], [16, "MADV_DONTDUMP"],
  [17, "MADV_DODUMP"], [18, "MADV_WIPEONFORK"], [19, "MADV_KEEPONFORK"], [20, "MADV_COLD"], [21, "MADV_PAGEOUT"],
  [22, "MADV_POPULATE_READ"], [23, "MADV_POPULATE_WRITE"], [24, "MADV_DONTNEED_LOCKED"],
];
export const SYSLOG_ACTIONS: FlagTable = [
  [0, "SYSLOG_ACTION_CLOSE"], [1, "SYSLOG_ACTION_OPEN"], [2, "SYSLOG_ACTION_READ"], [3, "SYSLOG_ACTION_READ_ALL"],
  [4, "SYSLOG_ACTION_READ_CLEAR"], [5, "SYSLOG_ACTION_CLEAR"], [6, "SYSLOG_ACTION_CONSOLE_OFF"],
  [7, "SYSLOG_ACTION_CONSOLE_ON"], [8, "SYSLOG_ACTION_CONSOLE_LEVEL"], [9, "SYSLOG_ACTION_SIZE_UNREAD"],
  [10, "SYSLOG_ACTION_SIZE_BUFFER"],
];
export const SEEK_WHENCE: FlagTable = [[0, "SEEK_SET"], [1, "SEEK_CUR"], [2, "SEEK_END"], [3, "SEEK_DATA"], [4, "SEEK_HOLE"]];
export const SIGPROCMASK_HOW: FlagTable = [[0, "SIG_BLOCK"], [1, "SIG_UNBLOCK"], [2, "SIG_SETMASK"]];

/** Standard signal names by number (6 is shown as SIGIOT, its alias, as qemu-riscv64 does). */
const SIGNAL_NAMES: readonly string[] = [
  "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGIOT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
  "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
  "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
  "SIGSYS",
];

/** A signal by name; real-time and unknown signals as numbers. */
export function signalName(v: bigint): string {
  const n = v >= 0n && v < BigInt(SIGNAL_NAMES.length) ? SIGNAL_NAMES[Number(v)] : "";
  return n === "" ? ldec(v) : n;
}

// ---- structures ----

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** struct timespec (two 64-bit fields on riscv64). */
export function timespec(mem: StraceMemory, addr: bigint): string {
  if (addr === 0n) return "NULL";
  const b = mem.bytes(addr, 16);
  if (b === undefined) return pointer(addr);
  const v = view(b);
  return `{tv_sec = ${v.getBigInt64(0, true)},tv_nsec = ${v.getBigInt64(8, true)}}`;
}

/** struct timeval */
export function timeval(mem: StraceMemory, addr: bigint): string {
  if (addr === 0n) return "NULL";
  const b = mem.bytes(addr, 16);
  if (b === undefined) return pointer(addr);
  const v = view(b);
  return `{tv_sec = ${v.getBigInt64(0, true)},tv_usec = ${v.getBigInt64(8, true)}}`;
}

/** struct timezone */
export function timezone(mem: StraceMemory, addr: bigint): string {
  if (addr === 0n) return "NULL";
  const b = mem.bytes(addr, 8);
  if (b === undefined) return pointer(addr);
  const v = view(b);
  return `{${v.getInt32(0, true)},${v.getInt32(4, true)}}`;
}

/** struct itimerval: each half printed as a timeval, each followed by a comma. */
export function itimerval(mem: StraceMemory, addr: bigint): string {
  if (addr === 0n) return "NULL";
  return `{it_interval=${timeval(mem, addr)},it_value=${timeval(mem, addr + 16n)},}`;
}

/** An int read from guest memory, in brackets. */
export function intAt(mem: StraceMemory, addr: bigint): string {
  if (addr === 0n) return "NULL";
  const b = mem.bytes(addr, 4);
  // An unreadable int prints what the failed read left: qemu-riscv64 shows 0.
  return `[${b === undefined ? 0 : view(b).getInt32(0, true)}]`;
}

const AF_UNIX = 1, AF_INET = 2, AF_NETLINK = 16;

/** A socket address (bind, connect...) followed by its length. */
export function sockaddr(mem: StraceMemory, addr: bigint, len: bigint): string {
  const n = Number(BigInt.asUintN(32, len));
  const b = n > 0 && n <= 4096 ? mem.bytes(addr, n) : undefined;
  let text: string;
  if (b === undefined || b.length < 2) {
    text = `0x${(addr & U64).toString(16).padStart(16, "0")}`;
  } else {
    const v = view(b);
    const family = v.getUint16(0, true);
    if (family === AF_UNIX) {
      let path = "";
      for (let i = 2; i < b.length && b[i] !== 0; i++) path += String.fromCharCode(b[i]);
      text = `{sun_family=AF_UNIX,sun_path="${path}"}`;
    } else if (family === AF_INET && b.length >= 8) {
      text = `{sin_family=AF_INET,sin_port=htons(${v.getUint16(2, false)}),` +
        `sin_addr=inet_addr("${b[4]}.${b[5]}.${b[6]}.${b[7]}")}`;
    } else if (family === AF_NETLINK && b.length >= 12) {
      text = `{nl_family=AF_NETLINK,nl_pid=${v.getUint32(4, true)},nl_groups=${v.getUint32(8, true)}}`;
    } else {
      const data: string[] = [];
      for (let i = 0; i < 14; i++) data.push((b[2 + i] ?? 0).toString(16).padStart(2, "0"));
      text = `{sa_family=${family}, sa_data={${data.join(", ")}}}`;
    }
  }
  return `${text}, ${ldec(len)}`;
}

const SOCKET_DOMAINS: FlagTable = [[1, "PF_UNIX"], [2, "PF_INET"], [16, "PF_NETLINK"], [17, "PF_PACKET"]];
const SOCKET_TYPES: FlagTable = [
  [2, "SOCK_DGRAM"], [1, "SOCK_STREAM"], [3, "SOCK_RAW"], [4, "SOCK_RDM"], [5, "SOCK_SEQPACKET"], [10, "SOCK_PACKET"],
];
const SOCK_CLOEXEC = 0o2000000, SOCK_NONBLOCK = 0o4000;
const NETLINK_PROTOCOLS: FlagTable = [
  [0, "NETLINK_ROUTE"], [9, "NETLINK_AUDIT"], [12, "NETLINK_NETFILTER"], [15, "NETLINK_KOBJECT_UEVENT"],
  [20, "NETLINK_RDMA"], [21, "NETLINK_CRYPTO"],
];
const IP_PROTOCOLS: FlagTable = [[0, "IPPROTO_IP"], [6, "IPPROTO_TCP"], [17, "IPPROTO_UDP"], [255, "IPPROTO_RAW"]];

/** socket(domain, type, protocol) */
export function socketTriple(domain: bigint, type: bigint, protocol: bigint): string {
  const d = int32(domain);
  const ty = int32(type);
  const dname = SOCKET_DOMAINS.find(([v]) => v === d)?.[1] ?? String(d);
  let tname = SOCKET_TYPES.find(([v]) => v === (ty & 0xf))?.[1] ?? "";
  if ((ty & SOCK_CLOEXEC) !== 0) tname += "|SOCK_CLOEXEC";
  if ((ty & SOCK_NONBLOCK) !== 0) tname += "|SOCK_NONBLOCK";
  let p = int32(protocol);
  let pname: string;
  if (d === 17 || (d === AF_INET && ty === 10)) {
    p = ((p & 0xff) << 8) | ((p >> 8) & 0xff); // the protocol is in network byte order here
    pname = p === 3 ? "ETH_P_ALL" : String(p);
  } else if (d === AF_NETLINK) {
    pname = NETLINK_PROTOCOLS.find(([v]) => v === p)?.[1] ?? String(p);
  } else {
    pname = IP_PROTOCOLS.find(([v]) => v === p)?.[1] ?? String(p);
  }
  return `${dname},${tname},${pname}`;
}
