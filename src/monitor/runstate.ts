/**
 * The machine's run state and the QMP events its changes send, with QEMU's
 * rules (qemu:softmmu/runstate.c, cpus.c): stop only stops a running machine
 * (STOP), cont only starts a stopped one (RESUME), a reset of a machine that
 * is not running leaves it in "prelaunch", a shutdown with -no-shutdown leaves
 * it in "shutdown" until a reset.  The events carry QEMU's data:
 * SHUTDOWN/RESET {guest, reason} with QEMU's ShutdownCause names.
 */
import type { JsonObject } from "./json.js";
import type { RunState } from "./machine.js";

/** What the run state drives: the run loop and the process. */
export interface RunActions {
  /** Stop running guest code (the current turn ends first). */
  pause(): void;
  resume(): void;
  /** Put the board in its power-on state (at once, or before the guest runs again). */
  resetMachine(): void;
  /** Leave: flush the replies in flight, close the disks, exit with `status`. */
  exit(status: number): void;
}

export type EventSink = (name: string, data?: JsonObject) => void;

export interface RunOptions {
  /** -no-shutdown: a guest power-off stops the machine instead of exiting. */
  noShutdown: boolean;
  /** -no-reboot: a guest reset exits instead. */
  noReboot: boolean;
  /** -S: start stopped (prelaunch). */
  startStopped?: boolean;
}

export class RunControl {
  private state: RunState;
  private exiting = false;

  constructor(private readonly actions: RunActions, private readonly emit: EventSink, private readonly opts: RunOptions) {
    this.state = opts.startStopped ? "prelaunch" : "running";
    if (opts.startStopped) actions.pause();
  }

  get status(): RunState {
    return this.state;
  }

  get running(): boolean {
    return this.state === "running";
  }

  /** True once the process is on its way out. */
  get leaving(): boolean {
    return this.exiting;
  }

  /** stop (QMP, HMP). */
  stop(): void {
    if (this.state !== "running") return;
    this.state = "paused";
    this.actions.pause();
    this.emit("STOP");
  }

  /** cont: an error text, or undefined. */
  cont(): string | undefined {
    if (this.state === "shutdown") return "Resetting the Virtual Machine is required";
    if (this.state === "running") return undefined;
    this.state = "running";
    this.emit("RESUME");
    this.actions.resume();
    return undefined;
  }

  /** system_reset from a monitor. */
  hostReset(): void {
    this.reset(false, "host-qmp-system-reset");
  }

  /** The guest asked for a reset (sifive_test 0x7777, SBI system reset). */
  guestReset(): void {
    if (this.opts.noReboot) {
      this.shutdown(true, "guest-reset", 0);
      return;
    }
    this.reset(true, "guest-reset");
  }

  /** system_powerdown: virt has no power button the guest could see (no ACPI, no GPIO key): only the event. */
  powerdown(): void {
    this.emit("POWERDOWN");
  }

  /** The guest powered off (sifive_test 0x5555 or a failure code): exit with `code`, or stop with -no-shutdown. */
  guestShutdown(code: number): void {
    this.shutdown(true, "guest-shutdown", code);
  }

  /** quit from a monitor. */
  quit(): void {
    this.leave(false, "host-qmp-quit", 0);
  }

  /** SIGINT, SIGTERM, SIGHUP. */
  signal(): void {
    this.leave(false, "host-signal", 0);
  }

  private reset(guest: boolean, reason: string): void {
    if (this.exiting) return;
    this.actions.resetMachine();
    this.emit("RESET", { guest, reason });
    if (this.state !== "running") this.state = "prelaunch";
  }

  private shutdown(guest: boolean, reason: string, code: number): void {
    if (this.exiting) return;
    if (this.opts.noShutdown) {
      this.emit("SHUTDOWN", { guest, reason });
      const wasRunning = this.state === "running";
      this.state = "shutdown";
      this.actions.pause();
      if (wasRunning) this.emit("STOP");
      return;
    }
    this.leave(guest, reason, code);
  }

  private leave(guest: boolean, reason: string, code: number): void {
    if (this.exiting) return;
    this.exiting = true;
    this.emit("SHUTDOWN", { guest, reason });
    this.actions.pause();
    this.actions.exit(code);
  }
}
