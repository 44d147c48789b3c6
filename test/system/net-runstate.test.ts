/**
 * Frames and the run state: while the guest does not run (stopped, -S, a
 * debugger's stop) its NICs get no frames, which wait in their backends, as
 * QEMU's qemu_can_receive_packet holds them; they arrive when it runs again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NetBackend, NetFrontend } from "../../src/net/net-client.js";
import { runStateBackend } from "../../src/system/machine-netdevs.js";

/** A backend that holds what its frontend does not take, and offers it again on resume. */
class HoldingBackend implements NetBackend {
  readonly id = "n0";
  readonly type = "socket";
  frontend: NetFrontend | undefined;
  held: Uint8Array[] = [];
  attach(frontend: NetFrontend): void { this.frontend = frontend; }
  send(): void { /* the guest sends nothing here */ }
  fromWire(frame: Uint8Array): void {
    if (this.held.length > 0 || this.frontend?.deliver(frame) !== true) this.held.push(frame);
  }
  resume(): void {
    while (this.held.length > 0 && this.frontend?.deliver(this.held[0]) === true) this.held.shift();
  }
  info(): string { return ""; }
  close(): void { /* nothing open */ }
}

test("a stopped guest's NIC gets no frames; they wait in the backend and arrive, in order, when it runs again", () => {
  let running = false;
  let wakes = 0;
  const b = new HoldingBackend();
  const nd = runStateBackend(b, { running: () => running, wake: () => { wakes++; } });
  const got: number[] = [];
  nd.attach({ deliver: (frame) => { got.push(frame[0]); return true; } });
  b.fromWire(new Uint8Array([1]));
  b.fromWire(new Uint8Array([2]));
  assert.deepEqual(got, [], "nothing reaches the NIC of a stopped guest");
  assert.equal(b.held.length, 2);
  running = true;
  nd.resume();
  assert.deepEqual(got, [1, 2]);
  b.fromWire(new Uint8Array([3]));
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(wakes, 3, "each frame taken wakes the run loop");
});
