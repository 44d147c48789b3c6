/**
 * The human monitor (qemu:monitor/hmp.c, hmp-cmds.c, hmp-cmds-target.c):
 * QEMU's command names, argument syntax (/fmt, expressions with $registers),
 * output formats and error texts, for the commands tsemu has.  The same
 * commands run from a terminal (HmpSession, with a line editor) and through
 * QMP's human-monitor-command.
 */
import type { MonitorHub, MonitorOutput, MonitorSession } from "./monitor.js";
import { readVirtual, memsave, pmemsave } from "./guest-memory.js";
import { QmpError } from "./qmp-error.js";
import { versionText, QEMU_PACKAGE } from "./qmp-version.js";
import type { QtreeDevice } from "./machine.js";
import { pciClassName, type PciFunctionInfo } from "../hw/pci/pci-info.js";
import { parseAerError } from "../hw/pci/pcie-aer.js";

/** HMP's remembered /fmt: the format letter and the unit size in bytes. */
export interface HmpDefaults {
  format: string;
  size: number;
}

/** One command's surroundings: where its output goes and which hart it means. */
export interface HmpEnv {
  hub: MonitorHub;
  /** The monitor's current CPU (`cpu N` changes it). */
  cpuIndex: number;
  /** Output, with \n line ends. */
  print(text: string): void;
}

/** A bad command line: the message is printed, then "Try help". */
class HmpError extends Error {}

const MASK64 = (1n << 64n) - 1n;
const I64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const hex16 = (v: bigint): string => U64(v).toString(16).padStart(16, "0");

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f";
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";

/** The text after a command name, consumed as arguments are parsed. */
class Cursor {
  constructor(readonly text: string, public pos = 0) {}
  get ch(): string | undefined {
    return this.text[this.pos];
  }
  skipSpace(): void {
    while (isSpace(this.ch)) this.pos++;
  }
  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }
}

// ---------------------------------------------------------------- expressions

/** QEMU's expression grammar: + - over & | ^ over * / % over unary + - ~ ( ) 'c' $reg numbers; int64 arithmetic. */
class ExprParser {
  constructor(private readonly c: Cursor, private readonly env: HmpEnv) {}

  parse(): bigint {
    this.c.skipSpace();
    return this.sum();
  }

  private next(): void {
    if (this.c.pos < this.c.text.length) {
      this.c.pos++;
      this.c.skipSpace();
    }
  }

  private sum(): bigint {
    let v = this.logic();
    for (;;) {
      const op = this.c.ch;
      if (op !== "+" && op !== "-") return v;
      this.next();
      const w = this.logic();
      v = I64(op === "+" ? v + w : v - w);
    }
  }

  private logic(): bigint {
    let v = this.prod();
    for (;;) {
      const op = this.c.ch;
      if (op !== "&" && op !== "|" && op !== "^") return v;
      this.next();
      const w = this.prod();
      v = I64(op === "&" ? v & w : op === "|" ? v | w : v ^ w);
    }
  }

  private prod(): bigint {
    let v = this.unary();
    for (;;) {
      const op = this.c.ch;
      if (op !== "*" && op !== "/" && op !== "%") return v;
      this.next();
      const w = this.unary();
      if (op === "*") v = I64(v * w);
      else {
        if (w === 0n) throw new HmpError("division by zero");
        v = I64(op === "/" ? v / w : v % w);
      }
    }
  }

  private unary(): bigint {
    const c = this.c;
    const ch = c.ch;
    switch (ch) {
      case "+": this.next(); return this.unary();
      case "-": this.next(); return I64(-this.unary());
      case "~": this.next(); return I64(~this.unary());
      case "(": {
        this.next();
        const v = this.sum();
        if (c.ch !== ")") throw new HmpError("')' expected");
        this.next();
        return v;
      }
      case "'": {
        c.pos++;
        if (c.ch === undefined) throw new HmpError("character constant expected");
        const v = BigInt(c.text.charCodeAt(c.pos));
        c.pos++;
        if (c.ch !== "'") throw new HmpError("missing terminating ' character");
        this.next();
        return v;
      }
      case "$": {
        c.pos++;
        const start = c.pos;
        while (c.ch !== undefined && /[A-Za-z0-9_.]/.test(c.ch)) c.pos++;
        const name = c.text.slice(start, c.pos);
        c.skipSpace();
        const v = this.env.hub.machine.cpu(this.env.cpuIndex).register(name);
        if (v === undefined) throw new HmpError("unknown register");
        return I64(v);
      }
      case undefined:
        throw new HmpError("unexpected end of expression");
      default:
        return this.number();
    }
  }

