/**
 * The library's machine: a QEMU virt board built from a MachineConfig, with
 * its serial console as bytes both ways, run control, typed events and QMP.
 */
import type { RunState } from "../monitor/machine.js";
import type { JsonObject } from "../monitor/json.js";
import { ConfigError, type MachineConfig } from "./machine-config.js";
import { webHost, type MachineHost } from "./machine-host.js";
import { loadConfig } from "./load-config.js";
import { QmpClient } from "./qmp-client.js";
import { VirtSystem } from "./virt-system.js";
import { currentAccel } from "../accel/engine.js";
import { codeCacheFor } from "../accel/tcg/code-cache.js";

/** Why a reset or shutdown happened, as QMP's SHUTDOWN and RESET events say it. */
export interface ShutdownCause {
  /** The guest asked for it (a power-off or reboot from inside). */
  guest: boolean;
  /** QEMU's ShutdownCause name: "guest-shutdown", "guest-reset", "host-qmp-quit", "host-qmp-system-reset", ... */
  reason: string;
}

/** The machine's events and what each carries. */
export interface MachineEvents {
  /** The machine is ending (or, with noShutdown, stopping) after a power-off or quit. */
  shutdown: ShutdownCause;
  /** The board was reset. */
  reset: ShutdownCause;
  /** The machine stopped running guest code (pause, or a power-off with noShutdown). */
  stop: Record<string, never>;
  /** The machine runs guest code again. */
  resume: Record<string, never>;
  /** powerdown() was asked for (virt has no power button the guest could see). */
  powerdown: Record<string, never>;
}

/** The names Machine.on takes: "shutdown", "reset", "stop", "resume", "powerdown". */
export type MachineEventName = keyof MachineEvents;

const EVENT_NAMES: Record<string, MachineEventName> = {
  SHUTDOWN: "shutdown", RESET: "reset", STOP: "stop", RESUME: "resume", POWERDOWN: "powerdown",
};

/** The execution engine and what the translator has made so far (all zero under the interpreter). */
export interface EngineStats {
  /** "interp" (the interpreter) or "tcg" (hot guest code compiled to WebAssembly). */
  accel: "interp" | "tcg";
  /** Guest blocks compiled to WebAssembly. */
  blocks: number;
  /** WebAssembly modules compiled (blocks are compiled in batches). */
  modules: number;
  /** Bytes of WebAssembly generated. */
  wasmBytes: number;
  /** Host milliseconds spent compiling. */
  compileMs: number;
}

/** Options of MachineConsole.waitFor. */
export interface WaitOptions {
  /** Give up after this many milliseconds (rejecting); default: wait for ever. */
  timeoutMs?: number;
}

/** The serial port (the UART at 0x10000000, ttyS0 in Linux) as bytes. */
export class MachineConsole {
  constructor(private readonly system: VirtSystem) {}

  /** Call `listener` with every chunk of bytes the guest writes; returns the function that stops it. */
  onData(listener: (bytes: Uint8Array) => void): () => void {
    return this.system.onOutput(listener);
  }

