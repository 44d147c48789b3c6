/**
 * How -strace shows each riscv64 system call, as data: for every call that
 * qemu-riscv64 (7.2) knows, the kind of each argument it prints, in order,
 * and how it prints the result.  strace.ts turns a kind into text.
 *
 * An argument list is a space-separated list of kinds, taking the call's
 * arguments a0, a1... in turn; "kind@n" prints argument n instead (and the
 * next kind continues from n+1).  Kinds (see KINDS in strace.ts):
 *   d u x o ld lu    the register as printf's %d %u %#x %#o %ld %lu
 *   p                a pointer as the host C library prints %p ("(nil)" for 0)
 *   ptr              a guest pointer: NULL, or 0x and 16 hex digits
 *   str              a guest string in quotes
 *   atfd             a directory descriptor, AT_FDCWD by name
 *   mode             a file mode (type name, octal permissions)
 *   open             open flags, then the mode from the next argument when O_CREAT is set
 *   signal           a signal by name
 *   flags:T / enum:T the named flag or value table T (strace-format.ts)
 *   and a few whole-call kinds (clone, execve, fcntl, ioctl, futex...).
 * A call without a list prints its six arguments as %ld; a call that is not
 * in the table prints "Unknown syscall N" and no result.
 *
 * Results: "ld" (default, signed decimal), "addr" (0x and 16 hex digits),
 * "exit" (the call line ends at once: the call does not return), or one
 * that decodes what the call wrote (clock, tod, getitimer, setitimer,
 * ioctl, listxattr, adjtimex).
 */

export type ResultKind = "ld" | "addr" | "exit" | "clock" | "tod" | "getitimer" | "setitimer" | "ioctl" |
  "listxattr" | "adjtimex";

export interface StraceEntry {
  readonly name: string;
  /** undefined: the six arguments as %ld. */
  readonly args?: string;
  readonly result?: ResultKind;
}

const GENERIC = undefined;