  /** strtoull(p, &end, 0): 0x hex, leading-0 octal, decimal; then spaces. */
  private number(): bigint {
    const c = this.c;
    const text = c.text;
    let p = c.pos;
    let negative = false;
    if (text[p] === "+" || text[p] === "-") {
      negative = text[p] === "-";
      p++;
    }
    let base = 10;
    if (text[p] === "0" && (text[p + 1] === "x" || text[p + 1] === "X") && /[0-9a-fA-F]/.test(text[p + 2] ?? "")) {
      base = 16;
      p += 2;
    } else if (text[p] === "0") {
      base = 8;
    }
    const digit = base === 16 ? /[0-9a-fA-F]/ : base === 8 ? /[0-7]/ : /[0-9]/;
    const start = p;
    while (p < text.length && digit.test(text[p])) p++;
    if (p === start) throw new HmpError(`invalid char '${text[c.pos]}' in expression`);
    const digits = text.slice(start, p);
    const v = BigInt(base === 16 ? "0x" + digits : base === 8 ? "0o" + digits : digits);
    if (v > MASK64) throw new HmpError("number too large");
    c.pos = p;
    c.skipSpace();
    return I64(negative ? -v : v);
  }
}

function expr(c: Cursor, env: HmpEnv): bigint {
  return new ExprParser(c, env).parse();
}

/** An 'i' argument: an expression that must fit 32 bits. */
function expr32(c: Cursor, env: HmpEnv, command: string): bigint {
  const v = expr(c, env);
  if (((v >> 32n) & 0xffffffffn) !== 0n) throw new HmpError(`'${command}' has failed: integer is for 32-bit values`);
  return v;
}

/** A string argument: a word, or a "quoted string" with \n \r \\ \' \" escapes. */
function word(c: Cursor): string | undefined {
  c.skipSpace();
  if (c.ch === undefined) return undefined;
  let out = "";
  if (c.ch === "\"") {
    c.pos++;
    while (c.ch !== undefined && c.ch !== "\"") {
      if (c.ch === "\\") {
        c.pos++;
        const e = c.ch;
        c.pos++;
        if (e === "n") out += "\n";
        else if (e === "r") out += "\r";
        else if (e === "\\" || e === "'" || e === "\"") out += e;
        else return undefined;
      } else {
        out += c.ch;
        c.pos++;
      }
    }
    if (c.ch !== "\"") return undefined;
    c.pos++;
    return out;
  }
  while (c.ch !== undefined && !isSpace(c.ch)) {
    out += c.ch;
    c.pos++;
  }
  return out;
}

interface Format {
  count: number;
  format: string;
  /** Bytes per unit; -1 for 'i' without a size. */
  size: number;
}

/** A /fmt argument ("/10xb"), remembering the format and size for the next command. */
function format(c: Cursor, defaults: HmpDefaults): Format {
  c.skipSpace();
  if (c.ch !== "/") {
    return { count: 1, format: defaults.format, size: defaults.format === "i" ? -1 : defaults.size };
  }
  c.pos++;
  let count = 1;
  if (isDigit(c.ch)) {
    count = 0;
    while (isDigit(c.ch)) {
      count = count * 10 + Number(c.ch);
      c.pos++;
    }
  }
  let size = -1;
  let fmt = "";
  for (;;) {
    const ch = c.text[c.pos] as string | undefined;
    if (ch !== undefined && "oduxic".includes(ch)) fmt = ch;
    else if (ch === "b") size = 1;
    else if (ch === "h") size = 2;
    else if (ch === "w") size = 4;
    else if (ch === "g" || ch === "L") size = 8;
    else break;
    c.pos++;
  }
  if (c.ch !== undefined && !isSpace(c.ch)) throw new HmpError(`invalid char in format: '${c.ch}'`);
  if (fmt === "") fmt = defaults.format;
  if (fmt !== "i") {
    if (size < 0) size = defaults.size;
    defaults.size = size;
  }
  defaults.format = fmt;
  return { count, format: fmt, size };
}

// ---------------------------------------------------------------- output helpers

/** One character as QEMU's monitor_printc shows it: 'A', '\n', '\x00'. */
function printc(v: number): string {
  switch (v) {
    case 0x27: return "'\\''";
    case 0x5c: return "'\\\\'";
    case 0x0a: return "'\\n'";
    case 0x0d: return "'\\r'";
    default:
      return v >= 32 && v <= 126 ? `'${String.fromCharCode(v)}'` : `'\\x${(v >>> 0).toString(16).padStart(2, "0")}'`;
  }
}

/** C's "%#o" / "%#x": no prefix for zero. */
const altOctal = (v: bigint): string => (v === 0n ? "0" : "0" + v.toString(8));
const altHex = (v: bigint): string => (v === 0n ? "0" : "0x" + v.toString(16));

function loadLE(buf: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]);
  return v;
}

function readMemory(env: HmpEnv, addr: bigint, length: number, physical: boolean): Uint8Array | undefined {
  const m = env.hub.machine;
  return physical ? m.readPhysical(U64(addr), length) : readVirtual(m, env.cpuIndex, addr, length);
}

