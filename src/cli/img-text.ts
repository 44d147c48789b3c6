/** Text that qemu-img prints, formatted the same way: sizes, snapshot lines, info and check reports. */
import type { Qcow2Snapshot } from "../block/qcow2/snapshots.js";

/** QEMU's size_to_str: three significant digits in the binary unit under 1000. */
export function sizeToStr(val: number): string {
  const suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
  const x = val / (1000 / 1024);
  const exp = x === 0 ? 0 : Math.floor(Math.log2(x)) + 1;
  const i = Math.max(0, Math.trunc((exp - 1) / 10));
  const v = val / 2 ** (i * 10);
  return `${String(Number(v.toPrecision(3)))} ${suffixes[i]}B`;
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

export function snapshotHeader(): string {
  return `${"ID".padEnd(10)}${"TAG".padEnd(17)}${"VM SIZE".padStart(8)}${"DATE".padStart(20)}${"VM CLOCK".padStart(13)}${"ICOUNT".padStart(11)}`;
}

export function snapshotLine(sn: Qcow2Snapshot): string {
  const d = new Date(sn.dateSec * 1000);
  const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  const secs = Math.floor(sn.vmClockNsec / 1e9);
  const clock = `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}.${String(Math.floor(sn.vmClockNsec / 1e6) % 1000).padStart(3, "0")}`;
  const icount = sn.icount < 0 ? "" : String(sn.icount);
  return `${sn.id.padEnd(9)} ${sn.name.padEnd(16)} ${sizeToStr(sn.vmStateSize).padStart(8)}${date.padStart(20)}${clock.padStart(13)}${icount.padStart(11)}`;
}

/** JSON as qemu-img prints it: four-space indents, objects as given. */
export function qemuJson(v: unknown, indent = 0): string {
  const sp = " ".repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => `${sp}    ${qemuJson(x, indent + 4)}`).join(",\n")}\n${sp}]`;
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    return `{\n${entries.map(([k, x]) => `${sp}    ${JSON.stringify(k)}: ${qemuJson(x, indent + 4)}`).join(",\n")}\n${sp}}`;
  }
  return JSON.stringify(v);
}

/**
 * printf's "%.2f": the nearest two-decimal text; where the value lies
 * exactly halfway (3.125 is exact in binary), glibc rounds to even where
 * toFixed rounds up ("3.12" against "3.13").
 */
export function fixed2(x: number): string {
  // A binary value lies exactly halfway between two hundredths only when it is an odd number of eighths.
  const eighths = x * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths % 2) === 1) {
    const n = Math.floor(x * 100);
    return ((n % 2 === 0 ? n : n + 1) / 100).toFixed(2);
  }
  return x.toFixed(2);
}
