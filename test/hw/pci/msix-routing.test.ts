/**
 * The MSI route table and the seed's rule: a placeholder vector never gets a
 * fast route, and after a reset or error recovery the routes match the
 * MSI-X table again with no interrupt lost.
 *
 * The scenario is the one that lost a NIC's interrupts on QEMU: a backend
 * that needs its function in MSI-X mode while every vector is masked gets a
 * placeholder vector 0, and signals an interrupt it still had while the
 * placeholder is in use.  Given a route made from the placeholder (the
 * masked, empty table entry), that interrupt goes to address 0 and is lost;
 * through the slow path it stays pending and the guest gets it on unmask.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MsiRouteTable } from "../../../src/hw/pci/msi-route.js";
import { MsixRouting } from "../../../src/hw/pci/msix-routing.js";
import { CAP, FakeImsic, MsixFunction, imsicMessage, type Arrival } from "./msix-harness.js";
import { SharedRoutes } from "../../../src/hw/virtio/dataplane.js";
import { deliverShared, type SharedMsiTarget } from "../../../src/hw/core/shared-machine.js";

const VECTORS = 4;

interface Rig {
  f: MsixFunction;
  imsic: FakeImsic;
  routes: MsiRouteTable;
  routing: MsixRouting;
}

/** A function whose backend needs MSI-X mode and signals vector 0 while switching into it. */
function rig(): Rig {
  const imsic = new FakeImsic();
  const f = new MsixFunction(VECTORS, (msg) => imsic.memoryWrite(msg));
  const routes = new MsiRouteTable((msg) => imsic.resolve(msg), (msg) => imsic.memoryWrite(msg));
  const r: Partial<Rig> = { f, imsic, routes };
  r.routing = new MsixRouting(f.msix, routes, f.config, CAP, {
    placeholder: true,
    onPlaceholder: () => r.routing?.signal(0),
  });
  return r as Rig;
}

/** The guest's message for vector v: hart v % 2, identity 32 + v. */
const messageOf = (v: number) => imsicMessage(v % 2, 32 + v);

/** Routes are exactly the unmasked vectors, each with its table message, each delivered directly. */
function assertRoutesMatchTable({ f, routes, routing }: Rig, when: string): void {
  const expected: { vector: number; address: number; data: number }[] = [];
  const actual: typeof expected = [];
  const byId = new Map(routes.list().map((r) => [r.id, r]));
  for (let v = 0; v < VECTORS; v++) {
    if (!f.msix.isMasked(v)) expected.push({ vector: v, ...f.msix.message(v) });
    const id = routing.routeId(v);
    if (id >= 0) {
      const route = byId.get(id);
      assert.ok(route !== undefined, `${when}: vector ${v} names route ${id}, which the table lacks`);
      assert.ok(route.direct, `${when}: route of vector ${v} does not reach the interrupt file`);
      actual.push({ vector: v, ...route.msg });
    }
  }
  assert.deepEqual(actual, expected, `${when}: routes differ from the MSI-X table`);
  assert.equal(routes.size, expected.length, `${when}: stray routes in the route table`);
}

/** Linux brings the function up: enable with every vector masked, then program and unmask one by one. */
function guestBringUp(r: Rig, when: string): Arrival[] {
  r.f.enableMasked();
  assert.equal(r.routes.size, 0, `${when}: a route exists while every vector is masked (the placeholder got one)`);
  assertRoutesMatchTable(r, `${when}, enabled`);
  const arrived: Arrival[] = [];
  for (let v = 0; v < VECTORS; v++) {
    r.f.writeEntry(v, messageOf(v), false);
    assertRoutesMatchTable(r, `${when}, vector ${v} unmasked`);
    arrived.push(...r.imsic.take());
  }
  return arrived;
}

function signalAll(r: Rig): Arrival[] {
  for (let v = 0; v < VECTORS; v++) r.routing.signal(v);
  return r.imsic.take();
}