/** x / xp: QEMU's memory_dump. */
function memoryDump(env: HmpEnv, f: Format, start: bigint, physical: boolean): void {
  if (f.format === "i") {
    disassemble(env, f.count, start, physical);
    return;
  }
  let wsize = f.size;
  let len = wsize * f.count;
  const lineSize = wsize === 1 ? 8 : 16;
  let digits = 0;
  switch (f.format) {
    case "o": digits = Math.ceil((wsize * 8) / 3); break;
    case "u": case "d": digits = Math.ceil((wsize * 8 * 10) / 33); break;
    case "c": wsize = 1; break;
    default: digits = (wsize * 8) / 4; break;
  }
  let addr = U64(start);
  while (len > 0) {
    let line = `${hex16(addr)}:`;
    const l = Math.min(len, lineSize);
    const buf = readMemory(env, addr, l, physical);
    if (buf === undefined) {
      env.print(`${line} Cannot access memory\n`);
      return;
    }
    for (let i = 0; i < l; i += wsize) {
      const v = loadLE(buf, i, Math.min(wsize, l - i));
      line += " ";
      switch (f.format) {
        case "o": line += altOctal(v).padStart(digits); break;
        case "u": line += v.toString().padStart(digits); break;
        case "d": line += (wsize === 8 ? BigInt.asIntN(64, v) : v).toString().padStart(digits); break;
        case "c": line += printc(Number(v)); break;
        default: line += "0x" + v.toString(16).padStart(digits, "0"); break;
      }
    }
    env.print(line + "\n");
    addr = U64(addr + BigInt(l));
    len -= l;
  }
}

function disassemble(env: HmpEnv, count: number, start: bigint, physical: boolean): void {
  const m = env.hub.machine;
  let addr = U64(start);
  for (let n = 0; n < count; n++) {
    const bytes = readMemory(env, addr, 4, physical) ?? readMemory(env, addr, 2, physical);
    if (bytes === undefined) {
      env.print(`0x${hex16(addr)}:  Cannot access memory\n`);
      return;
    }
    const insn = m.disassemble(bytes, addr);
    const word = loadLE(bytes, 0, insn.length).toString(16).padStart(insn.length * 2, "0");
    const space = insn.text.indexOf(" ");
    const text = space < 0 ? insn.text : insn.text.slice(0, space).padEnd(24) + insn.text.slice(space + 1);
    env.print(`0x${hex16(addr)}:  ${word.padEnd(18)}${text}\n`);
    addr = U64(addr + BigInt(insn.length));
  }
}

// ---------------------------------------------------------------- commands

interface HmpCommand {
  /** "print|p": the name and its aliases. */
  name: string;
  params: string;
  help: string;
  /** A command that waits on the host (hostfwd_add binding a port) returns a promise: the monitor answers when it settles. */
  run(c: Cursor, env: HmpEnv, self: HmpCommand): void | Promise<void>;
}

function noArgs(c: Cursor, self: HmpCommand): void {
  if (!c.atEnd()) throw new HmpError(`${self.name}: extraneous characters at the end of line`);
}

function qmpCall(env: HmpEnv, action: () => void): void {
  try {
    action();
  } catch (e) {
    if (e instanceof QmpError) env.print(`Error: ${e.message}\n`);
    else throw e;
  }
}

function blockText(env: HmpEnv, only?: string): void {
  const devices = env.hub.machine.blockDevices().filter((d) => only === undefined || d.device === only);
  if (only !== undefined && devices.length === 0) {
    env.print(`Device '${only}' not found\n`);
    return;
  }
  env.print(devices.map((d) =>
    `${d.device} (${d.nodeName}): ${d.file} (${d.format}${d.readOnly ? ", read-only" : ""})\n` +
    (d.qdev !== undefined ? `    Attached to:      ${d.qdev}\n` : "") +
    "    Cache mode:       writeback\n" +
    (d.snapshot ? "    Backing file:     (writes kept in memory: -snapshot)\n" : "")).join("\n"));
}

function qtreeText(devices: QtreeDevice[], indent: string): string {
  let out = "";
  for (const d of devices) {
    out += `${indent}dev: ${d.type}, id "${d.id}"\n`;
    for (const [k, v] of d.props) out += `${indent}  ${k} = ${v}\n`;
    for (const r of d.mmio) {
      out += `${indent}  mmio ${r.base.toString(16).padStart(16, "0")}/${r.size.toString(16).padStart(16, "0")}\n`;
    }
    if (d.bus !== undefined) {
      out += `${indent}  bus: ${d.bus.name}\n${indent}    type ${d.bus.type}\n`;
      out += qtreeText(d.bus.devices, indent + "    ");
    }
  }
  return out;
}

/** A 64-bit monitor number: QEMU prints -1 (a BAR that does not decode) as all ones. */
function u64Hex(v: bigint, width: number): string {
  return BigInt.asUintN(64, v).toString(16).padStart(width, "0");
}

