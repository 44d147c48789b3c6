/**
 * The seed's rule with real concurrency: a worker thread signals MSI-X
 * vectors as an iothread does (its copy of the routes, else a message),
 * while the main thread, as the guest, masks and unmasks vectors, masks the
 * whole function and moves vectors between harts' interrupt files.  Each
 * signal must reach an interrupt file exactly once, at the identity of its
 * vector (directly, or through the pending bit and the unmask): the worker
 * waits for every delivery to be acknowledged, so a lost interrupt hangs
 * the worker and fails the test by its deadline.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";
import { FileWord, Imsic } from "../../../src/hw/intc/imsic.js";
import { MsiRouteTable } from "../../../src/hw/pci/msi-route.js";
import { MsixRouting } from "../../../src/hw/pci/msix-routing.js";
import type { MsiMessage } from "../../../src/hw/pci/msi.js";
import { SharedRoutes } from "../../../src/hw/virtio/dataplane.js";
import { CAP, IMSIC_BASE, MsixFunction, imsicMessage } from "../pci/msix-harness.js";
import type { SignallerData } from "./dataplane-signaller.js";

const VECTORS = 8;
const HARTS = 2;
const ROUNDS = 20_000;
const DEADLINE_MS = 120_000;
const idOf = (v: number): number => 32 + v;

/** Deterministic choices (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test("a worker's signals all arrive while the guest masks, unmasks and moves vectors", async () => {
  const imsic = new Imsic({
    base: IMSIC_BASE, harts: HARTS, machineLevel: false, irqs: { setMip: () => {} },
    state: new Uint32Array(new SharedArrayBuffer(HARTS * FileWord.SIZE * 4)),
  });
  for (const f of imsic.files) {
    f.writeIndirect(0x70, 1, 0); // eidelivery on
    f.writeIndirect(0xc0, 0, 0xff); // eie: ids 32-39
  }
  const memoryWrite = (msg: MsiMessage): void => { imsic.fileAt(msg.address)?.setPending(msg.data); };
  const routes = new MsiRouteTable((msg) => {
    const file = imsic.fileAt(msg.address);
    if (file === undefined) return undefined;
    return Object.assign(() => file.setPending(msg.data), { target: file.target(msg.data, 0) });
  }, memoryWrite);
  const fn = new MsixFunction(VECTORS, memoryWrite);
  const shared = new SharedRoutes(VECTORS);
  const routing = new MsixRouting(fn.msix, routes, fn.config, CAP, { placeholder: true, mirror: (v, t) => shared.set(v, t) });
  const hartOf = new Array<number>(VECTORS).fill(0);
  fn.enableMasked();
  for (let v = 0; v < VECTORS; v++) fn.writeEntry(v, imsicMessage(0, idOf(v)), false);

  const words = new Int32Array(new SharedArrayBuffer(12));
  const doorbell = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const data: SignallerData = {
    routes: shared.buffer, vectors: VECTORS, files: imsic.state.buffer as SharedArrayBuffer,
    doorbell: doorbell.buffer as SharedArrayBuffer, words: words.buffer as SharedArrayBuffer, rounds: ROUNDS, out: port2,
  };
  const worker = new Worker(new URL("./dataplane-signaller.js", import.meta.url), { workerData: data, transferList: [port2] });
  const ended = new Promise<number>((resolve, reject) => { worker.on("exit", resolve); worker.on("error", reject); });

  const next = rng(12345);
  const masked = new Array<boolean>(VECTORS).fill(false);
  let functionMasked = false;
  let acked = 0;
  let wrong = 0;
  const deadline = performance.now() + DEADLINE_MS;
  try {
    while (acked < ROUNDS) {
      assert.ok(performance.now() < deadline, `lost: ${acked} of ${ROUNDS} deliveries acknowledged, the worker waits`);
      // What the run loop does between slices.
      if (Atomics.exchange(doorbell, 0, 0) !== 0) imsic.sync();
      for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) {
        routing.signal(m.message as number);
      }
      // The guest: claim what is pending in either file; each claim is one delivery.
      for (const f of imsic.files) {
        for (let top = f.topei() & 0x7ff; top !== 0; top = f.topei() & 0x7ff) {
          f.claimTopei();
          if (top !== idOf(acked % VECTORS)) wrong++;
          acked++;
          Atomics.store(words, 0, acked);
          Atomics.notify(words, 0);
        }
      }
      // ... and meddles: masks, unmasks, the function mask, moving a vector to the other hart.
      const r = next();
      const v = Math.floor(next() * VECTORS);
      if (r < 0.2) {
        masked[v] = !masked[v];
        fn.mask(v, masked[v]);
      } else if (r < 0.25) {
        functionMasked = !functionMasked;
        fn.writeControl(functionMasked ? 0xc000 : 0x8000);
      } else if (r < 0.3 && !masked[v]) {
        hartOf[v] = 1 - hartOf[v];
        fn.writeEntry(v, imsicMessage(hartOf[v], idOf(v)), false);
      } else if (r < 0.6) {
        // Let the guest catch up: everything unmasked.
        for (let u = 0; u < VECTORS; u++) if (masked[u]) { masked[u] = false; fn.mask(u, false); }
        if (functionMasked) { functionMasked = false; fn.writeControl(0x8000); }
      }
      if (acked < Atomics.load(words, 1)) Atomics.wait(words, 1, Atomics.load(words, 1), 0.05);
    }
  } finally {
    if (acked < ROUNDS) void worker.terminate();
    port1.close();
  }
  assert.equal(await ended, 0);
  assert.equal(wrong, 0, "every delivery was its vector's identity");
  assert.equal(acked, ROUNDS);
  const direct = Atomics.load(words, 2);
  assert.ok(direct > 0 && direct < ROUNDS, `both paths were taken: ${direct} direct of ${ROUNDS}`);
  assert.equal(routing.placeholders, 1);
});