/** [number, name, argument kinds, result kind] */
const ENTRIES: readonly (readonly [number, string, string | undefined, ResultKind?])[] = [
  [0, "io_setup", GENERIC], [1, "io_destroy", GENERIC], [2, "io_submit", GENERIC], [3, "io_cancel", GENERIC],
  [4, "io_getevents", GENERIC], [5, "setxattr", GENERIC], [6, "lsetxattr", GENERIC], [7, "fsetxattr", GENERIC],
  [8, "getxattr", "str str ptr lu"], [9, "lgetxattr", "str str ptr lu"], [10, "fgetxattr", "d str ptr lu"],
  [11, "listxattr", "str ptr lu", "listxattr"], [12, "llistxattr", "str ptr lu", "listxattr"],
  [13, "flistxattr", "d ptr lu", "listxattr"], [14, "removexattr", "str str"], [15, "lremovexattr", "str str"],
  [16, "fremovexattr", "d str"], [17, "getcwd", "p d"], [18, "lookup_dcookie", GENERIC], [19, "eventfd2", "d d"],
  [20, "epoll_create1", "d"], [21, "epoll_ctl", GENERIC], [22, "epoll_pwait", GENERIC], [23, "dup", "d"],
  [24, "dup3", "d d d"], [25, "fcntl", "d fcntl"], [26, "inotify_init1", GENERIC], [27, "inotify_add_watch", GENERIC],
  [28, "inotify_rm_watch", GENERIC], [29, "ioctl", "d ioctl", "ioctl"], [30, "ioprio_set", GENERIC],
  [31, "ioprio_get", GENERIC], [32, "flock", GENERIC], [33, "mknodat", "atfd str mknod"],
  [34, "mkdirat", "atfd str mode"], [35, "unlinkat", "atfd str flags:unlinkat"], [36, "symlinkat", "str atfd str"],
  [37, "linkat", "atfd str atfd str flags:at"], [39, "umount2", "str flags:umount2"],
  [40, "mount", "str str str flags:mount ptr"], [41, "pivot_root", GENERIC], [42, "nfsservctl", GENERIC],
  [43, "statfs", "str ptr"], [44, "fstatfs", "d p"], [45, "truncate", "str ld"], [46, "ftruncate", "d ld"],
  [47, "fallocate", "d flags:falloc ld ld"], [48, "faccessat", "atfd str flags:access flags:at"],
  [49, "chdir", "str"], [50, "fchdir", "d"], [51, "chroot", "str"], [52, "fchmod", "d o"],
  [53, "fchmodat", "atfd str mode flags:at"], [54, "fchownat", "atfd str d d flags:at"], [55, "fchown", "d d d"],
  [56, "openat", "atfd str open"], [57, "close", "d"], [58, "vhangup", GENERIC], [59, "pipe2", GENERIC],
  [60, "quotactl", GENERIC], [61, "getdents64", "d p u"], [62, "lseek", "d ld enum:whence"], [63, "read", "d x d"],
  [64, "write", "d x d"], [65, "readv", GENERIC], [66, "writev", "d p x"], [67, "pread64", GENERIC],
  [68, "pwrite64", GENERIC], [69, "preadv", GENERIC], [70, "pwritev", GENERIC], [71, "sendfile", GENERIC],
  [72, "pselect6", GENERIC], [73, "ppoll", GENERIC], [74, "signalfd4", GENERIC], [75, "vmsplice", GENERIC],
  [76, "splice", GENERIC], [77, "tee", GENERIC], [78, "readlinkat", "atfd str ptr u"],
  [79, "newfstatat", "atfd str ptr flags:at"], [80, "fstat", "d ptr"], [81, "sync", GENERIC], [82, "fsync", "d"],
  [83, "fdatasync", "d"], [84, "sync_file_range", GENERIC], [85, "timerfd_create", GENERIC],
  [86, "timerfd_settime", GENERIC], [87, "timerfd_gettime", GENERIC], [88, "utimensat", "atfd str ptr flags:at"],
  [89, "acct", "str"], [90, "capget", "p p"], [91, "capset", "p p"], [92, "personality", GENERIC],
  [93, "exit", "d", "exit"], [94, "exit_group", "d", "exit"], [95, "waitid", "x d p x"],
  [96, "set_tid_address", GENERIC], [97, "unshare", "flags:clone"], [98, "futex", "futex"],
  [99, "set_robust_list", GENERIC], [100, "get_robust_list", GENERIC], [101, "nanosleep", GENERIC],
  [102, "getitimer", "enum:itimer ptr", "getitimer"], [103, "setitimer", "enum:itimer itimerval ptr", "setitimer"],
  [104, "kexec_load", GENERIC], [105, "init_module", GENERIC], [106, "delete_module", GENERIC],
  [107, "timer_create", GENERIC], [108, "timer_gettime", GENERIC], [109, "timer_getoverrun", GENERIC],
  [110, "timer_settime", "d d p p"], [111, "timer_delete", GENERIC], [112, "clock_settime", "enum:clock timespec"],
  [113, "clock_gettime", "enum:clock ptr", "clock"], [114, "clock_getres", "enum:clock ptr", "clock"],
  [115, "clock_nanosleep", "enum:clock d timespec timespec"], [116, "syslog", "syslog ptr d"],
  [117, "ptrace", GENERIC], [118, "sched_setparam", GENERIC], [119, "sched_setscheduler", GENERIC],
  [120, "sched_getscheduler", GENERIC], [121, "sched_getparam", GENERIC], [122, "sched_setaffinity", GENERIC],
  [123, "sched_getaffinity", GENERIC], [124, "sched_yield", GENERIC], [125, "sched_get_priority_max", GENERIC],
  [126, "sched_get_priority_min", GENERIC], [127, "sched_rr_get_interval", GENERIC],
  [128, "restart_syscall", GENERIC], [129, "kill", "d signal"], [130, "tkill", "d signal"],
  [131, "tgkill", "d d signal"], [132, "sigaltstack", "p p"], [133, "rt_sigsuspend", GENERIC],
  [134, "rt_sigaction", "signal ptr ptr"], [135, "rt_sigprocmask", "how ptr ptr"], [136, "rt_sigpending", GENERIC],
  [137, "rt_sigtimedwait", GENERIC], [138, "rt_sigqueueinfo", "d signal siginfo"], [139, "rt_sigreturn", GENERIC],
  [140, "setpriority", GENERIC], [141, "getpriority", "x x"], [142, "reboot", GENERIC], [143, "setregid", GENERIC],
  [144, "setgid", "u"], [145, "setreuid", "u u"], [146, "setuid", GENERIC], [147, "setresuid", "u u u"],
  [148, "getresuid", GENERIC], [149, "setresgid", "u u u"], [150, "getresgid", GENERIC], [151, "setfsuid", "u"],
  [152, "setfsgid", "u"], [153, "times", GENERIC], [154, "setpgid", "u u"], [155, "getpgid", "u"],
  [156, "getsid", "d"], [157, "setsid", ""], [158, "getgroups", GENERIC], [159, "setgroups", GENERIC],
  [160, "uname", "p"], [161, "sethostname", GENERIC], [162, "setdomainname", GENERIC], [163, "getrlimit", GENERIC],
  [164, "setrlimit", GENERIC], [165, "getrusage", GENERIC], [166, "umask", "o"], [167, "prctl", GENERIC],
  [168, "getcpu", "p d"], [169, "gettimeofday", "ptr ptr", "tod"], [170, "settimeofday", "timeval timezone"],
  [171, "adjtimex", "p", "adjtimex"], [172, "getpid", ""], [173, "getppid", ""], [174, "getuid", ""],
  [175, "geteuid", ""], [176, "getgid", ""], [177, "getegid", ""], [178, "gettid", ""], [179, "sysinfo", GENERIC],
  [180, "mq_open", "str mq_open"], [181, "mq_unlink", "str"], [182, "mq_timedsend", "d p d u p"],
  [183, "mq_timedreceive", "d p d u p"], [184, "mq_notify", "d p"], [185, "mq_getsetattr", "d p p"],
  [186, "msgget", GENERIC], [187, "msgctl", GENERIC], [188, "msgrcv", GENERIC], [189, "msgsnd", GENERIC],
  [190, "semget", GENERIC], [191, "semctl", "ld ld ipccmd lx"], [192, "semtimedop", GENERIC], [193, "semop", GENERIC],
  [194, "shmget", GENERIC], [195, "shmctl", GENERIC], [196, "shmat", GENERIC, "addr"], [197, "shmdt", GENERIC],
  [198, "socket", "socket"], [199, "socketpair", GENERIC], [200, "bind", "ld sockaddr"], [201, "listen", "d d"],
  [202, "accept", "d ptr int"], [203, "connect", "d x d"], [204, "getsockname", GENERIC],
  [205, "getpeername", GENERIC], [206, "sendto", GENERIC], [207, "recvfrom", GENERIC], [208, "setsockopt", GENERIC],
  [209, "getsockopt", GENERIC], [210, "shutdown", GENERIC], [211, "sendmsg", GENERIC], [212, "recvmsg", "d p x"],
  [213, "readahead", GENERIC], [214, "brk", "ptr", "addr"], [215, "munmap", "ptr d"], [216, "mremap", GENERIC],
  [217, "add_key", GENERIC], [218, "request_key", GENERIC], [219, "keyctl", GENERIC], [220, "clone", "clone"],
  [221, "execve", "execve"], [222, "mmap", "ptr d flags:prot flags:map d x", "addr"], [223, "fadvise64", GENERIC],
  [224, "swapon", GENERIC], [225, "swapoff", GENERIC], [226, "mprotect", "ptr d flags:prot"], [227, "msync", GENERIC],
  [228, "mlock", "p lu"], [229, "munlock", "p lu"], [230, "mlockall", "flags:mlockall"], [231, "munlockall", ""],
  [232, "mincore", GENERIC], [233, "madvise", "ptr d enum:madvise"], [234, "remap_file_pages", GENERIC],
  [235, "mbind", GENERIC], [236, "get_mempolicy", GENERIC], [237, "set_mempolicy", GENERIC],
  [238, "migrate_pages", GENERIC], [239, "move_pages", GENERIC], [240, "rt_tgsigqueueinfo", "d d signal siginfo"],
  [241, "perf_event_open", GENERIC], [242, "accept4", GENERIC], [243, "recvmmsg", GENERIC], [260, "wait4", GENERIC],
  [261, "prlimit64", GENERIC], [262, "fanotify_init", GENERIC], [263, "fanotify_mark", GENERIC],
  [264, "name_to_handle_at", GENERIC], [266, "clock_adjtime", "enum:clock ptr"], [267, "syncfs", "d"],
  [268, "setns", GENERIC], [269, "sendmmsg", GENERIC], [270, "process_vm_readv", GENERIC],
  [271, "process_vm_writev", GENERIC], [272, "kcmp", GENERIC], [273, "finit_module", GENERIC],
  [275, "sched_getattr", GENERIC], [276, "renameat2", GENERIC], [277, "seccomp", GENERIC],
  [278, "getrandom", "p u u"], [279, "memfd_create", GENERIC], [280, "bpf", GENERIC], [281, "execveat", GENERIC],
  [282, "userfaultfd", GENERIC], [283, "membarrier", GENERIC], [284, "mlock2", GENERIC],
  [285, "copy_file_range", "d p d p lu u"], [291, "statx", "atfd str flags:statx flags:statxmask ptr"],
  [424, "pidfd_send_signal", "d signal siginfo u"], [434, "pidfd_open", "d u"], [436, "close_range", "u u u"],
  [438, "pidfd_getfd", "d d u"], [439, "faccessat2", "atfd str flags:access flags:at"],
];

let table: ReadonlyMap<number, StraceEntry> | undefined;

/** The table by syscall number, made when first asked for (only -strace and -d strace need it). */
export function straceTable(): ReadonlyMap<number, StraceEntry> {
  table ??= new Map(ENTRIES.map(([nr, name, args, result]) => [nr, { name, args, result }]));
  return table;
}

/** riscv_flush_icache: qemu-riscv64 answers it before the system-call layer, so it is never shown. */
export const RISCV_FLUSH_ICACHE = 259;