/**
 * hostfwd_add / hostfwd_remove [netdev_id] RULE: the backend's own hostfwd (-netdev user has one).
 * The answer waits for the host to bind the port (asynchronous on Node), so that a busy port
 * is refused in the monitor as QEMU's immediate bind refuses it.
 */
async function hostfwdCommand(c: Cursor, env: HmpEnv, add: boolean): Promise<void> {
  const first = word(c);
  if (first === undefined) throw new HmpError(`${add ? "hostfwd_add" : "hostfwd_remove"}: string expected`);
  const second = word(c);
  if (!c.atEnd()) throw new HmpError(`${add ? "hostfwd_add" : "hostfwd_remove"}: extraneous characters at the end of line`);
  const [id, rule] = second === undefined ? [undefined, first] : [first, second];
  const network = env.hub.machine.network;
  const err = network !== undefined ? await network.hostfwd(add, id, rule)
    : id === undefined ? "invalid device specified" : `unrecognized netdev id '${id}'`;
  if (err !== undefined) env.print(`${err}\n`);
  else if (!add) env.print(`host forwarding rule for ${rule} removed\n`);
}

/** `info pci`, as QEMU's hmp_info_pci_device prints each function. */
function pciText(devices: PciFunctionInfo[]): string {
  let out = "";
  for (const d of devices) {
    out += `  Bus ${String(d.bus).padStart(2)}, device ${String(d.slot).padStart(3)}, function ${d.function}:\n`;
    const name = pciClassName(d.classCode);
    out += `    ${name ?? `Class ${String(d.classCode).padStart(4, "0")}`}: PCI device ${hex4(d.vendor)}:${hex4(d.device)}\n`;
    if (d.subsystemVendor !== undefined) out += `      PCI subsystem ${hex4(d.subsystemVendor)}:${hex4(d.subsystem ?? 0)}\n`;
    if (d.irq !== undefined) out += `      IRQ ${d.irq}, pin ${String.fromCharCode(64 + d.irqPin)}\n`;
    const b = d.bridge;
    if (b !== undefined) {
      const range = (r: { base: number; limit: number }, width: number): string =>
        `[0x${r.base.toString(16).padStart(width, "0")}, 0x${r.limit.toString(16).padStart(width, "0")}]`;
      out += `      BUS ${b.number}.\n      secondary bus ${b.secondary}.\n      subordinate bus ${b.subordinate}.\n`;
      out += `      IO range ${range(b.io, 4)}\n      memory range ${range(b.memory, 8)}\n`;
      out += `      prefetchable memory range ${range(b.prefetch, 8)}\n`;
    }
    for (const r of d.regions) {
      const start = BigInt(r.address);
      const end = start + BigInt(r.size) - 1n;
      out += r.type === "io"
        ? `      BAR${r.bar}: I/O at 0x${u64Hex(start, 4)} [0x${u64Hex(end, 4)}].\n`
        : `      BAR${r.bar}: ${r.mem64 === true ? 64 : 32} bit${r.prefetch === true ? " prefetchable" : ""} memory at 0x${u64Hex(start, 8)} [0x${u64Hex(end, 8)}].\n`;
    }
    out += `      id "${d.qdevId}"\n`;
    if (b?.devices !== undefined) out += pciText(b.devices);
  }
  return out;
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, "0");
}

