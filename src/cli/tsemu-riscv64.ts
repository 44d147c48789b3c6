/**
 * tsemu-riscv64: run a riscv64 Linux program on this host, like
 * qemu-riscv64.  Options follow QEMU's linux-user; so do the environment
 * variables that set them (QEMU_LD_PREFIX, QEMU_STRACE, QEMU_STACK_SIZE...).
 */
import * as fs from "node:fs";
import { Process, signalForCause } from "../user/linux/process.js";
import { Kernel } from "../user/linux/kernel.js";
import { ElfError } from "../user/linux/elf.js";
import { SIGSTOP } from "../user/linux/signal.js";
import { DEFAULT_STACK_SIZE } from "../user/linux/loader.js";
import { OutOfMemory, Prot } from "../user/linux/address-space.js";
import type { Outcome } from "../user/linux/process.js";
import { setTickSource } from "../target/riscv/csr.js";
import { VERSION } from "../version.js";
import { disassemble } from "../target/riscv/disas.js";
import { UserGdb, readAuxv, type UserProcess } from "../gdbstub/user.js";
import { BlockingGdbSocket, GdbListenError } from "../host/gdb-blocking.js";
import { DEFAULT_ACCEL, isAccel, parseAccel as parseAccelArg, selectAccel, type Accel } from "../accel/engine.js";
import { tcgStatsLine } from "../accel/tcg/stats.js";
import { tcgSettings } from "../accel/tcg/code-cache.js";
import { exitProcess } from "../host/fast-exit.js";
import { randomFillSync } from "../host/fs.js";
import { hostProcessGroup } from "../host/proc.js";
import { startHostProgram } from "../host/host-program.js";
import { catchHostSignals, type HostSignals } from "../host/host-signals.js";
import { baselineOnlyAfter } from "../host/wasm-tiering.js";

const PROG = "tsemu-riscv64";

class UsageError extends Error {}

interface Options {
  sysroot: string | undefined;
  strace: boolean;
  /** -E and -U (and QEMU_SET_ENV, QEMU_UNSET_ENV) in the order given: [name, value] sets, [name] unsets. */
  envEdits: ([string, string] | [string])[];
  argv0: string | undefined;
  stackSize: number;
  cpu: string;
  debug: string[];
  logFile: string | undefined;
  /** -g: the TCP port to wait for gdb on. */
  gdbPort: number | undefined;
  accel: Accel;
  program: string;
  args: string[];
}

const HELP = `usage: ${PROG} [options] program [arguments...]
Linux riscv64 user-mode emulator: runs a riscv64 Linux program on this host.

Options and their environment variables:
-h                   print this help
-version             print the version and exit
-L path              QEMU_LD_PREFIX  look up guest absolute paths (the dynamic linker,
                                     libraries, files) under 'path' first
-s size              QEMU_STACK_SIZE set the stack size in bytes (suffixes k, M, G)
-cpu model           QEMU_CPU        select the CPU (rv64, or 'help' to list)
-E var=value         QEMU_SET_ENV    set a variable in the program's environment
-U var               QEMU_UNSET_ENV  remove a variable from the program's environment
-0 argv0             QEMU_ARGV0      pass 'argv0' as the program's argv[0]
-strace              QEMU_STRACE     log system calls to stderr
-d item[,...]        QEMU_LOG        log the items named (in_asm, cpu, strace, stats; 'help' lists)
-D logfile           QEMU_LOG_FILENAME  write the -d log to 'logfile' instead of stderr
-g port              QEMU_GDB        wait for gdb to connect on TCP 'port' (on 127.0.0.1)
                                     before the first instruction
-accel name[,prop=value...]  TSEMU_ACCEL  the execution engine: tcg (translate hot
                                     code to WebAssembly; properties tb-size=MiB,
                                     threshold=N, batch=N, patience=N, regroup=N,
                                     chain=on|off) or interp (the interpreter
                                     alone); default ${DEFAULT_ACCEL}

Exit status: the program's own; when it dies of signal N, tsemu dies of the same
signal (a shell shows status 128+N), as QEMU does.
`;

const LOG_ITEMS: Record<string, string> = {
  in_asm: "show the guest instructions as they are first decoded",
  cpu: "show the CPU registers at each system call and fault",
  strace: "log system calls (same as -strace)",
  stats: "print the guest instructions executed at exit (and forks, copy-on-write copies)",
  tcg: "print the translator's figures at exit (blocks, compile time, cache size, exits)",
};

