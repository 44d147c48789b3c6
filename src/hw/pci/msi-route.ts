/**
 * The MSI route table, tsemu's counterpart of KVM's irqchip routes: a route
 * holds a message and, when an interrupt controller claims its address, a
 * direct way into that controller (for an IMSIC: set the identity pending in
 * the target hart's interrupt file), so that signalling it costs a function
 * call instead of a trip through the memory core.  A route whose address no
 * controller claims still delivers, through the memory core (`send`).
 *
 * Routes are made only from real messages: code that would make one from a
 * placeholder has no message to give (see msix-routing.ts).
 */
import type { MsiMessage, MsiSend } from "./msi.js";
import type { SharedMsiTarget } from "../core/shared-machine.js";

/**
 * Delivers one message straight into an interrupt controller; with
 * `target`, the same delivery as data that a worker thread can carry out on
 * shared memory (an irqfd's route).
 */
export interface MsiFastPath {
  (): void;
  readonly target?: SharedMsiTarget;
}

/** The interrupt controllers' part: a direct delivery for a message, when one claims its address. */
export type MsiResolver = (msg: MsiMessage) => MsiFastPath | undefined;

export interface MsiRoute {
  readonly id: number;
  readonly msg: MsiMessage;
  /** Whether delivery skips the memory core. */
  readonly direct: boolean;
}

interface Entry {
  msg: MsiMessage;
  fast: MsiFastPath | undefined;
}

export class MsiRouteTable {
  private readonly entries = new Map<number, Entry>();
  private nextId = 0;
  /** Messages delivered, by path: for `info irq`-style statistics and tests. */
  directDeliveries = 0;
  memoryDeliveries = 0;

  /** `resolve` is asked once per route change, not per interrupt. */
  constructor(private readonly resolve: MsiResolver, private readonly send: MsiSend) {}

  /** A new route for `msg`; returns its id. */
  add(msg: MsiMessage): number {
    const id = this.nextId++;
    this.entries.set(id, { msg, fast: this.resolve(msg) });
    return id;
  }

  /** Point route `id` at a new message. */
  update(id: number, msg: MsiMessage): void {
    const e = this.entry(id);
    e.msg = msg;
    e.fast = this.resolve(msg);
  }

  /** Route `id`'s delivery as data for a worker, when the controller's state is shared. */
  target(id: number): SharedMsiTarget | undefined {
    return this.entry(id).fast?.target;
  }

  remove(id: number): void {
    this.entry(id);
    this.entries.delete(id);
  }

  /** Signal route `id`. */
  deliver(id: number): void {
    const e = this.entry(id);
    if (e.fast !== undefined) {
      this.directDeliveries++;
      e.fast();
    } else {
      this.memoryDeliveries++;
      this.send(e.msg);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The routes, by id. */
  list(): MsiRoute[] {
    return [...this.entries].sort((a, b) => a[0] - b[0])
      .map(([id, e]) => ({ id, msg: e.msg, direct: e.fast !== undefined }));
  }

  private entry(id: number): Entry {
    const e = this.entries.get(id);
    if (e === undefined) throw new Error(`MSI route ${id} does not exist`);
    return e;
  }
}
