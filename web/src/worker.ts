/**
 * The worker that runs the machine.  It fetches the guest's images (posting
 * progress), opens the disk URL, builds the machine, and from then on turns
 * the page's messages into machine calls and the machine's output and state
 * into messages.  Every error in here becomes an "error" message: the page
 * shows it, and its tests fail on it.
 */
import type { PageToWorker, RunState, StartRequest, WorkerToPage } from "./protocol.js";
import { createMachine, type Machine } from "../../src/index.js";
import { openHttpDisk } from "./http-disk.js";
import type { RangeDisk } from "./range-disk.js";
import { openPersistentOverlay } from "./opfs-overlay.js";

/** The worker's global scope, as far as this file uses it (the page's tsconfig has the DOM's types, not the worker's). */
interface WorkerScope {
  postMessage(message: WorkerToPage, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent<PageToWorker>) => void): void;
  addEventListener(type: "error", listener: (e: ErrorEvent) => void): void;
  addEventListener(type: "unhandledrejection", listener: (e: PromiseRejectionEvent) => void): void;
}
const scope = self as unknown as WorkerScope;

const post = (message: WorkerToPage, transfer?: Transferable[]): void => scope.postMessage(message, transfer);
const reportError = (e: unknown): void => {
  const err = e instanceof Error ? e : new Error(String(e));
  post({ type: "error", message: err.message, stack: err.stack });
};
const setState = (state: RunState, detail?: string): void => post({ type: "state", state, detail });

/** An exception nothing caught (the machine's run loop among others): the machine cannot be trusted to go on. */
const uncaught = (e: unknown): void => {
  reportError(e);
  setState("error", e instanceof Error ? e.message : String(e));
};
scope.addEventListener("error", (e) => { uncaught(e.error ?? e.message); e.preventDefault(); });
scope.addEventListener("unhandledrejection", (e) => { uncaught(e.reason); e.preventDefault(); });

/**
 * The translator as the page runs it: a block compiled after 8,192 runs, as
 * in the system emulator (said here too: the page was measured with it), and
 * a page's blocks never compiled again into one module (regroup=0).  A
 * browser's V8 re-compiles hot modules with its optimising compiler far
 * sooner than Node's, where the emulators raise its budget (a page cannot),
 * and regrouped pages make the largest modules, again and again.  Measured
 * in headless Chromium on 2 cores, in turns (docs/performance.md): boot to
 * the shell and a shell loop of 30,000 iterations, 8.61-8.65 / 8.53-8.70 s
 * with the emulators' settings of then (threshold 4,096, regroups; 5.60 /
 * 3.12 with V8's optimising compiler for WebAssembly turned off, which a page
 * cannot do), 4.74-5.21 / 3.97-4.21 s with these, the interpreter 3.64-4.55
 * / 6.46-6.52.
 */
const PAGE_TCG = "tcg,regroup=0,threshold=8192";

/** The whole body of `url`, read as it streams in, with progress messages under the name `file`. */
async function download(file: string, url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null) throw new Error(`${file} (${url}): ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get("Content-Length") ?? 0) || 0;
  const parts: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body.getReader();
  post({ type: "progress", file, loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    post({ type: "progress", file, loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return bytes;
}

let machine: Machine | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;

async function start(request: StartRequest): Promise<void> {
  if (machine !== undefined && machine.status() !== "shutdown") throw new Error("a machine is already running");
  setState("loading");
  const { urls } = request;
  const [firmware, kernel, initrd] = await Promise.all([
    download("firmware", urls.firmware), download("kernel", urls.kernel), download("initrd", urls.initrd),
  ]);
  const drives: { image: RangeDisk }[] = [];
  if (urls.disk !== undefined && urls.disk !== "") {
    const overlay = request.persistDisk === undefined ? undefined : await openPersistentOverlay(request.persistDisk);
    drives.push({ image: await openHttpDisk(urls.disk, { overlay }) });
  }
  const m = await createMachine({
    memory: request.memory, cpus: request.cpus, firmware, kernel, initrd, append: request.append, drives,
    accel: request.accel === "tcg" ? PAGE_TCG : "interp",
  });
  machine = m;
  // A copy is transferred: the machine may hand out views of its own buffers.
  m.console.onData((bytes) => {
    const data = bytes.slice();
    post({ type: "console", data }, [data.buffer]);
  });
  m.on("reset", () => post({ type: "reset" }));
  // The machine flushes and closes its drives (the OPFS overlay too) before exited resolves.
  void m.exited.then((status) => {
    if (statsTimer !== undefined) clearInterval(statsTimer);
    statsTimer = undefined;
    setState("shutdown");
    post({ type: "exited", status });
  });
  m.start();
  setState("running");
  let last = { at: performance.now(), instructions: m.instructions() };
  statsTimer = setInterval(() => {
    const now = { at: performance.now(), instructions: m.instructions() };
    const mips = (now.instructions - last.instructions) / ((now.at - last.at) * 1000);
    const engine = m.engine();
    post({ type: "stats", instructions: now.instructions, mips, accel: engine.accel, blocks: engine.blocks });
    last = now;
  }, 1000);
}

function handle(message: PageToWorker): void {
  switch (message.type) {
    case "start":
      start(message.request).catch(uncaught);
      return;
    case "input":
      machine?.console.write(message.data);
      return;
    case "reset":
      if (machine === undefined || machine.status() === "shutdown") return;
      machine.reset();
      return;
    case "powerOff":
      if (machine === undefined || machine.status() === "shutdown") return;
      void machine.powerOff();
      return;
    default: {
      const never: never = message;
      reportError(new Error(`unknown message ${JSON.stringify(never)}`));
    }
  }
}

scope.addEventListener("message", (e) => {
  try {
    handle(e.data);
  } catch (err) {
    reportError(err);
  }
});
post({ type: "ready" });
