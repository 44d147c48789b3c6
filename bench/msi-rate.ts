/**
 * MSI-X delivery: the fast route against the slow path, for a device model
 * on the main thread and for one on a worker thread (an iothread).
 *
 * One MSI-X vector of a function, unmasked, whose message targets the
 * S-level IMSIC file of hart 0.  Each round signals it and waits until the
 * hart's external-interrupt line is up, then claims the id (as the guest's
 * handler does through stopei), so every round is one whole delivery:
 *
 * - main thread, fast route: MsixRouting.signal with the vector's route (the
 *   route table's direct way into the interrupt file);
 * - main thread, slow path: the same function with routing through the
 *   memory core (no controller claims the message for a fast path): the
 *   MSI-X model's notify, a 32-bit write to the IMSIC's seteipnum page;
 * - worker, fast route: the worker sets the id's bit in the shared
 *   interrupt file and rings the doorbell (what an iothread does); this
 *   thread sees the doorbell, re-evaluates the line and claims;
 * - worker, slow path: the worker posts the interrupt as a message (what an
 *   iothread does for a vector without a route); this thread takes it with
 *   receiveMessageOnPort and signals it through the slow path.
 *
 * The worker rounds are ping-pong: the worker signals only when this thread
 * has claimed the previous interrupt, so the figure is the latency of one
 * delivery across threads.  There is no QEMU figure to set beside these: in
 * QEMU 7.2 under TCG an iothread's irqfd and its userspace path cannot be
 * timed apart from outside.
 *
 * usage: node dist/bench/msi-rate.js   (BENCH_ROUNDS, default 20000)
 */
import { MessageChannel, Worker, receiveMessageOnPort } from "node:worker_threads";
import { Imsic, FileWord } from "../src/hw/intc/imsic.js";
import { MsiRouteTable } from "../src/hw/pci/msi-route.js";
import { MsixRouting } from "../src/hw/pci/msix-routing.js";
import type { MsiMessage } from "../src/hw/pci/msi.js";
import type { SharedMsiTarget } from "../src/hw/core/shared-machine.js";
import { MipBit } from "../src/hw/core/irq.js";
import { SystemBus } from "../src/hw/core/bus.js";
import { CAP, MsixFunction } from "../test/hw/pci/msix-harness.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "20000");
const IMSIC_S = 0x28000000;
const ID = 40;
const MESSAGE: MsiMessage = { address: IMSIC_S, data: ID };
/** The other device regions of QEMU's virt board with aia=aplic-imsic, so that the memory core searches as it does there. */
const VIRT_REGIONS: [string, number, number][] = [
  ["test", 0x100000, 0x1000], ["rtc", 0x101000, 0x1000], ["clint", 0x2000000, 0x10000], ["pci-pio", 0x3000000, 0x10000],
  ["aplic-m", 0xc000000, 0x8000], ["aplic-s", 0xd000000, 0x8000], ["uart", 0x10000000, 0x100],
  ...Array.from({ length: 8 }, (_, i): [string, number, number] => ["virtio-mmio", 0x10001000 + 0x1000 * i, 0x1000]),
  ["fw-cfg", 0x10100000, 0x18], ["imsic-m", 0x24000000, 0x1000], ["pcie-ecam", 0x30000000, 0x10000000], ["pcie-mmio", 0x40000000, 0x40000000],
];

interface Rig {
  imsic: Imsic;
  routing: MsixRouting;
  line: () => boolean;
}

/** A function with one unmasked vector aimed at hart 0's S file; `fast`: the route table may route it directly. */
function rig(fast: boolean): Rig {
  let mip = 0;
  const imsic = new Imsic({
    base: IMSIC_S, harts: 1, machineLevel: false,
    irqs: { setMip: (_h, bit, level) => { mip = level ? mip | (1 << bit) : mip & ~(1 << bit); } },
    state: new Uint32Array(new SharedArrayBuffer(FileWord.SIZE * 4)),
  });
  const file = imsic.files[0];
  // The guest's setup: delivery on, the id enabled.
  file.writeIndirect(0x70, 1, 0); // eidelivery
  file.writeIndirect(0xc0 + 2 * (ID >>> 6), ID < 64 ? 1 << (ID & 31) : 0, ID >= 32 && ID < 64 ? 1 << (ID & 31) : 0);
  // The memory core as the virt board has it: the IMSIC among the board's device regions.
  const bus = new SystemBus({ romBase: 0x1000, romSize: 0xf000, ramBase: 0x80000000, ramSize: 1 << 20 });
  for (const [name, base, size] of VIRT_REGIONS) {
    bus.map({ name, base, size, ops: { read: () => 0, write: () => {} } });
  }
  bus.map(imsic.region);
  const memoryWrite = (msg: MsiMessage): void => {
    if (bus.hostOffset(msg.address, 4) < 0) bus.ioWrite(msg.address, 4, msg.data | 0, 0);
  };
  const routes = new MsiRouteTable((msg) => {
    if (!fast) return undefined;
    const f = imsic.fileAt(msg.address);
    if (f === undefined) return undefined;
    return Object.assign(() => f.setPending(msg.data), { target: f.target(msg.data, 0) });
  }, memoryWrite);
  const fn = new MsixFunction(1, memoryWrite);
  const routing = new MsixRouting(fn.msix, routes, fn.config, CAP);
  fn.enableMasked();
  fn.writeEntry(0, MESSAGE, false);
  return { imsic, routing, line: () => (mip & (1 << MipBit.SEIP)) !== 0 };
}