const INFO: HmpCommand[] = [
  {
    name: "block", params: "[-n] [-v] [device]",
    help: "show info of one block device or all block devices (-n: show named nodes; -v: show details)",
    run: (c, env) => {
      let device: string | undefined;
      for (;;) {
        c.skipSpace();
        if (c.ch === "-" && (c.text[c.pos + 1] === "n" || c.text[c.pos + 1] === "v")) { c.pos += 2; continue; }
        break;
      }
      if (!c.atEnd()) device = word(c);
      if (!c.atEnd()) throw new HmpError("block: extraneous characters at the end of line");
      blockText(env, device);
    },
  },
  {
    name: "chardev", params: "", help: "show the character devices",
    run: (c, env, self) => {
      noArgs(c, self);
      for (const d of env.hub.machine.chardevs()) env.print(`${d.label}: filename=${d.filename}\n`);
    },
  },
  {
    name: "cpus", params: "", help: "show infos for each CPU",
    run: (c, env, self) => {
      noArgs(c, self);
      const m = env.hub.machine;
      for (let i = 0; i < m.cpuCount(); i++) {
        env.print(`${i === env.cpuIndex ? "*" : " "} CPU #${i}: thread_id=${m.threadId(i)}\n`);
      }
    },
  },
  {
    name: "iothreads", params: "", help: "show iothreads",
    run: (c, env, self) => {
      noArgs(c, self);
      for (const t of env.hub.machine.iothreads?.() ?? []) {
        env.print(`${t.id}:\n  thread_id=${t.threadId}\n  poll-max-ns=${t.pollMaxNs}\n  poll-grow=${t.pollGrow}\n`
          + `  poll-shrink=${t.pollShrink}\n  aio-max-batch=${t.aioMaxBatch}\n`);
      }
    },
  },
  // QEMU 7.2's riscv virt has no interrupt controller that reports statistics or state here
  // (none implements its InterruptStatsProvider): both commands print nothing, as there.
  {
    name: "irq", params: "", help: "show the interrupts statistics (if available)",
    run: (c, _env, self) => noArgs(c, self),
  },
  {
    name: "kvm", params: "", help: "show KVM information",
    run: (c, env, self) => { noArgs(c, self); env.print("kvm support: not compiled\n"); },
  },
  {
    name: "mtree", params: "[-f][-d][-o][-D]",
    help: "show memory tree (-f: dump flat view for address spaces;-d: dump dispatch tree, valid with -f only);-o: dump region owners/parents;-D: dump disabled regions",
    run: (c, env) => {
      for (;;) {
        c.skipSpace();
        if (c.ch === "-" && "fdoD".includes(c.text[c.pos + 1] ?? "?")) { c.pos += 2; continue; }
        break;
      }
      if (!c.atEnd()) throw new HmpError("mtree: extraneous characters at the end of line");
      const m = env.hub.machine;
      let out = "";
      for (let i = 0; i < m.cpuCount(); i++) out += `address-space: cpu-memory-${i}\n`;
      out += "address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n";
      for (const r of [...m.memoryMap()].sort((a, b) => a.base - b.base)) {
        const end = r.base + r.size - 1;
        out += `    ${r.base.toString(16).padStart(16, "0")}-${end.toString(16).padStart(16, "0")} (prio 0, ${r.kind}): ${r.name}\n`;
      }
      env.print(out + "\n");
    },
  },
  {
    name: "name", params: "", help: "show the current VM name",
    run: (c, env, self) => {
      noArgs(c, self);
      const name = env.hub.machine.name;
      if (name !== undefined) env.print(`${name}\n`);
    },
  },
  {
    name: "network", params: "", help: "show the network state",
    run: (c, env, self) => {
      noArgs(c, self);
      env.print(env.hub.machine.network?.infoText() ?? "");
    },
  },
  {
    name: "pci", params: "", help: "show PCI info",
    run: (c, env, self) => {
      noArgs(c, self);
      env.print(pciText(env.hub.machine.pciDevices()));
    },
  },
  {
    name: "pic", params: "", help: "show PIC state",
    run: (c, _env, self) => noArgs(c, self),
  },
  {
    name: "qtree", params: "", help: "show device tree",
    run: (c, env, self) => {
      noArgs(c, self);
      env.print("bus: main-system-bus\n  type System\n" + qtreeText(env.hub.machine.qtree(), "  "));
    },
  },
  {
    name: "registers", params: "[-a|vcpu]",
    help: "show the cpu registers (-a: show register info for all cpus; vcpu: specific vCPU to query; show the current CPU's registers if no argument is specified)",
    run: (c, env) => {
      const m = env.hub.machine;
      c.skipSpace();
      let all = false;
      if (c.ch === "-") {
        const opt = c.text[c.pos + 1];
        if (opt !== "a") throw new HmpError(`registers: unsupported option -${opt ?? ""}`);
        c.pos += 2;
        all = true;
      }
      let vcpu = -1;
      if (!c.atEnd()) vcpu = Number(expr32(c, env, "registers"));
      if (!c.atEnd()) throw new HmpError("registers: extraneous characters at the end of line");
      const dump = (i: number): void => env.print(`\nCPU#${i}\n${m.cpu(i).dumpState()}`);
      if (all) {
        for (let i = 0; i < m.cpuCount(); i++) dump(i);
      } else if (vcpu >= 0) {
        if (vcpu >= m.cpuCount()) env.print(`CPU#${vcpu} not available\n`);
        else dump(vcpu);
      } else {
        dump(env.cpuIndex);
      }
    },
  },
  {
    name: "status", params: "", help: "show the current VM status (running|paused)",
    run: (c, env, self) => {
      noArgs(c, self);
      const status = env.hub.machine.status();
      env.print(`VM status: ${status === "running" ? "running" : "paused"}${status !== "running" && status !== "paused" ? ` (${status})` : ""}\n`);
    },
  },
  {
    name: "version", params: "", help: "show the version of QEMU",
    run: (c, env, self) => { noArgs(c, self); env.print(`${versionText()}${QEMU_PACKAGE}\n`); },
  },
];

/**
 * `pcie_aer_inject_error [-a] [-c] id error [header0..3 [prefix0..3]]`, with
 * QEMU 7.2's replies (pcie_aer.c's hmp_pcie_aer_inject_error).
 */
