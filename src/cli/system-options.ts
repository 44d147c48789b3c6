/**
 * tsemu-system-riscv64's command line, with QEMU's syntax and meaning.
 * Parsing only: errors are thrown as OptionError with one line that names
 * the option; main() prints it.
 */
import { blockdevDrives } from "./blockdev-options.js";
import {
  OptionError, onOff, parseDeviceSpec, parseKeyValueList, parseKeyValues, parseNetdevSpec, parseNicSpec, parseRamSize,
  type DeviceOption, type NetdevOption, type NicOption,
} from "../system/option-syntax.js";
export { OptionError, parseKeyValueList, parseKeyValues, parseRamSize, type DeviceOption, type NetdevOption, type NicOption };

const MiB = 1024 * 1024;
import { isAccel, parseAccel, type Accel } from "../accel/engine.js";


/** An -accel value: the engine, or an OptionError saying what is wrong. */
function accelOption(what: string, arg: string): Accel {
  const r = parseAccel(arg);
  if (!isAccel(r)) throw new OptionError(`${what}: ${r}`);
  return r;
}

export interface DriveOption {
  file?: string;
  id?: string;
  /** "raw" or "qcow2"; "" to probe the image (QEMU warns when that guesses raw). */
  format: string;
  if: string;
  readOnly: boolean;
  snapshot: boolean;
  cache: "writeback" | "writethrough" | "none" | "directsync" | "unsafe";
  discard: "ignore" | "unmap";
  detectZeroes: "off" | "on" | "unmap";
  /** file.locking=: QEMU's image locks ("auto": where the host has them). */
  locking: "on" | "off" | "auto";
}

export type CharBackend =
  | { kind: "stdio"; mux: boolean }
  | { kind: "null" }
  | { kind: "socket"; address: { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string }; wait: boolean };

export interface ChardevOption {
  id: string;
  backend: CharBackend;
  /** The option as given, for messages. */
  spec: string;
}

/** A monitor on a character device: QMP ("control") or HMP ("readline"). */
export interface MonitorOption {
  chardev: string;
  mode: "control" | "readline";
  pretty: boolean;
}

export interface SystemOptions {
  machine: string;
  dumpdtb?: string;
  /** -M virt,aia=: none (the PLIC), aplic or aplic-imsic. */
  aia: "none" | "aplic" | "aplic-imsic";
  ramSize: number;
  smp: number;
  bios: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  dtb?: string;
  serial: string[];
  display: string;
  nographic: boolean;
  noReboot: boolean;
  noShutdown: boolean;
  drives: DriveOption[];
  devices: DeviceOption[];
  snapshot: boolean;
  icountShift?: number;
  /** -accel: the engine (see accel/engine.ts); its properties are applied when parsed. */
  accel?: Accel;
  debug: string[];
  logFile?: string;
  /** -chardev, plus the ones -qmp and -monitor make (compat_monitorN). */
  chardevs: ChardevOption[];
  /** -mon, -qmp, -qmp-pretty, -monitor; in command-line order. */
  monitors: MonitorOption[];
  /** -monitor, -qmp or -mon was given: -nographic then puts no monitor on stdio. */
  monitorGiven: boolean;
  /** -name */
  name?: string;
  /** -gdb DEV (-s: tcp::1234): where the gdb stub listens. */
  gdb?: string;
  /** -S: start with the CPUs stopped. */
  startPaused: boolean;
  /** -rtc base=DATE: the RTC's start, in ms since the epoch. */
  rtcBase?: number;
  /** -rtc clock=vm: the RTC advances with guest time. */
  rtcClockVm?: boolean;
  netdevs: NetdevOption[];
  nics: NicOption[];
  /** -nic none or -net none: no network at all. */
  netNone: boolean;
  /** -object, as given (parsed with the library's parser when the machine is made; help is answered first). */
  objects: string[];
  action: "run" | "help" | "version";
}

/** Options that take no argument. */
const FLAGS = new Set(["-nographic", "-no-reboot", "-no-shutdown", "-snapshot", "-version", "-h", "-help",
  "-enable-kvm", "-S", "-s"]);
