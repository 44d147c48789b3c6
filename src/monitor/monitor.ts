/**
 * The monitors of one machine: every QMP and HMP session, whatever carries
 * it (a socket, stdio), shares the machine, the events and the HMP's
 * remembered /fmt.  Sessions see their transport only as a text sink.
 */
import type { JsonObject } from "./json.js";
import type { MachineControl, MonitorHost } from "./machine.js";
import { QmpSession } from "./qmp.js";
import { HmpSession, type HmpDefaults } from "./hmp.js";

/** Where a session's output goes: text with QEMU's line ends (\r\n) already in place. */
export interface MonitorOutput {
  write(text: string): void;
}

/** A monitor session on a transport: bytes in, text out through its MonitorOutput. */
export interface MonitorSession {
  /** The greeting (QMP) or banner and prompt (HMP). */
  start(): void;
  input(bytes: Uint8Array): void;
  /** The transport went away: no more output. */
  close(): void;
}

export class MonitorHub {
  private readonly qmp = new Set<QmpSession>();
  /**
   * HMP's last /fmt and size, shared by every HMP session as in QEMU (a
   * static there), so `x` after `x /4xb` dumps bytes even through separate
   * human-monitor-command calls.
   */
  readonly hmpDefaults: HmpDefaults = { format: "x", size: 4 };
  /** Set once the process is exiting (after quit): no more prompts. */
  leaving = false;

  constructor(readonly machine: MachineControl, readonly host: MonitorHost) {}

  /** Send an event to every QMP session past capabilities negotiation. */
  event(name: string, data?: JsonObject): void {
    const us = this.host.nowMicros();
    const timestamp = { seconds: Math.floor(us / 1e6), microseconds: us % 1e6 };
    for (const s of this.qmp) s.event(name, timestamp, data);
  }

  openQmp(out: MonitorOutput, options: { pretty?: boolean } = {}): MonitorSession {
    const s = new QmpSession(this, out, options.pretty ?? false, () => this.qmp.delete(s));
    this.qmp.add(s);
    return s;
  }

  openHmp(out: MonitorOutput): HmpSession {
    return new HmpSession(this, out);
  }
}