function aerInject(c: Cursor, env: HmpEnv): void {
  let advisory = false;
  let correctable = false;
  for (;;) {
    c.skipSpace();
    if (c.ch === "-" && (c.text[c.pos + 1] === "a" || c.text[c.pos + 1] === "c")) {
      if (c.text[c.pos + 1] === "a") advisory = true;
      else correctable = true;
      c.pos += 2;
      continue;
    }
    break;
  }
  const id = word(c);
  const status = word(c);
  if (id === undefined || status === undefined) throw new HmpError("pcie_aer_inject_error: missing argument");
  const header: number[] = [];
  while (!c.atEnd() && header.length < 8) header.push(Number(BigInt.asUintN(32, expr(c, env))));
  if (!c.atEnd()) throw new HmpError("pcie_aer_inject_error: extraneous characters at the end of line");
  const target = env.hub.machine.pciFunctionById(id);
  if (target === undefined) {
    env.print(`id or pci device path is invalid or device not found. ${id}\n`);
    return;
  }
  if (target.errors === undefined) {
    env.print(`the device doesn't support pci express. ${id}\n`);
    return;
  }
  const err = parseAerError(status, correctable);
  if (err === undefined) {
    // QEMU prints this one without a newline.
    env.print(`invalid error status value. "${status}"`);
    return;
  }
  const ok = target.errors.inject({
    ...err, sourceId: (target.bus << 8) | target.devfn, maybeAdvisory: advisory,
    ...(header.length > 0 ? { header: [0, 1, 2, 3].map((i) => header[i] ?? 0) } : {}),
  });
  if (!ok) {
    env.print("failed to inject error: Invalid argument\n");
    return;
  }
  env.print(`OK id: ${id} root bus: 0000:00, bus: ${target.bus.toString(16)} devfn: ${(target.devfn >> 3).toString(16)}.${target.devfn & 7}\n`);
}

const COMMANDS: HmpCommand[] = [
  {
    name: "cont|c", params: "", help: "resume emulation",
    run: (c, env, self) => {
      noArgs(c, self);
      const err = env.hub.machine.cont();
      if (err !== undefined) env.print(`Error: ${err}\n`);
    },
  },
  {
    name: "cpu", params: "index", help: "set the default CPU",
    run: (c, env) => {
      const v = expr32(c, env, "cpu");
      if (!c.atEnd()) throw new HmpError("cpu: extraneous characters at the end of line");
      if (v < 0n || v >= BigInt(env.hub.machine.cpuCount())) env.print("invalid CPU index\n");
      else env.cpuIndex = Number(v);
    },
  },
  {
    name: "help|?", params: "[cmd]", help: "show the help",
    run: (c, env) => {
      const words: string[] = [];
      for (;;) {
        const w = word(c);
        if (w === undefined) break;
        words.push(w);
      }
      help(env, words);
    },
  },
  {
    name: "info", params: "[subcommand]", help: "show various information about the system state",
    run: () => { /* dispatched in runHmpCommand */ },
  },
  {
    name: "hostfwd_add", params: "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
    help: "redirect TCP or UDP connections from host to guest (requires -net user)",
    run: (c, env) => hostfwdCommand(c, env, true),
  },
  {
    name: "hostfwd_remove", params: "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
    help: "remove host-to-guest TCP or UDP redirection",
    run: (c, env) => hostfwdCommand(c, env, false),
  },
  {
    name: "memsave", params: "addr size file", help: "save to disk virtual memory dump starting at 'addr' of size 'size'",
    run: (c, env) => {
      const addr = expr(c, env);
      const size = expr32(c, env, "memsave");
      const file = word(c);
      if (file === undefined) throw new HmpError("memsave: string expected");
      if (!c.atEnd()) throw new HmpError("memsave: extraneous characters at the end of line");
      qmpCall(env, () => memsave(env.hub.machine, env.hub.host, env.cpuIndex, addr, size, file));
    },
  },
  {
    name: "pcie_aer_inject_error", params: "[-a] [-c] id <error_status> [<tlp header> [<tlp header prefix>]]",
    help: "inject pcie aer error\n\t\t\t -a for advisory non fatal error\n\t\t\t -c for correctable error\n\t\t\t"
      + "<id> = qdev device id\n\t\t\t<error_status> = error string or 32bit\n\t\t\t<tlp header> = 32bit x 4\n\t\t\t"
      + "<tlp header prefix> = 32bit x 4",
    run: (c, env) => aerInject(c, env),
  },
  {
    name: "pmemsave", params: "addr size file", help: "save to disk physical memory dump starting at 'addr' of size 'size'",
    run: (c, env) => {
      const addr = expr(c, env);
      const size = expr32(c, env, "pmemsave");
      const file = word(c);
      if (file === undefined) throw new HmpError("pmemsave: string expected");
      if (!c.atEnd()) throw new HmpError("pmemsave: extraneous characters at the end of line");
      qmpCall(env, () => pmemsave(env.hub.machine, env.hub.host, addr, size, file));
    },
  },
  {
    name: "print|p", params: "/fmt expr", help: "print expression value (use $reg for CPU register access)",
    run: (c, env, self) => {
      const f = format(c, env.hub.hmpDefaults);
      const v = expr(c, env);
      if (!c.atEnd()) throw new HmpError(`${self.name}: extraneous characters at the end of line`);
      const u = U64(v);
      switch (f.format) {
        case "o": env.print(altOctal(u)); break;
        case "x": env.print(altHex(u)); break;
        case "u": env.print(u.toString()); break;
        case "c": env.print(printc(Number(BigInt.asIntN(32, v)))); break;
        default: env.print(v.toString()); break;
      }
      env.print("\n");
    },
  },
  {
    name: "quit|q", params: "", help: "quit the emulator",
    run: (c, env, self) => { noArgs(c, self); env.hub.machine.quit(); },
  },
  {
    name: "set_link", params: "name on|off", help: "change the link status of a network adapter",
    run: (c, env) => {
      const name = word(c);
      if (name === undefined) throw new HmpError("set_link: string expected");
      const state = word(c);
      if (state !== "on" && state !== "off") throw new HmpError("Expected 'on' or 'off'");
      if (!c.atEnd()) throw new HmpError("set_link: extraneous characters at the end of line");
      const network = env.hub.machine.network;
      const err = network === undefined ? `Device '${name}' not found` : network.setLink(name, state === "on");
      if (err !== undefined) env.print(`Error: ${err}\n`);
    },
  },
  {
    name: "stop|s", params: "", help: "stop emulation",
    run: (c, env, self) => { noArgs(c, self); env.hub.machine.stop(); },
  },
  {
    name: "system_powerdown", params: "", help: "send system power down event",
    run: (c, env, self) => { noArgs(c, self); env.hub.machine.powerdown(); },
  },
  {
    name: "system_reset", params: "", help: "reset the system",
    run: (c, env, self) => { noArgs(c, self); env.hub.machine.reset(); },
  },
  {
    name: "x", params: "/fmt addr", help: "virtual memory dump starting at 'addr'",
    run: (c, env, self) => {
      const f = format(c, env.hub.hmpDefaults);
      const addr = expr(c, env);
      if (!c.atEnd()) throw new HmpError(`${self.name}: extraneous characters at the end of line`);
      memoryDump(env, f, addr, false);
    },
  },
  {
    name: "xp", params: "/fmt addr", help: "physical memory dump starting at 'addr'",
    run: (c, env, self) => {
      const f = format(c, env.hub.hmpDefaults);
      const addr = expr(c, env);
      if (!c.atEnd()) throw new HmpError(`${self.name}: extraneous characters at the end of line`);
      memoryDump(env, f, addr, true);
    },
  },
];

