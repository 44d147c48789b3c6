/**
 * Terminals: whether a host descriptor is one, and its settings and window
 * size.  Node has no tcgetattr/tcsetattr, so the settings go through
 * stty(1) run on the descriptor (its "-g" form is the termios flags and
 * control characters in hex, and stty accepts the same form back).  When
 * stty cannot be run, the settings read are Linux's defaults for a new
 * terminal.
 */
import { hostTool } from "./tools.js";
import { fs } from "./fs.js";
import { statFields } from "./proc.js";
import { childProcess, tty } from "./builtin.js";
import { nativeModule } from "./native.js";

interface HostTtyModule {
  isatty(fd: number): boolean;
}

export function isatty(fd: number): boolean {
  // A terminal is a character device: files and pipes are answered without loading node:tty (5 ms of a start).
  try {
    if (!fs.fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  // Other character devices (/dev/null) by isatty(3) itself: node:tty also loads net and the streams (8 ms).
  return (nativeModule<HostTtyModule>("host-tty") ?? tty()).isatty(fd);
}

/**
 * Whether this process's group is orphaned on the host, as Linux decides it
 * (is_current_pgrp_orphaned): no member has a parent, other than init, in
 * another group of the same session.  The kernel then gives a background
 * read of the terminal EIO and discards stop signals sent to the group.
 * From /proc/PID/stat of every process; false when it cannot be read.
 */
export function ownGroupOrphaned(): boolean {
  const self = statFields("self");
  let names: string[];
  try {
    names = fs.readdirSync("/proc");
  } catch {
    return false;
  }
  if (self === undefined) return false;
  // Every process's fields, by pid: 4 the parent, 5 the group, 6 the session.
  const all = new Map<number, number[]>();
  for (const name of names) {
    const f = /^\d+$/.test(name) ? statFields(Number(name)) : undefined;
    if (f !== undefined) all.set(f[1], f);
  }
  for (const p of all.values()) {
    if (p[5] !== self[5] || p[4] <= 1) continue;
    const parent = all.get(p[4]);
    if (parent === undefined || (parent[5] !== self[5] && parent[6] === p[6])) return false;
  }
  return true;
}

/** /dev/tty's device number (major 5, minor 0), as stat and /proc/PID/stat encode it. */
const DEV_TTY = 5 << 8;

/**
 * The foreground process group of the host terminal open at fd, when that
 * terminal is this process's controlling terminal (fields 7, tty_nr, and 8,
 * tpgid, of /proc/self/stat; Node has no tcgetpgrp); undefined for another
 * terminal or when it cannot be known.
 */
export function controllingForeground(fd: number): number | undefined {
  const f = statFields("self");
  if (f === undefined || !(f[8] > 0)) return undefined;
  let rdev: number;
  try {
    rdev = fs.fstatSync(fd).rdev;
  } catch {
    return undefined;
  }
  // /dev/tty (5:0) is the controlling terminal by another name.
  return rdev === f[7] || rdev === DEV_TTY ? f[8] : undefined;
}

/** The kernel's struct termios as Linux (asm-generic) lays it out: four flag words, c_line, 19 control characters. */
export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  line: number;
  cc: number[];
}

export const NCCS = 19;

/** A new terminal's settings: icrnl ixon opost onlcr, 38400 baud cs8 cread, isig icanon echo... */
export function defaultTermios(): Termios {
  return {
    iflag: 0x500, oflag: 0x5, cflag: 0xbf, lflag: 0x8a3b, line: 0,
    cc: [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0],
  };
}

function stty(fd: number, args: string[]): string | undefined {
  try {
    const r = childProcess().spawnSync(hostTool("stty"), args, { stdio: [fd, "pipe", "ignore"], encoding: "utf8", timeout: 5000 });
    if (r.error !== undefined || r.status !== 0) return undefined;
    return r.stdout.trim();
  } catch {
    return undefined;
  }
}

/** The terminal's current settings. */
export function getTermios(fd: number): Termios {
  const g = stty(fd, ["-g"]);
  if (g !== undefined) {
    const parts = g.split(":").map((s) => parseInt(s, 16));
    if (parts.length >= 4 + NCCS && parts.every((v) => Number.isFinite(v))) {
      return {
        iflag: parts[0] >>> 0, oflag: parts[1] >>> 0, cflag: parts[2] >>> 0, lflag: parts[3] >>> 0, line: 0,
        cc: parts.slice(4, 4 + NCCS),
      };
    }
  }
  return defaultTermios();
}

/** Apply settings; false when the host would not take them. */
export function setTermios(fd: number, t: Termios): boolean {
  const g = stty(fd, ["-g"]);
  // Keep the host's own count of control characters (glibc's NCCS is 32).
  const count = g === undefined ? 32 : Math.max(NCCS, g.split(":").length - 4);
  const cc: string[] = [];
  for (let i = 0; i < count; i++) cc.push((t.cc[i] ?? 0).toString(16));
  const form = [t.iflag, t.oflag, t.cflag, t.lflag].map((v) => (v >>> 0).toString(16)).concat(cc).join(":");
  return stty(fd, [form]) !== undefined;
}

/** [rows, columns] of the terminal, or undefined when unknown. */
export function getWinsize(fd: number): [number, number] | undefined {
  const s = stty(fd, ["size"]);
  if (s === undefined) return undefined;
  const m = /^(\d+) (\d+)$/.exec(s);
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}

/** Set the window size; false when the host would not take it. */
export function setWinsize(fd: number, rows: number, cols: number): boolean {
  return stty(fd, ["rows", String(rows), "cols", String(cols)]) !== undefined;
}
