/**
 * ioctl requests as -strace shows them: the request by name (terminal and
 * file requests, the ones qemu-riscv64 lists first), its argument in the
 * form the request takes (a number, a pointer, or the structure it passes
 * in), and on success the structure a reading request filled in.
 * Requests not listed print as two hex numbers.
 */
import { dec, flags, type FlagTable, hex32, pointer, type StraceMemory, uint32 } from "./strace-format.js";

/** What the third argument is: nothing, a number, or a pointer to an int or a structure. */
type Arg = "none" | "int" | "ptrvoid" | "pint" | "winsize" | "termios";
/** Whether the request reads (R: the kernel fills the argument in) or writes it, or neither. */
type Access = 0 | "R" | "W" | "RW";

const REQUESTS: readonly (readonly [number, string, Access, Arg])[] = [
  [0x5401, "TCGETS", "R", "termios"], [0x5402, "TCSETS", "W", "termios"], [0x5404, "TCSETSF", "W", "termios"],
  [0x5403, "TCSETSW", "W", "termios"], [0x5413, "TIOCGWINSZ", "R", "winsize"], [0x5414, "TIOCSWINSZ", "W", "winsize"],
  [0x541b, "FIONREAD", "R", "pint"], [0x5405, "TCGETA", "R", "pint"], [0x5406, "TCSETA", "W", "pint"],
  [0x5407, "TCSETAW", "W", "pint"], [0x5408, "TCSETAF", "W", "pint"], [0x5409, "TCSBRK", 0, "int"],
  [0x5425, "TCSBRKP", 0, "int"], [0x540a, "TCXONC", 0, "int"], [0x540b, "TCFLSH", 0, "int"],
  [0x540c, "TIOCEXCL", 0, "none"], [0x540d, "TIOCNXCL", 0, "none"], [0x540e, "TIOCSCTTY", 0, "int"],
  [0x540f, "TIOCGPGRP", "R", "pint"], [0x5410, "TIOCSPGRP", "W", "pint"], [0x5429, "TIOCGSID", "W", "pint"],
  [0x5411, "TIOCOUTQ", "R", "pint"], [0x5412, "TIOCSTI", "W", "pint"], [0x5415, "TIOCMGET", "R", "pint"],
  [0x5416, "TIOCMBIS", "W", "pint"], [0x5417, "TIOCMBIC", "W", "pint"], [0x5418, "TIOCMSET", "W", "pint"],
  [0x5419, "TIOCGSOFTCAR", "R", "pint"], [0x541a, "TIOCSSOFTCAR", "W", "pint"], [0x541c, "TIOCLINUX", "RW", "pint"],
  [0x541d, "TIOCCONS", 0, "none"], [0x541e, "TIOCGSERIAL", "R", "pint"], [0x541f, "TIOCSSERIAL", "W", "pint"],
  [0x5420, "TIOCPKT", "W", "pint"], [0x5421, "FIONBIO", "W", "pint"], [0x5422, "TIOCNOTTY", 0, "none"],
  [0x5424, "TIOCGETD", "R", "pint"], [0x5423, "TIOCSETD", "W", "pint"], [0x80045430, "TIOCGPTN", "R", "pint"],
  [0x40045431, "TIOCSPTLCK", "W", "pint"], [0x5451, "FIOCLEX", 0, "none"], [0x5450, "FIONCLEX", 0, "none"],
  [0x5452, "FIOASYNC", "W", "pint"],
];

const BY_REQUEST = new Map(REQUESTS.map((r) => [r[0], r]));

function lookup(request: bigint): readonly [number, string, Access, Arg] | undefined {
  // The request is compared as the whole register: a value with high bits set is unknown.
  return request >> 32n === 0n ? BY_REQUEST.get(Number(request)) : undefined;
}

const SIZES: Record<string, number> = { pint: 4, winsize: 8, termios: 36 };

/** The structure at addr, as the request passes it; the pointer when unreadable. */
function structure(mem: StraceMemory, type: Arg, addr: bigint): string {
  const b = addr === 0n ? undefined : mem.bytes(addr, SIZES[type] ?? 0);
  if (b === undefined) return pointer(addr);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (type === "pint") return String(v.getInt32(0, true));
  if (type === "winsize") return `{${v.getUint16(0, true)},${v.getUint16(2, true)},${v.getUint16(4, true)},${v.getUint16(6, true)}}`;
  return termios(b);
}

/** ioctl's second and third arguments: "TCGETS,0x..." or "0x1234,0x5678". */
export function ioctlArgument(mem: StraceMemory, request: bigint, arg: bigint): string {
  const r = lookup(request);
  if (r === undefined) return `${hex32(request)},${hex32(arg)}`;
  const [, name, access, type] = r;
  if (type === "none") return name;
  if (type === "int") return `${name},${dec(arg)}`;
  if (type === "ptrvoid" || access === "R") return `${name},${pointer(arg)}`;
  return `${name},${structure(mem, type, arg)}`;
}

