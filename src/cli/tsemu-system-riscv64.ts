/**
 * tsemu-system-riscv64: QEMU's command line for the virt board.  It parses
 * argv into the library's MachineConfig, builds the machine through the
 * library (src/system) as every other user does, and adds what only a
 * command line has: the terminal (the serial port and Ctrl-A), monitors on
 * sockets and stdio, the gdb stub, the -D log, signals and the exit status.
 */
import * as fs from "node:fs";
import { VERSION } from "../version.js";
import { HELP, OptionError, parseSystemArgs, type CharBackend, type MonitorOption, type SystemOptions } from "./system-options.js";
import { StdioMux } from "./stdio-mux.js";
import { attachSystemGdb, parseGdbAddress } from "../gdbstub/system.js";
import { SocketListener, type Connection } from "../host/socket.js";
import { nodeMachineHost } from "../host/machine-host.js";
import type { MonitorSession } from "../monitor/monitor.js";
import type { HmpSession } from "../monitor/hmp.js";
import type { ChardevInfo } from "../monitor/machine.js";
import { ConfigError, type DriveConfig, type MachineConfig } from "../system/machine-config.js";
import { loadConfig } from "../system/load-config.js";
import { VirtSystem } from "../system/virt-system.js";
import { tuneWasmTiering } from "../host/wasm-tiering.js";
import { deviceHelp } from "../system/machine-devices.js";
import { objectHelp } from "../system/option-syntax.js";
import { nicHelp } from "../system/machine-netdevs.js";

const PROG = "tsemu-system-riscv64";

function fail(message: string): never {
  process.stderr.write(`${PROG}: ${message}\n`);
  process.exit(1);
}

/** Write all of `bytes` to `fd` (a terminal in non-blocking mode may refuse a part). */
function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += fs.writeSync(fd, bytes, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    }
  }
}

/** The command line's options as the library's configuration (the same meanings, the same defaults). */
function machineConfig(o: SystemOptions, log: (text: string) => void): MachineConfig {
  const drives: DriveConfig[] = o.drives.map((d) => ({
    image: d.file as string, format: d.format === "" ? undefined : d.format as "raw" | "qcow2", interface: d.if as "virtio" | "none",
    id: d.id, readOnly: d.readOnly, snapshot: d.snapshot, cache: d.cache, discard: d.discard, detectZeroes: d.detectZeroes, locking: d.locking,
  }));
  return {
    memory: o.ramSize, cpus: o.smp, aia: o.aia, firmware: o.bios, kernel: o.kernel, initrd: o.initrd, append: o.append, dtb: o.dtb,
    drives, snapshot: o.snapshot, devices: o.devices.map((d) => d.spec), objects: o.objects, netdevs: o.netdevs.map((n) => n.arg),
    nics: [...o.nics.map((n) => n.arg), ...(o.netNone ? ["none"] : [])],
    icount: o.icountShift, rtcBase: o.rtcBase, rtcClock: o.rtcClockVm === undefined ? undefined : o.rtcClockVm ? "vm" : "host",
    startPaused: o.startPaused, noReboot: o.noReboot, noShutdown: o.noShutdown, accel: o.accel, name: o.name,
    debug: o.debug as MachineConfig["debug"], log, warn: (line) => { process.stderr.write(`${PROG}: ${line}\n`); },
  };
}

/** A monitor's character device, as the CLI runs it. */
interface Chardev {
  id: string;
  backend: CharBackend;
  /** Set when a monitor uses it. */
  monitor?: MonitorOption;
  listener?: SocketListener;
}

function socketFilename(c: Chardev): string {
  if (c.backend.kind !== "socket") return c.backend.kind;
  const a = c.backend.address;
  const where = a.kind === "tcp" ? `tcp:${a.host}:${a.port},server=on` : `unix:${a.path},server=on`;
  const client = c.listener?.client;
  if (client === undefined) return `disconnected:${where}`;
  return client.peer === "" ? where : `${where} <-> ${client.peer}`;
}