/** Options that take an argument (an option in neither set is invalid). */
const WITH_ARGUMENT = new Set(["-M", "-machine", "-cpu", "-accel", "-m", "-smp", "-bios", "-kernel", "-initrd",
  "-append", "-dtb", "-serial", "-display", "-monitor", "-drive", "-blockdev", "-device", "-icount", "-d", "-D", "-name", "-rtc",
  "-qmp", "-qmp-pretty", "-chardev", "-mon", "-gdb", "-netdev", "-nic", "-net", "-object"]);
/** Options that are known but not supported (yet): they fail with a clear line. */
const UNSUPPORTED = new Map<string, string>([
  ["-enable-kvm", "KVM is not available: tsemu emulates in software (drop -enable-kvm)"],
  ["-loadvm", "snapshots are not supported yet"],
  ["-incoming", "migration is not supported yet"],
]);

export function parseSystemArgs(argv: string[]): SystemOptions {
  const o: SystemOptions = {
    machine: "", aia: "none", ramSize: 128 * MiB, smp: 1, bios: "default", serial: [], display: "default", nographic: false,
    noReboot: false, noShutdown: false, drives: [], devices: [], snapshot: false, debug: [], action: "run", startPaused: false,
    chardevs: [], monitors: [], monitorGiven: false, netdevs: [], nics: [], netNone: false, objects: [],
  };
  const blockdevs: string[] = [];
  /** QEMU numbers the chardevs that -monitor and -qmp create across both options. */
  let compatMonitors = 0;
  const monitorOn = (opt: string, spec: string, mode: "control" | "readline", pretty: boolean): void => {
    o.monitorGiven = true;
    if (spec === "none") return;
    const id = `compat_monitor${compatMonitors++}`;
    o.chardevs.push({ id, backend: parseCharSpec(opt, spec), spec: `${opt} ${spec}` });
    o.monitors.push({ chardev: id, mode, pretty });
  };
  for (let i = 0; i < argv.length; i++) {
    let opt = argv[i];
    if (opt.startsWith("--")) opt = opt.slice(1);
    if (!opt.startsWith("-")) throw new OptionError(`${opt}: unexpected argument (a disk image goes in -drive file=...)`);
    const unsupported = UNSUPPORTED.get(opt);
    if (unsupported !== undefined) throw new OptionError(`${opt}: ${unsupported}`);
    let arg = "";
    if (!FLAGS.has(opt) && !WITH_ARGUMENT.has(opt)) throw new OptionError(`${opt}: invalid option`);
    if (!FLAGS.has(opt)) {
      if (i + 1 >= argv.length) throw new OptionError(`${opt}: requires an argument`);
      arg = argv[++i];
    }
    switch (opt) {
      case "-h": case "-help": o.action = "help"; break;
      case "-version": o.action = "version"; break;
      case "-M": case "-machine": {
        const kv = parseKeyValues(arg, "type");
        for (const [k, v] of kv) {
          if (k === "type") o.machine = v;
          else if (k === "dumpdtb") o.dumpdtb = v;
          else if (k === "aia") {
            if (v !== "none" && v !== "aplic" && v !== "aplic-imsic") {
              throw new OptionError(`${opt} ${arg}: invalid AIA interrupt controller type '${v}'; valid values are none, aplic, and aplic-imsic`);
            }
            o.aia = v;
          }
          else if (k === "accel") o.accel = accelOption(`${opt} ${arg}`, v);
          else throw new OptionError(`${opt} ${arg}: property '${k}' is not supported`);
        }
        break;
      }
      case "-cpu":
        if (arg !== "rv64" && arg !== "max" && !arg.startsWith("rv64,")) {
          throw new OptionError(`-cpu ${arg}: unsupported CPU (tsemu emulates rv64: RV64GC)`);
        }
        break;
      case "-accel":
        o.accel = accelOption(`-accel ${arg}`, arg);
        break;
      case "-m": {
        const kv = parseKeyValues(arg, "size");
        o.ramSize = parseRamSize(kv.get("size") ?? "");
        break;
      }
      case "-smp": {
        const kv = parseKeyValues(arg, "cpus");
        const n = Number(kv.get("cpus") ?? "1");
        if (!Number.isInteger(n) || n < 1) throw new OptionError(`-smp ${arg}: invalid number of CPUs`);
        o.smp = n;
        break;
      }
      case "-bios": o.bios = arg; break;
      case "-kernel": o.kernel = arg; break;
      case "-initrd": o.initrd = arg; break;
      case "-append": o.append = arg; break;
      case "-dtb": o.dtb = arg; break;
      case "-nographic": o.nographic = true; break;
      case "-serial": o.serial.push(arg); break;
      case "-display":
        if (arg !== "none") throw new OptionError(`-display ${arg}: no graphical display in tsemu (use -display none or -nographic)`);
        o.display = "none";
        break;
      case "-monitor": monitorOn(opt, arg, "readline", false); break;
      case "-qmp": monitorOn(opt, arg, "control", false); break;
      case "-qmp-pretty": monitorOn(opt, arg, "control", true); break;
      case "-chardev": o.chardevs.push(parseChardev(arg)); break;
      case "-mon": {
        const kv = parseKeyValues(arg, "chardev");
        const chardev = kv.get("chardev");
        const mode = kv.get("mode") ?? "readline";
        if (chardev === undefined) throw new OptionError(`-mon ${arg}: chardev=ID is required`);
        if (mode !== "control" && mode !== "readline") throw new OptionError(`-mon ${arg}: mode must be control or readline`);
        for (const k of kv.keys()) {
          if (!["chardev", "mode", "pretty"].includes(k)) throw new OptionError(`-mon ${arg}: property '${k}' is not supported`);
        }
        o.monitors.push({ chardev, mode, pretty: onOff("-mon", "pretty", kv.get("pretty")) });
        o.monitorGiven = true;
        break;
      }
      case "-no-reboot": o.noReboot = true; break;
      case "-no-shutdown": o.noShutdown = true; break;
      case "-snapshot": o.snapshot = true; break;
      case "-drive": o.drives.push(parseDrive(arg)); break;
      case "-blockdev": blockdevs.push(arg); break;
      case "-netdev": o.netdevs.push(parseNetdevSpec(arg)); break;
      case "-nic": {
        const nic = parseNicSpec(arg);
        if (nic === undefined) o.netNone = true;
        else o.nics.push(nic);
        break;
      }
      case "-net":
        if (arg !== "none") throw new OptionError(`-net ${arg}: tsemu has only -net none (use -netdev with -device, or -nic)`);
        o.netNone = true;
        break;
      case "-device": o.devices.push(parseDeviceSpec(arg)); break;
      case "-object": o.objects.push(arg); break;
      case "-icount": {
        const kv = parseKeyValues(arg, "shift");
        const shift = kv.get("shift") ?? "";
        if (shift === "auto") throw new OptionError("-icount shift=auto is not supported (give a number, 0 to 10)");
        const n = Number(shift);
        if (shift === "" || !Number.isInteger(n) || n < 0 || n > 10) {
          throw new OptionError(`-icount ${arg}: shift must be a whole number from 0 to 10`);
        }
        o.icountShift = n;
        break;
      }
      case "-d": o.debug.push(...arg.split(",")); break;
      case "-D": o.logFile = arg; break;
      case "-S": o.startPaused = true; break;
      case "-s": o.gdb = "tcp::1234"; break;
      case "-gdb": o.gdb = arg; break;
      case "-name": o.name = parseKeyValues(arg, "guest").get("guest"); break;
      case "-rtc": {
        for (const [k, v] of parseKeyValues(arg)) {
          if (k === "base") {
            if (v === "utc" || v === "localtime") o.rtcBase = undefined;
            else {
              const t = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
              if (Number.isNaN(t)) throw new OptionError(`-rtc base=${v}: expected utc, localtime or a date like 2026-01-01T00:00:00`);
              o.rtcBase = t;
            }
          } else if (k === "clock") {
            if (v !== "host" && v !== "rt" && v !== "vm") throw new OptionError(`-rtc clock=${v}: expected host, rt or vm`);
            o.rtcClockVm = v === "vm";
          } else if (k !== "driftfix") {
            throw new OptionError(`-rtc ${arg}: property '${k}' is not supported`);
          }
        }
        break;
      }
      default:
        throw new OptionError(`${opt}: invalid option`);
    }
  }
  o.drives.push(...blockdevDrives(blockdevs));
  return o;
}

