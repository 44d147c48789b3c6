/**
 * -strace output: one line per system call, in the shape of QEMU's
 * ("PID name(args) = result", errors as "-1 errno=N (text)").
 */
import type { SyscallArgs, SyscallResult } from "./syscall.js";
import { NO_RESULT } from "./syscall.js";

/** How many arguments each call takes, for the calls where fewer than six are printed. */
const ARG_COUNT: Record<string, number> = {
  exit: 1, exit_group: 1, close: 1, brk: 1, getpid: 0, gettid: 0, getppid: 0, getuid: 0, geteuid: 0,
  getgid: 0, getegid: 0, set_tid_address: 1, dup: 1, read: 3, write: 3, openat: 4, fstat: 2,
  newfstatat: 4, munmap: 2, mprotect: 3, mmap: 6, uname: 1, lseek: 3, ioctl: 3, writev: 3, readv: 3,
};

const ERRNO_TEXT: Record<number, string> = {
  1: "Operation not permitted", 2: "No such file or directory", 3: "No such process", 4: "Interrupted system call",
  5: "Input/output error", 9: "Bad file descriptor", 10: "No child processes", 11: "Resource temporarily unavailable",
  12: "Cannot allocate memory", 13: "Permission denied", 14: "Bad address", 17: "File exists", 20: "Not a directory",
  21: "Is a directory", 22: "Invalid argument", 24: "Too many open files", 25: "Inappropriate ioctl for device",
  29: "Illegal seek", 32: "Broken pipe", 34: "Numerical result out of range", 38: "Function not implemented",
  39: "Directory not empty", 110: "Connection timed out",
};

export function formatSyscall(pid: number, nr: number, name: string | undefined, a: SyscallArgs,
  result: SyscallResult): string {
  const n = name === undefined ? 6 : ARG_COUNT[name] ?? 6;
  const args: string[] = [];
  for (let i = 0; i < n; i++) args.push(hex(a.u(i)));
  const call = `${pid} ${name ?? `unknown_syscall_${nr}`}(${args.join(",")})`;
  if (result === NO_RESULT) return call;
  const v = typeof result === "bigint" ? result : BigInt(result);
  if (v < 0n && v >= -4095n) {
    const e = Number(-v);
    return `${call} = -1 errno=${e} (${ERRNO_TEXT[e] ?? `error ${e}`})`;
  }
  return `${call} = ${v >= 0n && v < 0x10000n ? v.toString() : hex(BigInt.asUintN(64, v))}`;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
