/**
 * Reading a directory in the host kernel's own order, "." and ".."
 * included, as getdents64 returns it.
 *
 * Node's readdir sorts the names and its opendir drops "." and "..".
 * Without them the order of the other names is still the kernel's, and on
 * most file systems the two come first.  On ext2/3/4 (hash order) and on
 * overlay mounts built on it they are interleaved with the rest, so there
 * the order comes from `ls -f` (unsorted, everything) run on the very same
 * directory, handed to it as its standard input.
 */
import { hostTool } from "./tools.js";
import * as fs from "node:fs";
import { childProcess } from "./builtin.js";

export interface HostDirEntry {
  /** The name's bytes, exactly as stored. */
  name: Uint8Array;
  /** DT_* type. */
  type: number;
  ino: bigint;
}

export const DT_UNKNOWN = 0, DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_BLK = 6, DT_REG = 8, DT_LNK = 10, DT_SOCK = 12;

/** File systems that list "." and ".." before everything else. */
const DOTS_FIRST = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x01021994, // tmpfs, devtmpfs
  0x1cd1, // devpts
  0x858458f6, // ramfs
  0x63677270, // cgroup2
  0x27e0eb, // cgroup
  0x9123683e, // btrfs
  0x58465342, // xfs
  0x6969, // nfs
]);

function typeOfMode(mode: number): number {
  switch (mode & 0o170000) {
    case 0o100000: return DT_REG;
    case 0o040000: return DT_DIR;
    case 0o120000: return DT_LNK;
    case 0o010000: return DT_FIFO;
    case 0o020000: return DT_CHR;
    case 0o060000: return DT_BLK;
    case 0o140000: return DT_SOCK;
    default: return DT_UNKNOWN;
  }
}

const DOT = Buffer.from(".");
const DOTDOT = Buffer.from("..");

/** The names in kernel order from ls(1), or undefined when it cannot tell. */
function namesFromLs(hostFd: number): Buffer[] | undefined {
  try {
    const r = childProcess().spawnSync(hostTool("ls"), ["-f", "--zero", "/proc/self/fd/0/"], {
      stdio: [hostFd, "pipe", "ignore"], maxBuffer: 1 << 30, timeout: 60000,
    });
    if (r.error !== undefined || r.status !== 0 || !Buffer.isBuffer(r.stdout)) return undefined;
    const out = r.stdout;
    const names: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < out.length; i++) {
      if (out[i] === 0) {
        names.push(out.subarray(start, i));
        start = i + 1;
      }
    }
    if (start !== out.length) return undefined;
    const dots = names.filter((n) => n.equals(DOT) || n.equals(DOTDOT)).length;
    return dots === 2 ? names : undefined;
  } catch {
    return undefined;
  }
}

/** The names in kernel order, dots first, from Node's (unsorted) opendir. */
function namesFromOpendir(dir: string): Buffer[] {
  const names: Buffer[] = [DOT, DOTDOT];
  const d = fs.opendirSync(dir, { encoding: "buffer" as BufferEncoding });
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) names.push(e.name as unknown as Buffer);
  } finally {
    d.closeSync();
  }
  return names;
}

/** Every entry of the directory open as host descriptor hostFd, in the kernel's order. */
export function readDirectory(hostFd: number): HostDirEntry[] {
  const dir = `/proc/self/fd/${hostFd}`;
  let fsType: number | undefined;
  try {
    fsType = Number(fs.statfsSync(dir).type);
  } catch { /* treat as unknown */ }
  const names = (fsType !== undefined && DOTS_FIRST.has(fsType) ? undefined : namesFromLs(hostFd))
    ?? namesFromOpendir(dir);
  const self = fs.fstatSync(hostFd, { bigint: true });
  const prefix = Buffer.from(dir + "/");
  const out: HostDirEntry[] = [];
  for (const name of names) {
    if (name.equals(DOT)) {
      out.push({ name, type: DT_DIR, ino: self.ino });
      continue;
    }
    const st = fs.lstatSync(Buffer.concat([prefix, name]), { bigint: true, throwIfNoEntry: false });
    if (st === undefined) continue;
    out.push({ name, type: name.equals(DOTDOT) ? DT_DIR : typeOfMode(Number(st.mode)), ino: st.ino });
  }
  return out;
}