const SOCKET_HELP = "use tcp:HOST:PORT,server=on,wait=off or unix:PATH,server=on,wait=off";

/** A socket's server and wait settings ("server" and "nowait" alone are QEMU's older spelling). */
function socketFlags(opt: string, kv: Map<string, string>): boolean {
  const server = onOff(opt, "server", kv.get("server"));
  const wait = kv.has("nowait") ? false : kv.has("wait") ? onOff(opt, "wait", kv.get("wait")) : true;
  if (!server) throw new OptionError(`${opt}: only listening sockets are supported: add server=on (${SOCKET_HELP})`);
  if (onOff(opt, "telnet", kv.get("telnet"))) throw new OptionError(`${opt}: telnet=on is not supported`);
  if (kv.has("reconnect")) throw new OptionError(`${opt}: reconnect= is for client sockets, which are not supported`);
  return wait;
}

function parsePort(opt: string, text: string | undefined): number {
  const port = Number(text);
  if (text === undefined || text === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OptionError(`${opt}: invalid port '${text ?? ""}'`);
  }
  return port;
}

/**
 * The character-device shorthand of -qmp, -monitor (QEMU's
 * qemu_chr_parse_compat): stdio, null, tcp:HOST:PORT[,server=on][,wait=off],
 * unix:PATH[,server=on][,wait=off].  An empty HOST means the loopback address.
 */
