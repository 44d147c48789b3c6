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
  override name = "QmpCommandError";
  constructor(readonly errorClass: string, message: string) {
    super(message);
  }
}

/** The commands tsemu answers, with their arguments and results as QEMU's schema gives them. */
export interface QmpCommands {
  "query-status": { args: undefined; result: { status: RunState; running: boolean; singlestep: boolean } };
  "query-version": { args: undefined; result: { qemu: { major: number; minor: number; micro: number }; package: string } };
  "query-name": { args: undefined; result: { name?: string } };
  "query-target": { args: undefined; result: { arch: string } };
  "query-kvm": { args: undefined; result: { enabled: boolean; present: boolean } };
  "query-commands": { args: undefined; result: { name: string }[] };
  "query-cpus-fast": { args: undefined; result: { "cpu-index": number; "qom-path": string; "thread-id": number; target: string }[] };
  "query-block": { args: undefined; result: Record<string, unknown>[] };
  "query-pci": { args: undefined; result: Record<string, unknown>[] };
  "query-chardev": { args: undefined; result: { label: string; filename: string; "frontend-open": boolean }[] };
  "query-rx-filter": { args: { name?: string }; result: Record<string, unknown>[] };
  stop: { args: undefined; result: Record<string, never> };
  cont: { args: undefined; result: Record<string, never> };
  system_reset: { args: undefined; result: Record<string, never> };
  system_powerdown: { args: undefined; result: Record<string, never> };
  quit: { args: undefined; result: Record<string, never> };
  set_link: { args: { name: string; up: boolean }; result: Record<string, never> };
  "human-monitor-command": { args: { "command-line": string; "cpu-index"?: number }; result: string };
  memsave: { args: { val: number; size: number; filename: string; "cpu-index"?: number }; result: Record<string, never> };
  pmemsave: { args: { val: number; size: number; filename: string }; result: Record<string, never> };
}

export type QmpCommandName = keyof QmpCommands;

/** Arguments of a command: none, optional, or required, as its schema says. */
type ArgsOf<K extends QmpCommandName> = QmpCommands[K]["args"] extends undefined ? [] :
  Partial<NonNullable<QmpCommands[K]["args"]>> extends NonNullable<QmpCommands[K]["args"]> ? [args?: QmpCommands[K]["args"]] :
  [args: QmpCommands[K]["args"]];

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

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