  /** Type into the guest: bytes, or text sent as UTF-8. */
  write(data: Uint8Array | string): void {
    this.system.input(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }

  /** A new stream of the bytes the guest writes from now on; it ends when the machine does. */
  get readable(): ReadableStream<Uint8Array> {
    let stop: (() => void) | undefined;
    const system = this.system;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        stop = system.onOutput((bytes) => controller.enqueue(bytes));
        void system.exited.then(() => {
          stop?.();
          try { controller.close(); } catch { /* already cancelled */ }
        });
      },
      cancel() { stop?.(); },
    });
  }

  /** A stream to type into the guest. */
  get writable(): WritableStream<Uint8Array | string> {
    return new WritableStream<Uint8Array | string>({ write: (chunk) => this.write(chunk) });
  }

  /**
   * Wait until the guest's output from now on contains `pattern`; resolves with
   * that output up to the end of the match.  Keeps at most the last 1 MiB of text.
   */
  waitFor(pattern: string | RegExp, options: WaitOptions = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const decoder = new TextDecoder();
      let text = "";
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        stop();
        if (timer !== undefined) clearTimeout(timer);
      };
      const stop = this.system.onOutput((bytes) => {
        text += decoder.decode(bytes, { stream: true });
        if (text.length > 1 << 20) text = text.slice(-(1 << 19));
        const end = typeof pattern === "string"
          ? (text.includes(pattern) ? text.indexOf(pattern) + pattern.length : -1)
          : ((m) => (m === null ? -1 : m.index + m[0].length))(pattern.exec(text));
        if (end >= 0) { done(); resolve(text.slice(0, end)); }
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${options.timeoutMs} ms waiting for ${String(pattern)}; the output ended with: ${JSON.stringify(text.slice(-200))}`));
        }, options.timeoutMs);
      }
      void this.system.exited.then(() => {
        done();
        reject(new Error(`the machine ended before ${String(pattern)} appeared`));
      });
    });
  }
}

/** A virt machine.  Make one with createMachine(). */
export class Machine {
  /** The serial console. */
  readonly console: MachineConsole;
  /** QMP, as typed calls. */
  readonly qmp: QmpClient;
  /** Resolves with the exit status once the machine has ended (guest power-off, powerOff(), quit). */
  readonly exited: Promise<number>;

  /** @internal Use createMachine(). */
  constructor(private readonly system: VirtSystem) {
    this.console = new MachineConsole(system);
    this.qmp = new QmpClient(system.hub);
    this.exited = system.exited.then((status) => {
      this.qmp.close();
      return status;
    });
  }

  /** Start running (a machine made with startPaused stays in "prelaunch" until resume()). */
  start(): void {
    this.system.start();
  }

  /** Stop running guest code (QMP stop); guest time stands still. */
  pause(): void {
    this.system.run.stop();
  }

  /** Run guest code again (QMP cont); throws when a noShutdown machine was powered off and needs a reset first. */
  resume(): void {
    const error = this.system.run.cont();
    if (error !== undefined) throw new Error(error);
  }

  /** Reset the board (QMP system_reset), as the reset button would. */
  reset(): void {
    this.system.run.hostReset();
  }

  /** QMP system_powerdown: only the event on virt, which has no power button the guest sees. */
  powerdown(): void {
    this.system.run.powerdown();
  }

  /** End the machine (QMP quit): the disks are flushed and closed; resolves with the exit status. */
  powerOff(): Promise<number> {
    this.system.run.quit();
    return this.exited;
  }

  /** The run state, as query-status names it. */
  status(): RunState {
    return this.system.status();
  }

  /** Guest instructions retired so far, over every hart (for a MIPS figure). */
  instructions(): number {
    return this.system.loop.instructions();
  }

  /** The engine running guest code (MachineConfig.accel) and the translator's figures. */
  engine(): EngineStats {
    const s = codeCacheFor(this.system.machine.bus.ram).stats;
    return { accel: currentAccel(), blocks: s.blocks, modules: s.modules, wasmBytes: s.wasmBytes, compileMs: s.compileMs };
  }

  /** Call `listener` on each `event`; returns the function that stops it. */
  on<E extends MachineEventName>(event: E, listener: (data: MachineEvents[E]) => void): () => void {
    return this.system.onEvent((name, data) => {
      if (EVENT_NAMES[name] === event) listener((data ?? {}) as unknown as MachineEvents[E]);
    });
  }

  /** Run a human-monitor command line ("info registers", "x /4xw 0x80000000"); resolves with its output. */
  hmp(commandLine: string): Promise<string> {
    return this.qmp.execute("human-monitor-command", { "command-line": commandLine });
  }
}

let defaultHost: MachineHost | undefined;

/** The host machines are made on when createMachine is given none (Node's entry point sets its own). */
export function setDefaultHost(host: MachineHost): void {
  defaultHost = host;
}

/**
 * Build a virt machine.  Images given as URLs are fetched first; the
 * machine does not run until start().  Rejects with ConfigError (one line
 * saying what is wrong) for a configuration QEMU would refuse.
 */
export async function createMachine(config: MachineConfig, host?: MachineHost): Promise<Machine> {
  const h = host ?? (defaultHost ??= webHost());
  const spec = await loadConfig(config, h);
  return new Machine(await VirtSystem.create(spec, h));
}

export { ConfigError };
export type { JsonObject, RunState };
