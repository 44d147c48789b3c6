/**
 * The QMP commands tsemu answers, each with its arguments declared as in
 * QEMU's schema (qapi/*.json), so that a missing, unknown or wrong-typed
 * argument gets QEMU's error text (qapi/qobject-input-visitor.c): members
 * are checked in schema order, then any member left over is "unexpected".
 */
import type { Json, JsonObject } from "./json.js";
import type { MachineControl } from "./machine.js";
import type { MonitorHub } from "./monitor.js";
import { QmpError } from "./qmp-error.js";
import { memsave, pmemsave } from "./guest-memory.js";
import { runHmpCommand } from "./hmp.js";
import { versionInfo } from "./qmp-version.js";
import { pciClassName, type PciFunctionInfo } from "../hw/pci/pci-info.js";

export { QmpError } from "./qmp-error.js";

export type ArgType = "str" | "int" | "bool" | "number" | "any" | { enum: readonly string[] } | { list: ArgType };

export interface ArgSpec {
  name: string;
  type: ArgType;
  optional?: boolean;
}

export interface CommandContext {
  hub: MonitorHub;
  machine: MachineControl;
  /** qmp_capabilities: leave negotiation mode with these capabilities. */
  negotiate(enable: string[]): void;
}

export interface QmpCommand {
  name: string;
  args: ArgSpec[];
  /** May run out-of-band (exec-oob). */
  allowOob?: boolean;
  /** A command that waits on the host (human-monitor-command running hostfwd_add) returns a promise: its reply comes when it settles. */
  run(args: JsonObject, ctx: CommandContext): Json | Promise<Json>;
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function typeName(t: ArgType): string {
  if (typeof t === "object") return "list" in t ? "array" : "string";
  switch (t) {
    case "str": return "string";
    case "int": return "integer";
    case "bool": return "boolean";
    case "number": return "number";
    case "any": return "any";
  }
}

function checkValue(t: ArgType, v: Json, name: string): string | undefined {
  const wrongType = `Invalid parameter type for '${name}', expected: ${typeName(t)}`;
  if (typeof t === "object") {
    if ("list" in t) {
      if (!Array.isArray(v)) return wrongType;
      // QEMU 7.2 names a list element 'null' in these messages.
      for (const item of v) {
        const bad = checkValue(t.list, item, "null");
        if (bad !== undefined) return bad;
      }
      return undefined;
    }
    if (typeof v !== "string") return wrongType;
    return t.enum.includes(v) ? undefined : `Parameter '${name}' does not accept value '${v}'`;
  }
  switch (t) {
    case "str": return typeof v === "string" ? undefined : wrongType;
    case "int": return typeof v === "bigint" && v >= I64_MIN && v <= I64_MAX ? undefined : wrongType;
    case "bool": return typeof v === "boolean" ? undefined : wrongType;
    case "number": return typeof v === "bigint" || typeof v === "number" ? undefined : wrongType;
    case "any": return undefined;
  }
}

/** QEMU's answer for these arguments, or undefined when they are well-formed. */
export function checkArguments(specs: readonly ArgSpec[], args: JsonObject): string | undefined {
  for (const spec of specs) {
    if (!Object.prototype.hasOwnProperty.call(args, spec.name)) {
      if (spec.optional) continue;
      return `Parameter '${spec.name}' is missing`;
    }
    const bad = checkValue(spec.type, args[spec.name], spec.name);
    if (bad !== undefined) return bad;
  }
  for (const key of Object.keys(args)) {
    if (!specs.some((s) => s.name === key)) return `Parameter '${key}' is unexpected`;
  }
  return undefined;
}

function cpuIndexArg(m: MachineControl, args: JsonObject): number {
  const v = args["cpu-index"];
  if (v === undefined) return 0;
  const i = Number(v as bigint);
  if (i < 0 || i >= m.cpuCount()) throw new QmpError("GenericError", "Parameter 'cpu-index' expects a CPU number");
  return i;
}

function blockInfo(m: MachineControl): Json[] {
  return m.blockDevices().map((d) => {
    const entry: JsonObject = {
      "io-status": "ok", device: d.device, locked: false, removable: false,
      inserted: {
        "iops_rd": 0, "detect_zeroes": "off",
        image: { "virtual-size": d.virtualSize, filename: d.file, format: d.format, "actual-size": d.actualSize, "dirty-flag": false },
        "iops_wr": 0, ro: d.readOnly, "node-name": d.nodeName, "backing_file_depth": 0, drv: d.format, iops: 0,
        "bps_wr": 0, "write_threshold": 0, encrypted: false, bps: 0, "bps_rd": 0,
        cache: { "no-flush": false, direct: false, writeback: true }, file: d.file,
      },
    };
    if (d.qdev !== undefined) entry.qdev = d.qdev;
    entry.type = "unknown";
    return entry;
  });
}

/** qapi PciDeviceInfo, keys in QEMU 7.2's order (its QDict's). */
function pciInfo(d: PciFunctionInfo): JsonObject {
  const desc = pciClassName(d.classCode);
  const out: JsonObject = { irq_pin: d.irqPin, bus: d.bus };
  const b = d.bridge;
  if (b !== undefined) {
    const range = (r: { base: number; limit: number }): JsonObject => ({ limit: r.limit, base: r.base });
    const bridge: JsonObject = {
      bus: {
        prefetchable_range: range(b.prefetch), memory_range: range(b.memory), secondary: b.secondary,
        io_range: range(b.io), number: b.number, subordinate: b.subordinate,
      },
    };
    if (b.devices !== undefined) bridge.devices = b.devices.map(pciInfo);
    out.pci_bridge = bridge;
  }
  out.qdev_id = d.qdevId;
  if (d.irq !== undefined) out.irq = d.irq;
  Object.assign(out, {
    slot: d.slot, class_info: desc === undefined ? { class: d.classCode } : { class: d.classCode, desc },
    id: d.subsystemVendor === undefined ? { device: d.device, vendor: d.vendor }
      : { device: d.device, "subsystem-vendor": d.subsystemVendor, vendor: d.vendor, subsystem: d.subsystem ?? 0 },
    function: d.function,
    regions: d.regions.map((r): JsonObject => r.type === "io"
      ? { bar: r.bar, size: r.size, address: r.address, type: "io" }
      : { prefetch: r.prefetch === true, mem_type_64: r.mem64 === true, bar: r.bar, size: r.size, address: r.address, type: "memory" }),
  });
  return out;
}

const COMMANDS: QmpCommand[] = [
  {
    name: "qmp_capabilities",
    args: [{ name: "enable", type: { list: { enum: ["oob"] } }, optional: true }],
    run: (a, ctx) => {
      ctx.negotiate((a.enable as string[] | undefined) ?? []);
      return {};
    },
  },
  { name: "query-version", args: [], run: () => versionInfo() },
  {
    name: "query-commands", args: [],
    run: () => COMMANDS.map((c) => ({ name: c.name })),
  },
  {
    name: "query-status", args: [],
    run: (_a, { machine }) => {
      const status = machine.status();
      return { status, singlestep: false, running: status === "running" };
    },
  },
  {
    name: "query-name", args: [],
    run: (_a, { machine }) => (machine.name === undefined ? {} : { name: machine.name }),
  },
  { name: "query-target", args: [], run: (_a, { machine }) => ({ arch: machine.arch }) },
  {
    name: "query-cpus-fast", args: [],
    run: (_a, { machine: m }) => Array.from({ length: m.cpuCount() }, (_, i) => ({
      "thread-id": m.threadId(i), props: { "core-id": i }, "qom-path": m.qomPath(i), "cpu-index": i, target: m.arch,
    })),
  },
  { name: "query-kvm", args: [], run: () => ({ enabled: false, present: false }) },
  { name: "stop", args: [], run: (_a, { machine }) => { machine.stop(); return {}; } },
  {
    name: "cont", args: [],
    run: (_a, { machine }) => {
      const err = machine.cont();
      if (err !== undefined) throw new QmpError("GenericError", err);
      return {};
    },
  },
  { name: "system_reset", args: [], run: (_a, { machine }) => { machine.reset(); return {}; } },
  { name: "system_powerdown", args: [], run: (_a, { machine }) => { machine.powerdown(); return {}; } },
  { name: "quit", args: [], run: (_a, { machine }) => { machine.quit(); return {}; } },
  {
    name: "human-monitor-command",
    args: [{ name: "command-line", type: "str" }, { name: "cpu-index", type: "int", optional: true }],
    run: (a, { hub, machine }) => {
      const cpuIndex = cpuIndexArg(machine, a);
      let out = "";
      const done = runHmpCommand(a["command-line"] as string, { hub, cpuIndex, print: (t) => { out += t; } });
      const reply = (): string => out.replace(/\n/g, "\r\n");
      return done === undefined ? reply() : done.then(reply);
    },
  },
  {
    name: "set_link", args: [{ name: "name", type: "str" }, { name: "up", type: "bool" }],
    run: (a, { machine }) => {
      const name = a.name as string;
      const err = machine.network === undefined ? `Device '${name}' not found` : machine.network.setLink(name, a.up as boolean);
      if (err !== undefined) throw new QmpError("DeviceNotFound", err);
      return {};
    },
  },
  {
    name: "query-rx-filter", args: [{ name: "name", type: "str", optional: true }],
    run: (a, { machine }) => {
      const r = machine.network === undefined ? [] : machine.network.rxFilters(a.name as string | undefined);
      if (typeof r === "string") throw new QmpError("GenericError", r);
      return r as unknown as Json;
    },
  },
  { name: "query-block", args: [], run: (_a, { machine }) => blockInfo(machine) },
  { name: "query-pci", args: [], run: (_a, { machine }) => [{ bus: 0, devices: machine.pciDevices().map(pciInfo) }] },
  {
    name: "query-iothreads", args: [],
    // QEMU 7.2's key order.
    run: (_a, { machine }) => (machine.iothreads?.() ?? []).map((t) => ({
      "poll-shrink": t.pollShrink, "thread-id": t.threadId, "aio-max-batch": t.aioMaxBatch, "poll-grow": t.pollGrow,
      "poll-max-ns": t.pollMaxNs, id: t.id,
    })),
  },
  {
    name: "query-chardev", args: [],
    run: (_a, { machine }) => machine.chardevs().map((c) => ({
      "frontend-open": c.frontendOpen, filename: c.filename, label: c.label,
    })),
  },
  {
    name: "memsave",
    args: [
      { name: "val", type: "int" }, { name: "size", type: "int" }, { name: "filename", type: "str" },
      { name: "cpu-index", type: "int", optional: true },
    ],
    run: (a, { hub, machine }) => {
      const cpu = cpuIndexArg(machine, a);
      memsave(machine, hub.host, cpu, a.val as bigint, a.size as bigint, a.filename as string);
      return {};
    },
  },
  {
    name: "pmemsave",
    args: [{ name: "val", type: "int" }, { name: "size", type: "int" }, { name: "filename", type: "str" }],
    run: (a, { hub, machine }) => {
      pmemsave(machine, hub.host, a.val as bigint, a.size as bigint, a.filename as string);
      return {};
    },
  },
  {
    name: "screendump",
    args: [
      { name: "filename", type: "str" }, { name: "device", type: "str", optional: true },
      { name: "head", type: "int", optional: true }, { name: "format", type: { enum: ["ppm", "png"] }, optional: true },
    ],
    run: (a) => {
      // tsemu's virt has no display of any kind (not even QEMU's text console): nothing to dump.
      if (a.device !== undefined) throw new QmpError("DeviceNotFound", `Device '${a.device as string}' not found`);
      if (a.head !== undefined) throw new QmpError("GenericError", "'head' must be specified together with 'device'");
      throw new QmpError("GenericError", "There is no console to take a screendump from");
    },
  },
];

const BY_NAME = new Map(COMMANDS.map((c) => [c.name, c]));

export function findCommand(name: string): QmpCommand | undefined {
  return BY_NAME.get(name);
}

export function commandNames(): string[] {
  return COMMANDS.map((c) => c.name);
}
