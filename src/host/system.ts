/**
 * Facts about the host system and this host process that the emulated
 * kernel reports as its own: uname fields, load and memory, CPU time and
 * resource usage, supplementary groups.
 */
import * as os from "node:os";
import * as fs from "node:fs";

export interface Uname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  domainname: string;
}

export function uname(): Uname {
  let domainname = "(none)";
  try {
    domainname = fs.readFileSync("/proc/sys/kernel/domainname", "utf8").trim();
  } catch { /* not Linux: keep Linux's default */ }
  return { sysname: os.type(), nodename: os.hostname(), release: os.release(), version: os.version(), domainname };
}

export function loadavg(): number[] {
  return os.loadavg();
}

export function uptimeSeconds(): number {
  return os.uptime();
}

export function totalMemory(): number {
  return os.totalmem();
}

export function freeMemory(): number {
  return os.freemem();
}

export function cpuCount(): number {
  return os.availableParallelism();
}

export function resourceUsage(): NodeJS.ResourceUsage {
  return process.resourceUsage();
}

/** The supplementary groups (Node's getgroups adds the effective group; the kernel's list does not). */
export function groups(): number[] {
  try {
    const m = /^Groups:[ \t]*([\d ]*)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (m !== null) return m[1].trim() === "" ? [] : m[1].trim().split(/\s+/).map(Number);
  } catch { /* not Linux */ }
  return process.getgroups?.() ?? [];
}

export function ids(): { uid: number; euid: number; gid: number; egid: number } {
  return {
    uid: process.getuid?.() ?? 0, euid: process.geteuid?.() ?? 0,
    gid: process.getgid?.() ?? 0, egid: process.getegid?.() ?? 0,
  };
}