function parseSize(s: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(s);
  if (m === null) throw new UsageError(`invalid stack size '${s}' (expected a number with an optional k, M or G suffix)`);
  const mult = { "": 1, k: 1024, K: 1024, m: 1 << 20, M: 1 << 20, g: 1 << 30, G: 1 << 30 }[m[2]] ?? 1;
  return Number(m[1]) * mult;
}

function parsePort(s: string): number {
  const port = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`invalid gdb port '${s}' (expected a TCP port number, 1-65535)`);
  return port;
}

/** -accel: the engine name; its properties are applied as a side effect. */
function parseAccel(s: string): Accel {
  const r = parseAccelArg(s);
  if (!isAccel(r)) throw new UsageError(r);
  // A user-mode run never yields to Node's event loop, where a module compiled off the thread would be installed.
  const mode = tcgSettings.compile;
  if (mode !== undefined && mode !== "sync") throw new UsageError(`-accel tcg,compile=${mode} is for the system emulator: user mode compiles at once`);
  return r;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Options | "exit" {
  const o: Options = {
    sysroot: env.QEMU_LD_PREFIX,
    strace: env.QEMU_STRACE !== undefined,
    envEdits: [],
    argv0: env.QEMU_ARGV0,
    stackSize: env.QEMU_STACK_SIZE !== undefined ? parseSize(env.QEMU_STACK_SIZE) : DEFAULT_STACK_SIZE,
    cpu: env.QEMU_CPU ?? "rv64",
    debug: env.QEMU_LOG !== undefined ? env.QEMU_LOG.split(",") : [],
    logFile: env.QEMU_LOG_FILENAME,
    gdbPort: env.QEMU_GDB !== undefined ? parsePort(env.QEMU_GDB) : undefined,
    accel: env.TSEMU_ACCEL !== undefined && env.TSEMU_ACCEL !== "" ? parseAccel(env.TSEMU_ACCEL) : DEFAULT_ACCEL,
    program: "",
    args: [],
  };
  for (const kv of (env.QEMU_SET_ENV ?? "").split(",").filter((s) => s !== "")) addEnv(o, kv);
  for (const k of (env.QEMU_UNSET_ENV ?? "").split(",").filter((s) => s !== "")) o.envEdits.push([k]);
  let i = 0;
  const value = (opt: string): string => {
    if (i + 1 >= argv.length) throw new UsageError(`option '${opt}' needs an argument (see -h)`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") { i++; break; }
    if (!arg.startsWith("-") || arg === "-") break;
    const opt = arg.replace(/^--?/, "-");
    switch (opt) {
      case "-h": case "-help":
        process.stdout.write(HELP);
        return "exit";
      case "-version":
        process.stdout.write(`${PROG} version ${VERSION}\n`);
        return "exit";
      case "-L": o.sysroot = value(arg); break;
      case "-s": o.stackSize = parseSize(value(arg)); break;
      case "-cpu": o.cpu = value(arg); break;
      case "-E": addEnv(o, value(arg)); break;
      case "-U": o.envEdits.push([value(arg)]); break;
      case "-0": o.argv0 = value(arg); break;
      case "-strace": o.strace = true; break;
      case "-d": o.debug.push(...value(arg).split(",")); break;
      case "-D": o.logFile = value(arg); break;
      case "-g": o.gdbPort = parsePort(value(arg)); break;
      case "-accel": o.accel = parseAccel(value(arg)); break;
      default:
        throw new UsageError(`unknown option '${arg}' (see -h for the options)`);
    }
  }
  if (o.cpu === "help") {
    process.stdout.write("Available CPUs:\n  rv64  RV64IMAFDC with Zicsr and Zifencei (the default)\n");
    return "exit";
  }
  if (o.cpu !== "rv64" && o.cpu !== "any" && o.cpu !== "max") {
    throw new UsageError(`unknown CPU '${o.cpu}' (-cpu help lists them)`);
  }
  if (o.debug.includes("help")) {
    process.stdout.write("Log items (comma separated):\n" +
      Object.entries(LOG_ITEMS).map(([k, v]) => `${k.padEnd(8)} ${v}\n`).join(""));
    return "exit";
  }
  for (const d of o.debug) {
    if (!(d in LOG_ITEMS)) throw new UsageError(`unknown log item '${d}' (-d help lists them)`);
  }
  if (o.debug.includes("strace")) o.strace = true;
  if (i >= argv.length) throw new UsageError("no program given (usage: tsemu-riscv64 [options] program [args...])");
  o.program = argv[i];
  o.args = argv.slice(i + 1);
  return o;
}

function addEnv(o: Options, kv: string): void {
  const eq = kv.indexOf("=");
  if (eq <= 0) throw new UsageError(`invalid -E argument '${kv}' (expected var=value)`);
  o.envEdits.push([kv.slice(0, eq), kv.slice(eq + 1)]);
}

/**
 * The guest's environment in qemu-riscv64's order: its envlist puts every
 * variable it sets at the head, the host's first, then each -E (an existing
 * variable moves to the head), so a program that prints its environment
 * prints the same lines in the same order.
 */
function guestEnv(o: Options): string[] {
  const env = new Map<string, string>();
  const set = (k: string, v: string): void => { env.delete(k); env.set(k, v); };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) set(k, v);
  for (const [k, v] of o.envEdits) {
    if (v === undefined) env.delete(k);
    else set(k, v);
  }
  return [...env].map(([k, v]) => `${k}=${v}`).reverse();
}

function fail(message: string): never {
  process.stderr.write(`${PROG}: ${message}\n`);
  process.exit(1);
}

/** What the run's processes need of the command line. */
interface RunConfig {
  sysroot: string | undefined;
  strace: boolean;
  debug: string[];
  stats: boolean;
  logFile: string | undefined;
  program: string;
  accel: Accel;
}

/** The gdb session (-g), once gdb has connected. */
let gdb: UserGdb | undefined;
/** The host signals passed to the guest (undefined without the native module). */
let hostSignals: HostSignals | undefined;

/** The kernel and the first process of the run. */
function makeProcess(c: RunConfig): Process {
  const logFd = c.logFile !== undefined ? openLog(c.logFile) : 2;
  selectAccel(c.accel);
  baselineOnlyAfter((bytes, reached) => { tcgSettings.onCodeVolume = { bytes, reached }; });
  const kernel = new Kernel(process.pid);
  const proc = new Process(kernel, {
    sysroot: c.sysroot,
    strace: c.strace,
    traceCpu: c.debug.includes("cpu"),
    log: (line) => fs.writeSync(logFd, line + "\n"),
    logText: (text) => fs.writeSync(logFd, text),
    onNewCpu: (cpu, p) => {
      if (c.debug.includes("in_asm")) {
        cpu.onDecode = (pc, lo16, hi16) => {
          fs.writeSync(logFd, `0x${pc.toString(16).padStart(16, "0")}:  ${disassemble(lo16, hi16, pc).text}\n`);
        };
      }
      // gdb debugs the program it started (the first process, whose pid is tsemu's); processes it forks run without it.
      if (p.pid === process.pid) gdb?.addCpu(cpu);
    },
    slice: 1 << 20,
    startHostProgram,
    stopHost: (signo) => {
      // With the guest's own stop signal, so that the host's shell says why ("Stopped (tty input)").
      // SIGSTOP for SIGSTOP, and without the native module (a caught signal would only come back to the guest).
      if (signo !== SIGSTOP && hostSignals?.stop(signo) === true) return;
      try {
        process.kill(process.pid, "SIGSTOP"); // returns once the host continues tsemu
      } catch { /* not on this host: the guest process goes on at once */ }
    },
  }, process.pid);
  proc.ppid = process.ppid;
  const group = hostProcessGroup();
  if (group !== undefined) {
    proc.pgid = group.pgid;
    proc.sid = group.sid;
  }
  kernel.add(proc);
  kernel.hostGroup = proc.pgid;
  kernel.ttySession = proc.sid;
  hostSignals = catchHostSignals();
  kernel.hostSignals = hostSignals;
  const start = process.hrtime.bigint();
  setTickSource(() => Number(process.hrtime.bigint() - start));
  return proc;
}

function runToEnd(proc: Process, c: RunConfig): never {
  let outcome: Outcome;
  try {
    outcome = proc.kernel.run();
  } catch (e) {
    if (e instanceof OutOfMemory) fail(`${c.program}: out of guest memory`);
    throw e;
  }
  if (c.stats) {
    const k = proc.kernel;
    process.stderr.write(`${PROG}: instructions=${k.instructions()}` +
      (k.forks > 0 ? ` forks=${k.forks} cow-copies=${k.hostPages.copies}` : "") + "\n");
  }
  if (c.debug.includes("tcg")) {
    const line = tcgStatsLine(proc.as.ram);
    fs.writeSync(c.logFile !== undefined ? openLog(c.logFile) : 2, `${PROG}: ${line}\n`);
  }
  gdb?.exited(outcome);
  if (outcome.kind === "exit") exitProcess(outcome.status);
  // QEMU prints "uncaught target signal" only after writing a guest core file, which it
  // does not do with core dumps off (our launcher turns them off); then it dies silently.
  dieBySignal(outcome.signo);
}

/**
 * Node starts its inspector on SIGUSR1.  Adding and removing a listener puts
 * the signal back to its default action, so that SIGUSR1 from elsewhere ends
 * tsemu as it would end the guest, and tsemu can die by it.
 */
function restoreDefaultSignals(): void {
  const ignore = (): void => undefined;
  process.on("SIGUSR1", ignore);
  process.removeListener("SIGUSR1", ignore);
}

function main(): void {
  restoreDefaultSignals();
  let o: Options | "exit";
  try {
    o = parseArgs(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof UsageError) fail(e.message);
    throw e;
  }
  if (o === "exit") return;

  let file: Uint8Array;
  try {
    if (fs.statSync(o.program).isDirectory()) fail(`${o.program}: is a directory, not a program`);
    file = fs.readFileSync(o.program);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") fail(`${o.program}: no such file`);
    if (code === "EACCES") fail(`${o.program}: permission denied`);
    fail(`${o.program}: cannot read: ${(e as Error).message}`);
  }

  const config: RunConfig = {
    sysroot: o.sysroot, strace: o.strace, debug: o.debug, logFile: o.logFile, program: o.program,
    stats: o.debug.includes("stats") || process.env.TSEMU_STATS === "1",
    accel: o.accel,
  };
  const proc = makeProcess(config);
  try {
    proc.start(file, {
      argv: [o.argv0 ?? o.program, ...o.args],
      envp: guestEnv(o),
      execfn: o.program,
      stackSize: o.stackSize,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      random: (b) => randomFillSync(b),
    });
  } catch (e) {
    if (e instanceof ElfError) fail(`${o.program}: ${e.message}`);
    if ((e as { code?: string }).code === "ENOENT") fail(`${o.program}: ${(e as Error).message}`);
    throw e;
  }
  if (o.gdbPort !== undefined) gdb = waitForGdb(proc, o.gdbPort);
  runToEnd(proc, config);
}

/** -g: listen for gdb, wait for it, and serve it until it lets the program start, as qemu-riscv64 -g. */
function waitForGdb(proc: Process, port: number): UserGdb {
  let socket: BlockingGdbSocket;
  try {
    socket = new BlockingGdbSocket(port);
  } catch (e) {
    if (e instanceof GdbListenError) fail(`could not open gdbserver on port ${port}: ${e.message}`);
    throw e;
  }
  socket.waitForClient();
  const view: UserProcess = {
    pid: proc.pid,
    threads: () => proc.threads.filter((t) => !t.exited),
    read: (addr, len) => proc.as.check(addr, len, Prot.READ) ? proc.as.read(addr, len) : undefined,
    write: (addr, data) => {
      if (!proc.as.check(addr, data.length, Prot.NONE)) return false;
      proc.as.write(addr, data);
      return true;
    },
    signalFor: signalForCause,
    sendSignal: (tid, signo) => {
      const thread = proc.threads.find((t) => t.tid === tid);
      proc.sendSignal({ signo, code: 0 /* SI_USER */, pid: proc.pid, uid: proc.uid, addr: 0, status: 0 }, thread);
    },
    auxv: readAuxv((addr, len) => proc.as.check(addr, len, Prot.READ) ? proc.as.read(addr, len) : undefined,
      proc.threads[0].cpu.getXNumber(2)),
  };
  const session = new UserGdb(socket, view, {
    kill: () => {
      process.stderr.write(`${PROG}: terminated via GDBstub\n`);
      process.exit(0);
    },
  });
  gdb = session;
  session.start();
  return session;
}

function openLog(p: string): number {
  try {
    return fs.openSync(p, "w");
  } catch (e) {
    fail(`cannot open log file '${p}': ${(e as Error).message}`);
  }
}

const HOST_SIGNALS: Record<number, NodeJS.Signals> = {
  1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
  9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
  16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
  23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
  30: "SIGPWR", 31: "SIGSYS",
};

/** End tsemu by the signal that ended the guest, so our parent sees the same status. */
function dieBySignal(signo: number): never {
  // The guest died of it: tsemu dies of it too, with the signal's own action back.
  hostSignals?.release();
  const sig = HOST_SIGNALS[signo];
  if (sig !== undefined) {
    try {
      process.kill(process.pid, sig);
    } catch {
      // fall through to the exit status a shell would report
    }
  }
  process.exit(128 + signo);
}

main();