function claim(r: Rig): void {
  if (!r.line()) throw new Error("the interrupt did not arrive");
  const file = r.imsic.files[0];
  if ((file.topei() & 0x7ff) !== ID) throw new Error(`topei ${file.topei()}`);
  file.claimTopei();
  if (r.line()) throw new Error("the line stayed up after the claim");
}

/** µs per delivery, signal to claim, on this thread. */
function mainThread(fast: boolean): number {
  const r = rig(fast);
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    r.routing.signal(0);
    claim(r);
  }
  return ((performance.now() - t0) / ROUNDS) * 1000;
}

/** The worker's side: wait for the go word, then signal, ROUNDS times. */
const WORKER = `
const { workerData } = require("node:worker_threads");
const { words, files, doorbell, target, out, fast, rounds } = workerData;
const w = new Int32Array(words), f = new Uint32Array(files), d = new Int32Array(doorbell);
for (let i = 0; i < rounds; i++) {
  while (Atomics.load(w, 0) === 0) Atomics.wait(w, 0, 0);
  Atomics.store(w, 0, 0);
  if (fast) {
    Atomics.or(f, target.word, target.mask);
    if (Atomics.exchange(d, 0, 1) === 0) { Atomics.add(w, 1, 1); Atomics.notify(w, 1); }
  } else {
    out.postMessage(i);
    Atomics.add(w, 1, 1);
    Atomics.notify(w, 1);
  }
}
`;

/** Round trip and this thread's share of it (from noticing the worker's signal to the claim), µs per delivery. */
async function workerThread(fast: boolean): Promise<{ trip: number; handling: number }> {
  const r = rig(true);
  const target = r.imsic.files[0].target(ID, 0) as SharedMsiTarget;
  const words = new Int32Array(new SharedArrayBuffer(8));
  const doorbell = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { words: words.buffer, files: r.imsic.state.buffer, doorbell: doorbell.buffer, target, out: port2, fast, rounds: ROUNDS },
    transferList: [port2],
  });
  const done = new Promise<void>((resolve, reject) => { worker.on("exit", () => resolve()); worker.on("error", reject); });
  // The slow path's function: the same vector without a fast route.
  const slow = rig(false);
  let handling = 0;
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const seen = Atomics.load(words, 1);
    Atomics.store(words, 0, 1);
    Atomics.notify(words, 0);
    for (;;) {
      // What the run loop does between slices: a look at the doorbell, or at the channel's counter.
      if (Atomics.load(fast ? doorbell : words, fast ? 0 : 1) !== (fast ? 0 : seen)) {
        const h0 = performance.now();
        if (fast) {
          Atomics.store(doorbell, 0, 0);
          r.imsic.sync();
        } else {
          if (receiveMessageOnPort(port1) === undefined) throw new Error("no message");
          // The slow path, into the same interrupt file.
          slow.routing.signal(0);
        }
        claim(fast ? r : slow);
        handling += performance.now() - h0;
        break;
      }
      Atomics.wait(words, 1, seen, 1000);
    }
  }
  const trip = (performance.now() - t0) / ROUNDS;
  await done;
  port1.close();
  return { trip: trip * 1000, handling: (handling / ROUNDS) * 1000 };
}

async function main(): Promise<void> {
  // Warm up once, then measure, alternating the paths.
  mainThread(true); mainThread(false);
  await workerThread(true); await workerThread(false);
  const mf = mainThread(true);
  const ms = mainThread(false);
  const wf = await workerThread(true);
  const ws = await workerThread(false);
  const row = (what: string, fast: number, slow: number): string =>
    `| ${what} | ${fast.toFixed(2)} | ${slow.toFixed(2)} | ${(slow / fast).toFixed(2)} |\n`;
  process.stdout.write(`MSI-X deliveries, ${ROUNDS} rounds each (signal, line up, claim), µs per delivery\n\n`);
  process.stdout.write("| measured | fast route | slow path | slow / fast |\n| --- | --- | --- | --- |\n");
  process.stdout.write(row("device model on the main thread: signal to claim", mf, ms));
  process.stdout.write(row("iothread: round trip between the threads", wf.trip, ws.trip));
  process.stdout.write(row("iothread: main thread's work per delivery", wf.handling, ws.handling));
}

void main();