test("the placeholder never gets a route, and what the backend signals through it arrives on unmask", () => {
  const r = rig();
  const early = guestBringUp(r, "first bring-up");
  assert.equal(r.routing.placeholders, 1);
  // The interrupt signalled during the placeholder was kept pending and came out at vector 0's unmask.
  assert.deepEqual(early, [{ msg: messageOf(0), path: "memory" }]);
  // Every unmasked vector is routed straight into its interrupt file.
  assert.deepEqual(signalAll(r), [0, 1, 2, 3].map((v) => ({ msg: messageOf(v), path: "direct" })));
});

test("after device reset, error recovery and re-enable, the routes match the table and no vector is lost", () => {
  const r = rig();
  guestBringUp(r, "boot");
  for (let round = 1; round <= 3; round++) {
    // Error recovery: the function is reset (as a secondary bus reset or FLR does), then resynced.
    r.f.config.reset();
    r.f.msix.reset();
    r.routing.resync();
    assertRoutesMatchTable(r, `round ${round}, after reset`);
    assert.equal(r.routes.size, 0);
    // Interrupts the device raises while the guest has not set it up yet are not sent anywhere.
    r.f.config.write(0x04, 2, 0x6);
    const arrived = guestBringUp(r, `round ${round}`);
    assert.deepEqual(arrived, [{ msg: messageOf(0), path: "memory" }], `round ${round}: the placeholder's interrupt`);
    assert.equal(r.routing.placeholders, round + 1);
    assert.deepEqual(signalAll(r), [0, 1, 2, 3].map((v) => ({ msg: messageOf(v), path: "direct" })), `round ${round}`);
  }
});

test("a masked vector takes the slow path: pending, then delivered on unmask; masking drops its route", () => {
  const r = rig();
  guestBringUp(r, "boot");
  r.f.mask(2, true);
  assertRoutesMatchTable(r, "vector 2 masked");
  assert.deepEqual(signalAll(r).map((a) => a.msg.data), [32, 33, 35]);
  assert.equal(r.f.pbaBit(2), true);
  r.f.mask(2, false);
  assert.deepEqual(r.imsic.take(), [{ msg: messageOf(2), path: "memory" }]);
  assertRoutesMatchTable(r, "vector 2 unmasked");
  // The function mask takes every vector off the fast path at once, and puts them back.
  r.f.writeControl(0xc000);
  assertRoutesMatchTable(r, "function masked");
  assert.deepEqual(signalAll(r), []);
  r.f.writeControl(0x8000);
  assert.deepEqual(r.imsic.take().map((a) => a.path), ["memory", "memory", "memory", "memory"]);
  assertRoutesMatchTable(r, "function unmasked");
});

test("a new message for an unmasked vector moves its route; a message no controller claims goes through memory", () => {
  const r = rig();
  guestBringUp(r, "boot");
  r.f.writeEntry(1, imsicMessage(1, 99), false);
  assertRoutesMatchTable(r, "vector 1 moved");
  r.routing.signal(1);
  assert.deepEqual(r.imsic.take(), [{ msg: imsicMessage(1, 99), path: "direct" }]);
  const before = r.routes.memoryDeliveries;
  r.f.writeEntry(3, { address: 0x1000, data: 7 }, false);
  r.routing.signal(3);
  assert.deepEqual(r.imsic.take(), []);
  assert.equal(r.routes.memoryDeliveries, before + 1);
});

test("detaching releases every route", () => {
  const r = rig();
  guestBringUp(r, "boot");
  assert.equal(r.routes.size, VECTORS);
  r.routing.detach();
  assert.equal(r.routes.size, 0);
  r.routing.signal(0);
  assert.deepEqual(r.imsic.take(), [{ msg: messageOf(0), path: "memory" }], "the slow path still delivers");
});

/**
 * A backend on another thread (an iothread) keeps a copy of the routes in
 * shared memory (SharedRoutes, fed by the routing's mirror) and delivers
 * through it by itself.  The copy must follow the routes exactly: no entry
 * for the placeholder, none for a masked vector, none after a reset; and
 * every vector the backend signals arrives once, through its copy or
 * through the slow path.
 */