function matches(name: string, table: HmpCommand): boolean {
  return table.name.split("|").includes(name);
}

function helpLine(cmd: HmpCommand, prefix: string): string {
  return `${prefix}${cmd.name} ${cmd.params} -- ${cmd.help}\n`;
}

function help(env: HmpEnv, words: string[]): void {
  if (words.length === 0) {
    for (const cmd of COMMANDS) env.print(helpLine(cmd, ""));
    return;
  }
  const cmd = COMMANDS.find((x) => matches(words[0], x));
  if (cmd === undefined) {
    env.print(`unknown command: '${words[0]}'\n`);
    return;
  }
  if (cmd.name !== "info") {
    env.print(helpLine(cmd, ""));
    return;
  }
  if (words.length === 1) {
    for (const sub of INFO) env.print(helpLine(sub, "info "));
    return;
  }
  const sub = INFO.find((x) => matches(words[1], x));
  if (sub === undefined) env.print(`unknown command: '${words[0]} ${words[1]}'\n`);
  else env.print(helpLine(sub, "info "));
}

/** The command name at the cursor: up to a space or '/'. */
function commandName(c: Cursor): string {
  c.skipSpace();
  const start = c.pos;
  while (c.ch !== undefined && c.ch !== "/" && !isSpace(c.ch)) c.pos++;
  return c.text.slice(start, c.pos);
}

/**
 * Run one command line, as QEMU's handle_hmp_command.  Returns a promise when
 * the command waits on the host; its output is complete once that settles.
 */
export function runHmpCommand(line: string, env: HmpEnv): void | Promise<void> {
  const c = new Cursor(line);
  const name = commandName(c);
  if (name === "") return;
  let cmd = COMMANDS.find((x) => matches(name, x));
  if (cmd === undefined) {
    env.print(`unknown command: '${line.slice(0, c.pos).trimStart()}'\n`);
    return;
  }
  c.skipSpace();
  if (cmd.name === "info") {
    if (c.atEnd()) {
      for (const sub of INFO) env.print(helpLine(sub, "info "));
      return;
    }
    const subName = commandName(c);
    const sub = INFO.find((x) => matches(subName, x));
    if (sub === undefined) {
      env.print(`unknown command: '${line.slice(0, c.pos).trimStart()}'\n`);
      return;
    }
    cmd = sub;
    c.skipSpace();
  }
  const argsAt = c.pos;
  const usage = (e: unknown): void => {
    if (!(e instanceof HmpError)) throw e;
    env.print(`${e.message}\nTry "help ${line.slice(0, argsAt).trim()}" for more information\n`);
  };
  try {
    const done = cmd.run(c, env, cmd);
    if (done !== undefined) return done.catch(usage);
  } catch (e) {
    usage(e);
  }
}

