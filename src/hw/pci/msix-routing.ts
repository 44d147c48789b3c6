/**
 * Fast interrupt routes for a function's MSI-X vectors, as QEMU keeps KVM
 * irqchip routes for vhost and VFIO devices (an irqfd per vector): a backend
 * that signals vectors (a data plane on a worker, a device model) calls
 * `signal(vector)`, and
 *
 * - a vector the guest has unmasked, with its real message from the table,
 *   has a route in the MSI route table and is delivered straight into the
 *   interrupt controller;
 * - any other vector takes the slow path, the MSI-X model's `notify`, which
 *   sets its pending bit while it is masked and sends it on unmask.
 *
 * Routes follow the vector notifiers of msix.ts, so at every moment the
 * routes are exactly the unmasked vectors with the messages the table holds:
 * after a device reset, a function level reset or error recovery (every
 * vector masked) there are none, and each vector the guest unmasks
 * afterwards gets its route back.
 *
 * The placeholder.  Linux enables MSI-X while every vector is still masked.
 * A backend that needs its function really in MSI-X mode at that moment
 * (QEMU's VFIO, for a physical function) uses a placeholder vector 0 with no
 * message and releases it at once.  The rule QEMU learned the hard way: no
 * message, no route.  A route made from the placeholder would carry the
 * masked, empty table entry (address 0, data 0): an interrupt the backend
 * signals through it is written to address 0 and lost, where the slow path
 * would have kept it pending for the guest's unmask.
 */
import type { PciConfigSpace } from "./config-space.js";
import type { MsiMessage } from "./msi.js";
import type { MsiRouteTable } from "./msi-route.js";
import { MsixCap, type Msix, type MsixVectorNotifier } from "./msix.js";
import type { SharedMsiTarget } from "../core/shared-machine.js";

export interface MsixRoutingOptions {
  /**
   * The backend needs the function in MSI-X mode even while every vector is
   * masked: it gets a placeholder vector when the guest enables MSI-X so.
   */
  placeholder?: boolean;
  /** Called while the placeholder is in use (the backend switching its function into MSI-X mode). */
  onPlaceholder?: () => void;
  /**
   * Told of every route change, for a backend on another thread that keeps
   * its own copy (an iothread's): the vector's delivery as shared-memory
   * data, or undefined when the vector has no route or its route cannot be
   * taken from another thread (the backend then signals through `signal`).
   */
  mirror?: (vector: number, target: SharedMsiTarget | undefined) => void;
}

const NO_ROUTE = -1;

export class MsixRouting implements MsixVectorNotifier {
  /** Route id per vector, NO_ROUTE where the vector takes the slow path. */
  private readonly routeOf: Int32Array;
  private wasEnabled: boolean;
  /** How many times a placeholder vector was used (for tests and `info`). */
  placeholders = 0;

  constructor(
    private readonly msix: Msix,
    private readonly routes: MsiRouteTable,
    config: PciConfigSpace,
    capOffset: number,
    private readonly opts: MsixRoutingOptions = {},
  ) {
    this.routeOf = new Int32Array(msix.vectors).fill(NO_ROUTE);
    this.wasEnabled = msix.enabled;
    config.listen((offset, size) => {
      const control = capOffset + MsixCap.CONTROL + 1;
      if (offset <= control && offset + size > control) this.enableChanged();
    });
    msix.setVectorNotifier(this);
  }

  /** The backend signals `vector`: the direct route when there is one, else the MSI-X model. */
  signal(vector: number): void {
    const id = vector >= 0 && vector < this.routeOf.length ? this.routeOf[vector] : NO_ROUTE;
    if (id !== NO_ROUTE) this.routes.deliver(id);
    else this.msix.notify(vector);
  }

  /** The route id of `vector`, or -1 when it takes the slow path. */
  routeId(vector: number): number {
    return this.routeOf[vector];
  }

  use(vector: number, msg: MsiMessage): void {
    this.useVector(vector, msg);
  }

  release(vector: number): void {
    const id = this.routeOf[vector];
    if (id === NO_ROUTE) return;
    this.opts.mirror?.(vector, undefined);
    this.routeOf[vector] = NO_ROUTE;
    this.routes.remove(id);
  }

  /** Drop every route, then route the vectors the table has unmasked now (after a reset or recovery). */
  resync(): void {
    for (let v = 0; v < this.routeOf.length; v++) this.release(v);
    for (let v = 0; v < this.routeOf.length; v++) if (!this.msix.isMasked(v)) this.useVector(v, this.msix.message(v));
  }

  /** Stop routing: every route is released and the notifier removed. */
  detach(): void {
    this.msix.unsetVectorNotifier();
    for (let v = 0; v < this.routeOf.length; v++) this.release(v);
  }

  /** `msg` undefined is a placeholder: no message, no route. */
  private useVector(vector: number, msg: MsiMessage | undefined): void {
    if (msg === undefined) return;
    const id = this.routeOf[vector];
    if (id === NO_ROUTE) this.routeOf[vector] = this.routes.add(msg);
    else this.routes.update(id, msg);
    this.opts.mirror?.(vector, this.routes.target(this.routeOf[vector]));
  }

  private enableChanged(): void {
    const enabled = this.msix.enabled;
    if (enabled === this.wasEnabled) return;
    this.wasEnabled = enabled;
    if (!enabled || this.opts.placeholder !== true) return;
    for (let v = 0; v < this.msix.vectors; v++) if (!this.msix.isMasked(v)) return;
    this.placeholders++;
    this.useVector(0, undefined);
    this.opts.onPlaceholder?.();
    this.release(0);
  }
}
