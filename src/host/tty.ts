/**
 * Terminals: whether a host descriptor is one, and its settings and window
 * size.  Node has no tcgetattr/tcsetattr, so the settings go through
 * stty(1) run on the descriptor (its "-g" form is the termios flags and
 * control characters in hex, and stty accepts the same form back).  When
 * stty cannot be run, the settings read are Linux's defaults for a new
 * terminal.
 */
import { hostTool } from "./tools.js";
import * as fs from "node:fs";
import * as tty from "node:tty";
import { spawnSync } from "node:child_process";

export function isatty(fd: number): boolean {
  return tty.isatty(fd);
}

/**
 * Whether this process's group is orphaned on the host, as Linux decides it
 * (is_current_pgrp_orphaned): no member has a parent, other than init, in
 * another group of the same session.  The kernel then gives a background
 * read of the terminal EIO and discards stop signals sent to the group.
 * From /proc/PID/stat of every process; false when it cannot be read.
 */
export function ownGroupOrphaned(): boolean {
  type Ids = { ppid: number; pgrp: number; session: number };
  const ids = new Map<number, Ids>();
  try {
    for (const name of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ids.set(Number(name), { ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]) });
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return false;
  }
  const self = ids.get(process.pid);
  if (self === undefined) return false;
  for (const p of ids.values()) {
    if (p.pgrp !== self.pgrp || p.ppid <= 1) continue;
    const parent = ids.get(p.ppid);
    if (parent === undefined || (parent.pgrp !== self.pgrp && parent.session === p.session)) return false;
  }
  return true;
}

/** /dev/tty's device number (major 5, minor 0), as stat and /proc/PID/stat encode it. */
const DEV_TTY = 5 << 8;

/**
 * The foreground process group of the host terminal open at fd, when that
 * terminal is this process's controlling terminal (from /proc/self/stat:
 * tty_nr, tpgid; Node has no tcgetpgrp); undefined for another terminal or
 * when it cannot be known.
 */
export function controllingForeground(fd: number): number | undefined {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 7 (tty_nr) and 8 (tpgid) of proc(5), counted from 3 after the comm.
    const ttyNr = Number(fields[4]), tpgid = Number(fields[5]);
    const rdev = fs.fstatSync(fd).rdev;
    // /dev/tty (5:0) is the controlling terminal by another name.
    if (!(tpgid > 0) || (rdev !== ttyNr && rdev !== DEV_TTY)) return undefined;
    return tpgid;
  } catch {
    return undefined;
  }
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
    const r = spawnSync(hostTool("stty"), args, { stdio: [fd, "pipe", "ignore"], encoding: "utf8", timeout: 5000 });
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