test("the routes mirrored for a backend on another thread follow the table, and never hold the placeholder", () => {
  const imsic = new FakeImsic();
  const files = new Uint32Array(new SharedArrayBuffer(4 * 64));
  const doorbell = new Int32Array(new SharedArrayBuffer(4));
  // The target of a message as a worker acts on it: word hart * 8 + id / 32 of `files`.
  const targetOf = (msg: { address: number; data: number }): SharedMsiTarget =>
    ({ imsic: 0, word: ((msg.address >>> 12) & 7) * 8 + (msg.data >>> 5), mask: 1 << (msg.data & 31) });
  const routes = new MsiRouteTable((msg) => {
    const fast = imsic.resolve(msg);
    return fast === undefined ? undefined : Object.assign(fast, { target: targetOf(msg) });
  }, (msg) => imsic.memoryWrite(msg));
  const f = new MsixFunction(VECTORS, (msg) => imsic.memoryWrite(msg));
  const shared = new SharedRoutes(VECTORS);
  const r: Partial<Rig> = { f, imsic, routes };
  // While the placeholder is in use the backend signals vector 0 the way the worker does: through its copy if it has one.
  let placeholderDirect = 0;
  r.routing = new MsixRouting(f.msix, routes, f.config, CAP, {
    placeholder: true, mirror: (v, t) => shared.set(v, t),
    onPlaceholder: () => {
      const t = shared.get(0);
      if (t === undefined) r.routing?.signal(0);
      else {
        placeholderDirect++;
        deliverShared([files], doorbell, t);
      }
    },
  });
  const rigged = r as Rig;
  const assertMirror = (when: string): void => {
    for (let v = 0; v < VECTORS; v++) {
      const expected = f.msix.isMasked(v) ? undefined : targetOf(f.msix.message(v) as { address: number; data: number });
      assert.deepEqual(shared.get(v), expected, `${when}: the shared copy of vector ${v}`);
    }
  };
  /** What the worker does: its copy when it has a route, else the slow path; returns what arrived. */
  const workerSignals = (): { direct: number[]; slow: number[] } => {
    const direct: number[] = [];
    for (let v = 0; v < VECTORS; v++) {
      const t = shared.get(v);
      if (t === undefined) rigged.routing.signal(v);
      else {
        deliverShared([files], doorbell, t);
        direct.push(v);
      }
    }
    return { direct, slow: imsic.take().map((a) => a.msg.data - 32) };
  };
  for (let round = 0; round < 3; round++) {
    f.enableMasked();
    assertMirror(`round ${round}, enabled with every vector masked (the placeholder in use)`);
    for (let v = 0; v < VECTORS; v++) {
      f.writeEntry(v, messageOf(v), false);
      assertMirror(`round ${round}, vector ${v} unmasked`);
    }
    assert.equal(placeholderDirect, 0, `round ${round}: the backend found a route for the placeholder`);
    assert.deepEqual(imsic.take(), [{ msg: messageOf(0), path: "memory" }], `round ${round}: the placeholder's interrupt arrived on unmask`);
    files.fill(0);
    Atomics.store(doorbell, 0, 0);
    assert.deepEqual(workerSignals(), { direct: [0, 1, 2, 3], slow: [] });
    for (let v = 0; v < VECTORS; v++) {
      const t = targetOf(messageOf(v));
      assert.notEqual(files[t.word] & t.mask, 0, `round ${round}: vector ${v}'s id is pending in its file`);
    }
    assert.equal(Atomics.load(doorbell, 0), 1, "the doorbell rang");
    f.mask(1, true);
    assertMirror(`round ${round}, vector 1 masked`);
    assert.deepEqual(workerSignals(), { direct: [0, 2, 3], slow: [] }, "a masked vector's interrupt waits in the PBA");
    f.mask(1, false);
    assert.deepEqual(imsic.take().map((a) => a.msg.data - 32), [1], "and arrives on unmask");
    // A reset (FLR, secondary bus reset, error recovery): the copy empties with the routes.
    f.config.reset();
    f.msix.reset();
    rigged.routing.resync();
    assertMirror(`round ${round}, after reset`);
    f.config.write(0x04, 2, 0x6);
  }
});