// ---------------------------------------------------------------- the terminal

const PROMPT = "(qemu) ";

/**
 * HMP on a terminal or socket (QEMU's readline): echoes what is typed,
 * Backspace, Ctrl-U, history on the up and down arrows, a command per
 * Enter (CR, LF or CRLF), the "(qemu) " prompt.
 */
export class HmpSession implements MonitorSession {
  private cpuIndex = 0;
  private line = "";
  private readonly history: string[] = [];
  private historyPos = 0;
  /** 0: plain; 1: after ESC; 2: in an ESC [ or ESC O sequence. */
  private escape = 0;
  private lastCR = false;
  private closed = false;
  private greeted = false;
  private readonly decoder = new TextDecoder("utf-8");
  /** Characters typed while a command waits on the host: handled once it has answered, as QEMU reads no input meanwhile. */
  private typed: string[] = [];
  private busy = false;

  constructor(private readonly hub: MonitorHub, private readonly out: MonitorOutput) {}

  private write(text: string): void {
    if (!this.closed) this.out.write(text.replace(/\r?\n/g, "\r\n"));
  }

  /** The banner and the prompt (a terminal or socket monitor when it opens). */
  start(): void {
    this.greeted = true;
    this.write(`QEMU ${versionText()} monitor - type 'help' for more information\n${PROMPT}`);
  }

  /** The stdio multiplexer gave this monitor the keyboard (Ctrl-A c). */
  focusIn(): void {
    if (!this.greeted) this.start();
    else this.write(PROMPT + this.line);
  }

  /** The keyboard went back to the guest. */
  focusOut(): void {
    this.write("\n");
  }

  close(): void {
    this.closed = true;
  }

  input(bytes: Uint8Array): void {
    this.keys([...this.decoder.decode(bytes, { stream: true })]);
  }

  private keys(chars: readonly string[]): void {
    for (let i = 0; i < chars.length; i++) {
      if (this.closed) return;
      if (this.busy) {
        this.typed.push(...chars.slice(i));
        return;
      }
      this.key(chars[i]);
    }
  }

  private key(ch: string): void {
    const code = ch.codePointAt(0) ?? 0;
    if (this.escape === 1) {
      this.escape = ch === "[" || ch === "O" ? 2 : 0;
      return;
    }
    if (this.escape === 2) {
      if (code >= 0x40 && code <= 0x7e) {
        this.escape = 0;
        if (ch === "A") this.recall(-1);
        else if (ch === "B") this.recall(1);
      }
      return;
    }
    const wasCR = this.lastCR;
    this.lastCR = ch === "\r";
    switch (code) {
      case 0x0d: this.enter(); return;
      case 0x0a: if (!wasCR) this.enter(); return;
      case 0x1b: this.escape = 1; return;
      case 0x7f: case 0x08:
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1);
          this.write("\b \b");
        }
        return;
      case 0x15: this.replaceLine(""); return;
      default:
        if (code < 0x20) return;
        this.line += ch;
        this.write(ch);
    }
  }

  private replaceLine(text: string): void {
    this.write("\b \b".repeat(this.line.length) + text);
    this.line = text;
  }

  private recall(step: number): void {
    const pos = this.historyPos + step;
    if (pos < 0 || pos > this.history.length) return;
    this.historyPos = pos;
    this.replaceLine(this.history[pos] ?? "");
  }

  private enter(): void {
    const line = this.line;
    this.line = "";
    this.write("\n");
    if (line.trim() !== "" && this.history[this.history.length - 1] !== line) this.history.push(line);
    this.historyPos = this.history.length;
    const env: HmpEnv = { hub: this.hub, cpuIndex: this.cpuIndex, print: (t) => this.write(t) };
    const answered = (): void => {
      this.cpuIndex = env.cpuIndex;
      if (!this.hub.leaving) this.write(PROMPT);
    };
    const done = runHmpCommand(line, env);
    if (done === undefined) {
      answered();
      return;
    }
    this.busy = true;
    // A command that fails in an unexpected way answers with its message; the monitor goes on.
    void done.catch((e: unknown) => { this.write(`${e instanceof Error ? e.message : String(e)}\n`); }).finally(() => {
      answered();
      this.busy = false;
      const typed = this.typed;
      this.typed = [];
      this.keys(typed);
    });
  }
}
