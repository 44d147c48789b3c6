/**
 * What every backend does the same way on the frontend side: the frontend
 * it is attached to, and the frames held while the frontend has no receive
 * buffers (bounded: past the limit the newest are dropped, as a full NIC
 * ring drops them on real hardware).
 */
import type { NetFrontend } from "./net-client.js";

/** Frames held for a frontend without buffers (QEMU's net queue holds 10000 packets; far fewer are enough here). */
export const HOLD_FRAMES = 512;
const HOLD_BYTES = 4 * 1024 * 1024;

export class FrontendLink {
  private frontend: NetFrontend | undefined;
  private readonly held: Uint8Array[] = [];
  private heldBytes = 0;
  /** Frames dropped because the hold queue was full. */
  dropped = 0;

  attach(frontend: NetFrontend): void {
    this.frontend = frontend;
  }

  get attached(): boolean {
    return this.frontend !== undefined;
  }

  /** A frame from the wire: to the frontend now, or held behind those already waiting. */
  receive(frame: Uint8Array): void {
    if (this.frontend === undefined) return;
    if (this.held.length === 0 && this.frontend.deliver(frame)) return;
    if (this.held.length >= HOLD_FRAMES || this.heldBytes + frame.length > HOLD_BYTES) {
      this.dropped++;
      return;
    }
    this.held.push(frame);
    this.heldBytes += frame.length;
  }

  /** The frontend has buffers again: deliver what was held, in order, until it refuses. */
  resume(): void {
    const f = this.frontend;
    if (f === undefined) return;
    while (this.held.length > 0) {
      if (!f.deliver(this.held[0])) return;
      this.heldBytes -= (this.held.shift() as Uint8Array).length;
    }
  }

  clear(): void {
    this.held.length = 0;
    this.heldBytes = 0;
  }
}
