/**
 * QMP from inside the program: the machine's own QMP session, driven by
 * typed calls instead of a socket.  Each command goes out as QEMU's wire
 * protocol has it (with an id), through the same session code a socket
 * client talks to, so replies and errors are exactly what a client sees.
 */
import type { MonitorHub, MonitorSession } from "../monitor/monitor.js";
import type { RunState } from "../monitor/machine.js";

/** A QMP command failed: QEMU's error class ("GenericError", "CommandNotFound", ...) and its description. */
export class QmpCommandError extends Error {
  /** "QmpCommandError" */
  override name = "QmpCommandError";
  constructor(
    /** QEMU's error class: "GenericError", "CommandNotFound", "DeviceNotFound", ... */
    readonly errorClass: string, message: string) {
    super(message);
  }
}

/** The commands tsemu answers, with their arguments and results as QEMU's schema gives them. */
export interface QmpCommands {
  /** The run state. */
  "query-status": { args: undefined; result: { status: RunState; running: boolean; singlestep: boolean } };
  /** QEMU's version this tsemu answers as (7.2.0) and the package. */
  "query-version": { args: undefined; result: { qemu: { major: number; minor: number; micro: number }; package: string } };
  /** The -name of the machine. */
  "query-name": { args: undefined; result: { name?: string } };
  /** The guest architecture (riscv64). */
  "query-target": { args: undefined; result: { arch: string } };
  /** Always disabled and absent. */
  "query-kvm": { args: undefined; result: { enabled: boolean; present: boolean } };
  /** The QMP commands the machine answers. */
  "query-commands": { args: undefined; result: { name: string }[] };
  /** The harts. */
  "query-cpus-fast": { args: undefined; result: { "cpu-index": number; "qom-path": string; "thread-id": number; target: string }[] };
  /** The drives and their images. */
  "query-block": { args: undefined; result: Record<string, unknown>[] };
  /** The PCI buses and their devices. */
  "query-pci": { args: undefined; result: Record<string, unknown>[] };
  /** The character devices (serial0, the monitors). */
  "query-chardev": { args: undefined; result: { label: string; filename: string; "frontend-open": boolean }[] };
  /** A NIC's receive filter (MAC, multicast); `name`: one NIC. */
  "query-rx-filter": { args: { name?: string }; result: Record<string, unknown>[] };
  /** Stop running guest code (the STOP event follows). */
  stop: { args: undefined; result: Record<string, never> };
  /** Run guest code again (RESUME). */
  cont: { args: undefined; result: Record<string, never> };
  /** Reset the board (RESET). */
  system_reset: { args: undefined; result: Record<string, never> };
  /** The POWERDOWN event (virt has no power button the guest sees). */
  system_powerdown: { args: undefined; result: Record<string, never> };
  /** End the machine (SHUTDOWN); the disks are flushed and closed. */
  quit: { args: undefined; result: Record<string, never> };
  /** Set a NIC's link up or down (the guest sees the link change). */
  set_link: { args: { name: string; up: boolean }; result: Record<string, never> };
  /** Run a human-monitor command line; the result is its output. */
  "human-monitor-command": { args: { "command-line": string; "cpu-index"?: number }; result: string };
  /** Save `size` bytes of a hart's virtual memory at `val` to a host file. */
  memsave: { args: { val: number; size: number; filename: string; "cpu-index"?: number }; result: Record<string, never> };
  /** Save `size` bytes of physical memory at `val` to a host file. */
  pmemsave: { args: { val: number; size: number; filename: string }; result: Record<string, never> };
}

/** The QMP commands QmpClient.execute knows the types of (any other name may still be sent, untyped). */
export type QmpCommandName = keyof QmpCommands;

/** Arguments of a command: none, optional, or required, as its schema says. */
type ArgsOf<K extends QmpCommandName> = QmpCommands[K]["args"] extends undefined ? [] :
  Partial<NonNullable<QmpCommands[K]["args"]>> extends NonNullable<QmpCommands[K]["args"]> ? [args?: QmpCommands[K]["args"]] :
  [args: QmpCommands[K]["args"]];

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The machine's QMP, as calls: `await machine.qmp.execute("query-status")`.
 * Commands go through a QMP session of the machine's own (capabilities
 * negotiated), so their replies and errors are what a socket client gets.
 */
export class QmpClient {
  private session: MonitorSession | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer = "";

  constructor(private readonly hub: MonitorHub) {}

  /** Run a QMP command; resolves with its "return" value, rejects with QmpCommandError. */
  execute<K extends QmpCommandName>(command: K, ...args: ArgsOf<K>): Promise<QmpCommands[K]["result"]>;
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const s = this.open();
    const id = this.nextId++;
    const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
    const reply = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    s.input(new TextEncoder().encode(`${JSON.stringify(message)}\n`));
    return reply;
  }

  /** The machine ended: calls still waiting fail. */
  close(): void {
    this.session?.close();
    for (const p of this.pending.values()) p.reject(new QmpCommandError("GenericError", "the machine has ended"));
    this.pending.clear();
  }

  private open(): MonitorSession {
    if (this.session !== undefined) return this.session;
    const s = this.hub.openQmp({ write: (text) => this.receive(text) });
    this.session = s;
    s.start();
    s.input(new TextEncoder().encode(`${JSON.stringify({ execute: "qmp_capabilities", id: 0 })}\n`));
    return s;
  }

  private receive(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === "") continue;
      const msg = JSON.parse(line) as { id?: number; return?: unknown; error?: { class: string; desc: string } };
      if (typeof msg.id !== "number") continue; // the greeting and events
      const p = this.pending.get(msg.id);
      if (p === undefined) continue;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new QmpCommandError(msg.error.class, msg.error.desc));
      else p.resolve(msg.return);
    }
  }
}