export function parseCharSpec(opt: string, spec: string): CharBackend {
  const where = `${opt} ${spec}`;
  if (spec === "stdio") return { kind: "stdio", mux: false };
  if (spec === "null") return { kind: "null" };
  if (spec.startsWith("tcp:")) {
    const comma = spec.indexOf(",");
    const hostPort = spec.slice(4, comma < 0 ? undefined : comma);
    const colon = hostPort.lastIndexOf(":");
    if (colon < 0) throw new OptionError(`${where}: expected tcp:HOST:PORT`);
    let host = hostPort.slice(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    const port = parsePort(where, hostPort.slice(colon + 1));
    const kv = parseKeyValues(comma < 0 ? "" : spec.slice(comma + 1));
    const wait = socketFlags(where, kv);
    return { kind: "socket", address: { kind: "tcp", host: host === "" ? "127.0.0.1" : host, port }, wait };
  }
  if (spec.startsWith("unix:")) {
    const kv = parseKeyValues(spec.slice(5), "path");
    const path = kv.get("path") ?? "";
    if (path === "") throw new OptionError(`${where}: expected unix:PATH`);
    const wait = socketFlags(where, kv);
    return { kind: "socket", address: { kind: "unix", path }, wait };
  }
  throw new OptionError(`${where}: unsupported character device (use stdio, null, none; ${SOCKET_HELP})`);
}

/** -chardev socket|stdio|null,id=ID,... */
function parseChardev(arg: string): ChardevOption {
  const kv = parseKeyValues(arg, "backend");
  const backend = kv.get("backend") ?? "";
  const id = kv.get("id");
  const where = `-chardev ${arg}`;
  if (id === undefined || id === "") throw new OptionError(`${where}: id=ID is required`);
  const allowed = (keys: string[]): void => {
    for (const k of kv.keys()) {
      if (!["backend", "id", ...keys].includes(k)) throw new OptionError(`${where}: property '${k}' is not supported`);
    }
  };
  switch (backend) {
    case "stdio":
      allowed(["mux", "signal", "logfile"]);
      return { id, backend: { kind: "stdio", mux: onOff(where, "mux", kv.get("mux")) }, spec: where };
    case "null":
      allowed(["mux"]);
      return { id, backend: { kind: "null" }, spec: where };
    case "socket": {
      allowed(["host", "port", "path", "server", "wait", "nowait", "nodelay", "telnet", "ipv4", "ipv6", "reconnect"]);
      const wait = socketFlags(where, kv);
      const path = kv.get("path");
      if (path !== undefined) {
        if (kv.has("host") || kv.has("port")) throw new OptionError(`${where}: give either path= or host= and port=`);
        return { id, backend: { kind: "socket", address: { kind: "unix", path }, wait }, spec: where };
      }
      const host = kv.get("host") ?? "";
      const port = parsePort(where, kv.get("port"));
      return { id, backend: { kind: "socket", address: { kind: "tcp", host: host === "" ? "127.0.0.1" : host, port }, wait }, spec: where };
    }
    default:
      throw new OptionError(`${where}: unsupported backend '${backend}' (tsemu has socket, stdio and null)`);
  }
}

/** One of `values` for property `key` of -drive, or `fallback` when it is not given. */
function choice<T extends string>(arg: string, kv: Map<string, string>, key: string, values: readonly T[], fallback: T): T {
  const v = kv.get(key);
  if (v === undefined) return fallback;
  if (!(values as readonly string[]).includes(v)) throw new OptionError(`-drive ${arg}: invalid ${key} option '${v}' (expected ${values.join(", ")})`);
  return v as T;
}

function parseDrive(arg: string): DriveOption {
  const kv = parseKeyValues(arg);
  const discard = kv.get("discard") === "on" ? "unmap" : kv.get("discard") === "off" ? "ignore" : undefined;
  if (discard !== undefined) kv.set("discard", discard);
  const d: DriveOption = {
    file: kv.get("file"), id: kv.get("id"), format: kv.get("format") ?? "", if: kv.get("if") ?? "virtio",
    readOnly: onOff("-drive", "readonly", kv.get("readonly")), snapshot: onOff("-drive", "snapshot", kv.get("snapshot")),
    cache: choice(arg, kv, "cache", ["writeback", "writethrough", "none", "directsync", "unsafe"] as const, "writeback"),
    discard: choice(arg, kv, "discard", ["ignore", "unmap"] as const, "ignore"),
    detectZeroes: choice(arg, kv, "detect-zeroes", ["off", "on", "unmap"] as const, "off"),
    locking: choice(arg, kv, "file.locking", ["on", "off", "auto"] as const, "auto"),
  };
  for (const k of kv.keys()) {
    if (!["file", "id", "format", "if", "readonly", "snapshot", "media", "cache", "discard", "detect-zeroes", "file.locking"].includes(k)) {
      throw new OptionError(`-drive ${arg}: property '${k}' is not supported`);
    }
  }
  if (d.format !== "" && d.format !== "raw" && d.format !== "qcow2") {
    throw new OptionError(`-drive ${arg}: Unknown driver '${d.format}' (tsemu has raw and qcow2)`);
  }
  if (d.if !== "virtio" && d.if !== "none") {
    throw new OptionError(`-drive ${arg}: if=${d.if} is not supported on virt (use if=virtio or if=none)`);
  }
  if (d.file === undefined) throw new OptionError(`-drive ${arg}: no file= given`);
  return d;
}

export const HELP = `usage: tsemu-system-riscv64 [options]

Emulates QEMU's RISC-V 'virt' board (RV64GC harts, CLINT, PLIC, ns16550a UART,
goldfish RTC, sifive_test, virtio-mmio, PCIe with virtio-pci).  Options, as in qemu-system-riscv64:

-M virt[,dumpdtb=FILE]   the machine (only virt); dumpdtb writes the device tree and exits
   [,aia=none|aplic|aplic-imsic]  interrupt controllers: PLIC (default), APLIC, APLIC and IMSICs
-m SIZE                  RAM size (default 128M; suffixes K, M, G; at most 2047M)
-smp N                   number of harts (1 to 8)
-bios FILE|none|default  M-mode firmware (default: Debian's OpenSBI fw_dynamic.bin)
-kernel FILE             kernel (raw Image or ELF), started in S-mode by the firmware
-initrd FILE             initial RAM disk
-append CMDLINE          kernel command line
-dtb FILE                use this device tree instead of the generated one
-nographic               no display; serial and monitor multiplexed on stdio
-serial stdio|mon:stdio|file:PATH|none
-display none
-name NAME               the VM's name (query-name, info name)
-qmp DEV                 a QMP monitor on DEV: tcp:HOST:PORT,server=on,wait=off (an empty HOST
                         is the loopback address), unix:PATH,server=on,wait=off, or stdio
-qmp-pretty DEV          the same, with pretty-printed JSON
-monitor DEV|none        a human monitor (HMP) on DEV (as -qmp; stdio is the terminal)
-chardev socket,id=ID,host=H,port=P|path=PATH,server=on[,wait=off]
-chardev stdio,id=ID[,mux=on]   -chardev null,id=ID
-mon chardev=ID[,mode=control|readline][,pretty=on]  a monitor on a -chardev
-no-reboot               exit when the guest resets
-no-shutdown             stay (paused) when the guest powers off
-drive file=IMG,format=raw|qcow2,if=virtio[,readonly=on][,snapshot=on][,cache=MODE]
       [,discard=ignore|unmap][,detect-zeroes=off|on|unmap][,file.locking=auto|on|off]
                         a virtio-blk-pci disk (no format=: probed; locked as QEMU locks it)
-drive file=IMG,format=raw|qcow2,if=none,id=ID  with  -device virtio-blk-pci,drive=ID
                         (or virtio-blk-device, on virtio-mmio)
-blockdev driver=qcow2|raw,node-name=N,file.driver=file,file.filename=IMG  with  -device ...,drive=N
-device TYPE[,PROP=VALUE...]  a device: virtio-blk-pci, virtio-rng-pci, virtio-blk-device,
                         virtio-rng-device; -device help lists them, -device TYPE,help their properties
-object iothread,id=ID   a worker thread; -device virtio-blk-pci,drive=D,iothread=ID serves that
                         disk's queues on it
-netdev socket,id=ID,listen=[HOST]:PORT|connect=HOST:PORT|udp=HOST:PORT,localaddr=HOST:PORT
-netdev stream,id=ID,server=on|off,addr.type=inet,addr.host=H,addr.port=P (or addr.type=unix,addr.path=P)
-netdev dgram,id=ID,local.type=inet,local.host=H,local.port=P,remote.type=inet,remote.host=H,remote.port=P
                         a network backend, for -device virtio-net-pci,netdev=ID[,mac=MAC]
                         (or virtio-net-device, on virtio-mmio)
-nic TYPE[,model=virtio-net-pci|virtio-net-device][,mac=MAC][,backend options]  a backend and its NIC
-nic none, -net none     no network
-snapshot                writes to disk images go to temporary qcow2 overlays, dropped at exit
-accel tcg|interp[,prop=value...]  the engine: tcg (the default) translates hot code to WebAssembly
                         (tb-size=MiB, threshold=N, batch=N, patience=N, regroup=N, compile=sync|async|mixed, chain=on|off),
                         interp only interprets
-icount shift=N          guest time from the instruction count: each instruction is 2^N ns
-rtc base=utc|DATE[,clock=host|vm]  where the RTC starts, and whether it follows guest time
-s, -gdb tcp::PORT       a gdb stub (-s: port 1234), on loopback
-S                       start with the CPUs stopped (gdb or the monitor's cont starts them)
-d int,in_asm,guest_errors  trace to stderr (or to -D FILE)
-D FILE                  where -d output goes
-version, -h

With -nographic (or -serial mon:stdio): Ctrl-A x quits, Ctrl-A c switches between
the guest's console and the monitor (prompt "(qemu) "), Ctrl-A h lists the keys.
`;
