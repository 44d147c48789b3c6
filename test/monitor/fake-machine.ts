/**
 * A machine for the monitor's unit tests: two harts with registers one can
 * set, a little RAM and ROM, a page mapping, the real run-state rules, and a
 * host whose files are kept in memory.
 */
import type { MachineControl, MonitorHost, CpuView } from "../../src/monitor/machine.js";
import { MonitorHub, type MonitorSession } from "../../src/monitor/monitor.js";
import { RunControl } from "../../src/monitor/runstate.js";
import { disassembleBytes } from "../../src/monitor/target-riscv.js";
import { PcieRootPort } from "../../src/hw/pci/pcie-root-port.js";
import type { NetworkControl } from "../../src/system/network.js";

export const RAM_BASE = 0x80000000n;
export const RAM_SIZE = 0x10000;
export const ROM_BASE = 0x1000n;
/** Virtual pages mapped by the fake MMU: this virtual address is RAM_BASE. */
export const KERNEL_VA = 0xffffffff80000000n;

export interface Fake {
  hub: MonitorHub;
  run: RunControl;
  ram: Uint8Array;
  rom: Uint8Array;
  registers: Map<string, bigint>[];
  files: Map<string, Uint8Array>;
  /** What the run state asked of the machine: "pause", "resume", "reset", "exit N". */
  actions: string[];
  /** Everything a session wrote. */
  output: string[];
  openQmp(pretty?: boolean): { session: MonitorSession; output: string[] };
  /** A root port at 00:01.0 with id "rp0" (pcie_aer_inject_error's target); "rng0" is conventional PCI. */
  rootPort: PcieRootPort;
}

export function fakeMachine(options: { noShutdown?: boolean; network?: NetworkControl } = {}): Fake {
  const ram = new Uint8Array(RAM_SIZE);
  const rom = new Uint8Array(0x100);
  // The boot ROM's first words, as QEMU's virt has them.
  new DataView(rom.buffer).setUint32(0, 0x00000297, true);
  new DataView(rom.buffer).setUint32(4, 0x02828613, true);
  const registers = [0, 1].map((h) => new Map<string, bigint>([["pc", 0x1000n], ["a0", BigInt(h)], ["sp", 0x80001000n]]));
  const files = new Map<string, Uint8Array>();
  const actions: string[] = [];
  const output: string[] = [];
  const rootPort = new PcieRootPort({ chassis: 1, slot: 0, port: 0, send: () => undefined });
  rootPort.config.snapshot();
  rootPort.reset();

  const readPhysical = (addr: bigint, length: number): Uint8Array | undefined => {
    const end = addr + BigInt(length);
    if (addr >= RAM_BASE && end <= RAM_BASE + BigInt(RAM_SIZE)) return ram.slice(Number(addr - RAM_BASE), Number(end - RAM_BASE));
    if (addr >= ROM_BASE && end <= ROM_BASE + BigInt(rom.length)) return rom.slice(Number(addr - ROM_BASE), Number(end - ROM_BASE));
    return undefined;
  };
  const view = (h: number): CpuView => ({
    dumpState: () => ` pc       ${registers[h].get("pc")?.toString(16).padStart(16, "0")}\n`,
    register: (name) => registers[h].get(name),
    translate: (va) => {
      if (va >= KERNEL_VA && va < KERNEL_VA + BigInt(RAM_SIZE)) return RAM_BASE + (va - KERNEL_VA);
      if (va < 0x100000000n) return va; // identity below 4 GiB
      return undefined;
    },
  });
  const host: MonitorHost = {
    writeFile: (path, data) => {
      if (path.startsWith("/missing/")) throw new Error("No such file or directory");
      files.set(path, data.slice());
    },
    nowMicros: () => 1_700_000_000_123_456,
  };
  const machine: MachineControl = {
    arch: "riscv64",
    name: "fake",
    status: () => run.status,
    stop: () => run.stop(),
    cont: () => run.cont(),
    reset: () => run.hostReset(),
    powerdown: () => run.powerdown(),
    quit: () => run.quit(),
    cpuCount: () => 2,
    cpu: view,
    threadId: (i) => 1000 + i,
    qomPath: (i) => `/machine/soc0/harts[${i}]`,
    network: options.network,
    readPhysical,
    disassemble: disassembleBytes,
    blockDevices: () => [{
      device: "virtio0", nodeName: "#block117", file: "/images/disk.img", format: "raw", readOnly: false,
      virtualSize: 1048576, actualSize: 4096, qdev: "/machine/peripheral-anon/device[0]/virtio-backend", snapshot: false,
    }],
    chardevs: () => [{ label: "serial0", filename: "stdio", frontendOpen: true }],
    memoryMap: () => [{ name: "riscv_virt_board.ram", base: Number(RAM_BASE), size: RAM_SIZE, kind: "ram" }],
    qtree: () => [{ type: "goldfish_rtc", id: "", props: [], mmio: [{ base: 0x101000, size: 0x1000 }] }],
    pciFunctionById: (id) => id === "rp0" ? { bus: 0, devfn: 8, errors: rootPort.errors }
      : id === "rng0" ? { bus: 0, devfn: 16, errors: undefined } : undefined,
    pciDevices: () => [
      { bus: 0, slot: 0, function: 0, classCode: 0x0600, vendor: 0x1b36, device: 0x0008, subsystemVendor: 0x1af4, subsystem: 0x1100, irqPin: 0, qdevId: "", regions: [] },
      {
        bus: 0, slot: 1, function: 0, classCode: 0x00ff, vendor: 0x1af4, device: 0x1005, subsystemVendor: 0x1af4, subsystem: 4, irqPin: 1, irq: 0, qdevId: "rng0",
        regions: [{ bar: 0, type: "io", address: -1, size: 32 }, { bar: 4, type: "memory", address: 0x400000000, size: 0x4000, prefetch: true, mem64: true }],
      },
    ],
  };
  const hub = new MonitorHub(machine, host);
  // (The machine's methods above reach `run` only once it exists.)
  const run = new RunControl({
    pause: () => actions.push("pause"),
    resume: () => actions.push("resume"),
    resetMachine: () => actions.push("reset"),
    exit: (status) => { hub.leaving = true; actions.push(`exit ${status}`); },
  }, (name, data) => hub.event(name, data), { noShutdown: options.noShutdown ?? false, noReboot: false });
  return {
    hub, run, ram, rom, registers, files, actions, output, rootPort,
    openQmp: (pretty = false) => {
      const out: string[] = [];
      const session = hub.openQmp({ write: (t) => out.push(t) }, { pretty });
      return { session, output: out };
    },
  };
}

/** Feed text to a session and return what it wrote in answer, as parsed messages. */
export function exchange(s: { session: MonitorSession; output: string[] }, text: string): Record<string, unknown>[] {
  s.output.length = 0;
  s.session.input(new TextEncoder().encode(text));
  return s.output.map((line) => {
    if (!line.endsWith("\r\n")) throw new Error(`a QMP message without CRLF: ${JSON.stringify(line)}`);
    return JSON.parse(line) as Record<string, unknown>;
  });
}

/** A network whose hostfwd_add waits until the test settles it, as a host binding a port asynchronously does. */
export function waitingNetwork(): { network: NetworkControl; settle(error?: string): void } {
  const pending: ((error: string | undefined) => void)[] = [];
  return {
    network: {
      infoText: () => "",
      setLink: () => undefined,
      rxFilters: () => [],
      hostfwd: (add) => add ? new Promise((resolve) => pending.push(resolve)) : Promise.resolve(undefined),
    },
    settle: (error) => pending.shift()?.(error),
  };
}