/** After a successful reading request, what it read: " (...)"; nothing otherwise. */
export function ioctlResult(mem: StraceMemory, request: bigint, arg: bigint): string {
  const r = lookup(request);
  if (r === undefined || (r[2] !== "R" && r[2] !== "RW") || r[3] === "none" || r[3] === "int") return "";
  return ` (${structure(mem, r[3], arg)})`;
}

// ---- struct termios (asm-generic termbits: four flag words, the line discipline, 19 control characters) ----

const IFLAGS: FlagTable = [
  [0o1, "IGNBRK"], [0o2, "BRKINT"], [0o4, "IGNPAR"], [0o10, "PARMRK"], [0o20, "INPCK"], [0o40, "ISTRIP"],
  [0o100, "INLCR"], [0o200, "IGNCR"], [0o400, "ICRNL"], [0o1000, "IUCLC"], [0o2000, "IXON"], [0o4000, "IXANY"],
  [0o10000, "IXOFF"], [0o20000, "IMAXBEL"], [0o40000, "IUTF8"],
];
const OFLAGS: FlagTable = [
  [0o1, "OPOST"], [0o2, "OLCUC"], [0o4, "ONLCR"], [0o10, "OCRNL"], [0o20, "ONOCR"], [0o40, "ONLRET"],
  [0o100, "OFILL"], [0o200, "OFDEL"],
];
/** The delay fields of c_oflag: [mask, values by name]. */
const ODELAYS: readonly (readonly [number, FlagTable])[] = [
  [0o400, [[0, "NL0"], [0o400, "NL1"]]],
  [0o3000, [[0, "CR0"], [0o1000, "CR1"], [0o2000, "CR2"], [0o3000, "CR3"]]],
  [0o14000, [[0, "TAB0"], [0o4000, "TAB1"], [0o10000, "TAB2"], [0o14000, "TAB3"]]],
  [0o20000, [[0, "BS0"], [0o20000, "BS1"]]],
  [0o40000, [[0, "VT0"], [0o40000, "VT1"]]],
  [0o100000, [[0, "FF0"], [0o100000, "FF1"]]],
];
const CBAUD = 0o10017, CSIZE = 0o60;
const BAUDS: FlagTable = [
  [0, "B0"], [1, "B50"], [2, "B75"], [3, "B110"], [4, "B134"], [5, "B150"], [6, "B200"], [7, "B300"], [8, "B600"],
  [9, "B1200"], [10, "B1800"], [11, "B2400"], [12, "B4800"], [13, "B9600"], [14, "B19200"], [15, "B38400"],
  [0o10001, "B57600"], [0o10002, "B115200"], [0o10003, "B230400"], [0o10004, "B460800"],
];
const CSIZES: FlagTable = [[0, "CS5"], [0o20, "CS6"], [0o40, "CS7"], [0o60, "CS8"]];
const CFLAGS: FlagTable = [
  [0o100, "CSTOPB"], [0o200, "CREAD"], [0o400, "PARENB"], [0o1000, "PARODD"], [0o2000, "HUPCL"], [0o4000, "CLOCAL"],
  [0o20000000000, "CRTSCTS"],
];
const LFLAGS: FlagTable = [
  [0o1, "ISIG"], [0o2, "ICANON"], [0o4, "XCASE"], [0o10, "ECHO"], [0o20, "ECHOE"], [0o40, "ECHOK"], [0o100, "ECHONL"],
  [0o200, "NOFLSH"], [0o400, "TOSTOP"], [0o1000, "ECHOCTL"], [0o2000, "ECHOPRT"], [0o4000, "ECHOKE"],
  [0o10000, "FLUSHO"], [0o40000, "PENDIN"], [0o100000, "IEXTEN"], [0o200000, "EXTPROC"],
];

function fieldValue(table: FlagTable, v: number): string {
  return table.find(([x]) => x === v)?.[1] ?? `0x${v.toString(16)}`;
}

function termios(b: Uint8Array): string {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const [i, o, c, l] = [0, 4, 8, 12].map((at) => v.getUint32(at, true));
  let out = `{c_iflag = ${flags(IFLAGS, BigInt(i))},c_oflag = `;
  let delayMask = 0;
  for (const [mask] of ODELAYS) delayMask |= mask;
  out += `${flags(OFLAGS, BigInt(uint32(BigInt(o & ~delayMask))))},`;
  for (const [mask, names] of ODELAYS) if ((o & mask) !== 0) out += `${fieldValue(names, o & mask)},`;
  out += "c_cflag = ";
  if ((c & CBAUD) !== 0) out += `${fieldValue(BAUDS, c & CBAUD)},`;
  if ((c & CSIZE) !== 0) out += `${fieldValue(CSIZES, c & CSIZE)},`;
  out += `${flags(CFLAGS, BigInt((c & ~(CBAUD | CSIZE)) >>> 0))},`;
  out += `c_lflag = ${flags(LFLAGS, BigInt(l))},`;
  // c_cc is printed as a C string: up to its first NUL byte, raw.
  let cc = "";
  for (let k = 17; k < b.length && b[k] !== 0; k++) cc += String.fromCharCode(b[k]);
  const line = b[16];
  return `${out}c_cc = "${cc}",c_line = '${String.fromCharCode(line)}'}`;
}