async function main(): Promise<void> {
  let o: SystemOptions;
  try {
    o = parseSystemArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof OptionError) fail(e.message);
    throw e;
  }
  if (o.action === "help") { process.stdout.write(HELP); return; }
  if (o.action === "version") {
    process.stdout.write(`${PROG} version ${VERSION} (emulates QEMU 7.2's virt board)\n`);
    return;
  }
  if (o.machine === "") fail("no machine given: use -M virt");
  if (o.machine === "help") { process.stdout.write("Supported machines are:\nvirt                 RISC-V VirtIO board\n"); return; }
  if (o.machine !== "virt") fail(`-M ${o.machine}: unsupported machine type (use -M virt)`);
  tuneWasmTiering();
  for (const dev of o.devices) {
    const help = deviceHelp(dev);
    if (help !== undefined) { process.stdout.write(help); return; }
  }
  if (o.nics.some((n) => n.model === "help" || n.netdev.type === "help")) { process.stdout.write(nicHelp()); return; }
  for (const obj of o.objects) {
    const help = objectHelp(obj);
    if (help !== undefined) { process.stdout.write(help); return; }
  }

  // Monitors and their character devices.
  const chardevs = new Map<string, Chardev>();
  for (const c of o.chardevs) {
    if (chardevs.has(c.id)) fail(`${c.spec}: duplicate chardev id '${c.id}'`);
    chardevs.set(c.id, { id: c.id, backend: c.backend });
  }
  for (const mon of o.monitors) {
    const c = chardevs.get(mon.chardev);
    if (c === undefined) fail(`-mon chardev=${mon.chardev}: no -chardev with id=${mon.chardev}`);
    if (c.monitor !== undefined) fail(`-mon chardev=${mon.chardev}: chardev '${mon.chardev}' is already in use`);
    c.monitor = mon;
  }
  const stdioMonitors = [...chardevs.values()].filter((c) => c.monitor !== undefined && c.backend.kind === "stdio");

  // Where the serial port goes.  With -nographic it shares stdio with a monitor
  // unless a monitor was asked for elsewhere (QEMU's rule); a monitor on stdio
  // takes the terminal from a serial port left to its default.
  const serialSpec = o.serial[0] ?? (o.nographic ? (o.monitorGiven ? "stdio" : "mon:stdio") : stdioMonitors.length > 0 ? "null" : "stdio");
  if (o.serial.length > 1) fail("-serial: virt has one UART");
  let outFd = 1;
  let stdio = false;
  let mux = false;
  let muxMonitor = false;
  if (serialSpec === "stdio") { stdio = true; mux = o.nographic; }
  else if (serialSpec === "mon:stdio") { stdio = true; mux = true; muxMonitor = true; }
  else if (serialSpec === "none" || serialSpec === "null") outFd = -1;
  else if (serialSpec.startsWith("file:")) {
    try {
      outFd = fs.openSync(serialSpec.slice(5), "w");
    } catch (e) {
      fail(`-serial ${serialSpec}: ${(e as Error).message}`);
    }
  } else fail(`-serial ${serialSpec}: unsupported (use stdio, mon:stdio, file:PATH or none)`);
  if (stdioMonitors.length + (stdio ? 1 : 0) > 1) fail("cannot use stdio by multiple character devices");

  let log = (text: string): void => { process.stderr.write(text); };
  if (o.logFile !== undefined) {
    let fd: number;
    try {
      fd = fs.openSync(o.logFile, "w");
    } catch (e) {
      fail(`-D ${o.logFile}: ${(e as Error).message}`);
    }
    log = (text) => { fs.writeSync(fd, text); };
  }

  // The machine, built by the library from the same options.
  const host = nodeMachineHost();
  let system: VirtSystem;
  try {
    system = await VirtSystem.create(await loadConfig(machineConfig(o, log), host), host);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  const m = system.machine;
  const run = system.run;
  const hub = system.hub;

  if (o.dumpdtb !== undefined) {
    try {
      fs.writeFileSync(o.dumpdtb, m.dtb);
    } catch (e) {
      fail(`dumpdtb=${o.dumpdtb}: ${(e as Error).message}`);
    }
    system.exit(0);
    await system.exited;
    return;
  }

  if (outFd >= 0) {
    const fd = outFd;
    system.onOutput((bytes) => writeAll(fd, bytes));
  }
  const serialChardev: ChardevInfo[] = outFd === -1 ? [] : [{ label: "serial0", filename: stdio ? "stdio" : "file", frontendOpen: true }];
  system.chardevInfo = () => [
    ...serialChardev,
    ...[...chardevs.values()].map((c) => ({ label: c.id, filename: socketFilename(c), frontendOpen: c.monitor !== undefined })),
  ];

  let ttyRaw = false;
  const restoreTty = (): void => {
    if (ttyRaw && process.stdin.isTTY) process.stdin.setRawMode(false);
    ttyRaw = false;
  };
  // Leave once the monitors' replies are out (a second at most), the disks flushed.
  const listeners: SocketListener[] = [];
  system.beforeExit = () => {
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    return Promise.race([Promise.all(listeners.map((l) => l.flushed())).then(() => undefined), timeout]);
  };
  // Stay until the machine ends, as QEMU does, also while it is stopped (-S, stop) with nothing else to wait for.
  const stayAlive = setInterval(() => undefined, 2 ** 30);
  void system.exited.then((status) => {
    clearInterval(stayAlive);
    for (const l of listeners) l.close();
    restoreTty();
    process.exit(status);
  });

  // The gdb stub (-s, -gdb): gdb's stops hold the loop; its continue also starts a -S machine.
  if (o.gdb !== undefined && o.gdb !== "none") {
    const addr = parseGdbAddress(o.gdb);
    if (addr === undefined) fail(`-gdb ${o.gdb}: unsupported (use tcp::PORT or tcp:HOST:PORT)`);
    attachSystemGdb({
      port: addr.port, host: addr.host, harts: m.harts, loop: system.loop, bus: m.bus, startPaused: o.startPaused,
      pause: () => system.holdForDebugger(true),
      resume: () => {
        system.holdForDebugger(false);
        if (!run.running) run.cont();
      },
      quit: () => system.exit(0),
      error: (message) => fail(message),
    });
  }

  // Monitors on sockets: one client at a time; a session per connection.
  const open = (mon: MonitorOption, write: (text: string) => void): MonitorSession =>
    mon.mode === "control" ? hub.openQmp({ write }, { pretty: mon.pretty }) : hub.openHmp({ write });
  const waits: Promise<void>[] = [];
  for (const c of chardevs.values()) {
    const mon = c.monitor;
    if (c.backend.kind !== "socket" || mon === undefined) continue;
    const sessions = new Map<Connection, MonitorSession>();
    let firstClient: (() => void) | undefined;
    if (c.backend.wait) waits.push(new Promise((resolve) => { firstClient = resolve; }));
    try {
      c.listener = await SocketListener.listen(c.backend.address, {
        connect: (conn) => {
          const s = open(mon, (text) => conn.write(text));
          sessions.set(conn, s);
          s.start();
          firstClient?.();
          firstClient = undefined;
        },
        data: (conn, bytes) => sessions.get(conn)?.input(bytes),
        disconnect: (conn) => {
          sessions.get(conn)?.close();
          sessions.delete(conn);
        },
      });
    } catch (e) {
      const spec = o.chardevs.find((x) => x.id === c.id)?.spec ?? c.id;
      fail(`${spec}: ${(e as Error).message}`);
    }
    listeners.push(c.listener);
    if (c.backend.wait) process.stderr.write(`QEMU waiting for connection on: ${socketFilename(c)}\n`);
  }

  // The terminal: the serial port (with a monitor behind Ctrl-A c when they
  // share it), or a monitor alone.
  const toTerminal = (text: string): void => {
    writeAll(1, new TextEncoder().encode(text));
  };
  let stdinTo: ((bytes: Uint8Array) => void) | undefined;
  if (stdio) {
    let muxHmp: HmpSession | undefined;
    if (muxMonitor) muxHmp = hub.openHmp({ write: toTerminal });
    const muxer = new StdioMux({
      toGuest: (bytes) => system.input(bytes),
      quit: () => system.exit(0),
      say: toTerminal,
      toMonitor: muxHmp === undefined ? undefined : (bytes) => muxHmp.input(bytes),
      focus: (monitor) => { if (monitor) muxHmp?.focusIn(); else muxHmp?.focusOut(); },
    }, mux);
    stdinTo = (bytes) => muxer.input(bytes);
  } else if (stdioMonitors.length === 1) {
    const mon = stdioMonitors[0].monitor as MonitorOption;
    const s = open(mon, toTerminal);
    s.start();
    stdinTo = (bytes) => s.input(bytes);
  }
  if (stdinTo !== undefined) {
    const feed = stdinTo;
    if (process.stdin.isTTY) { process.stdin.setRawMode(true); ttyRaw = true; }
    process.stdin.on("data", (d: Buffer) => feed(new Uint8Array(d)));
    process.stdin.on("end", () => { /* input closed: the guest keeps running, as QEMU */ });
  }
  process.on("SIGINT", () => run.signal());
  process.on("SIGTERM", () => run.signal());
  process.on("SIGHUP", () => run.signal());

  // -qmp ...,server=on without wait=off: the guest starts once a client is there.
  await Promise.all(waits);
  system.start();
}

void main();
