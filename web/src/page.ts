/**
 * The page: an xterm.js terminal on the guest's serial port, the Start,
 * Reset and Power off buttons, a progress bar for the images and a status
 * line.  The machine runs in a worker (worker.ts); the page talks to it only
 * through the messages of protocol.ts.  Query parameters preset the form:
 * disk=URL, persist=NAME, accel=tcg|interp, memory=256M, smp=2, append=LINE.
 */
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import type { PageToWorker, RunState, StartRequest, WorkerToPage } from "./protocol.js";

/** The default guest as the server publishes it, and `npm start`'s machine: 256M, 2 harts. */
const GUEST = { firmware: "guest/fw_dynamic.bin", kernel: "guest/Image", initrd: "guest/initrd" };

const element = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page lacks #${id}`);
  return e as T;
};
const startButton = element<HTMLButtonElement>("start");
const resetButton = element<HTMLButtonElement>("reset");
const powerOffButton = element<HTMLButtonElement>("power-off");
const diskInput = element<HTMLInputElement>("disk-url");
const persistInput = element<HTMLInputElement>("persist");
const accelSelect = element<HTMLSelectElement>("accel");
const progressRow = element<HTMLDivElement>("progress-row");
const progress = element<HTMLProgressElement>("progress");
const progressText = element<HTMLSpanElement>("progress-text");
const statusLine = element<HTMLDivElement>("status");
const errors = element<HTMLDivElement>("errors");

const params = new URLSearchParams(location.search);
diskInput.value = params.get("disk") ?? "";
persistInput.value = params.get("persist") ?? "";
// The translator by default, as on Node: in Chromium it boots the default guest in about 0.8 times the
// interpreter's time and runs a shell loop in about 0.6 times (docs/performance.md).
accelSelect.value = params.get("accel") === "interp" ? "interp" : "tcg";

const terminal = new Terminal({ scrollback: 100000, convertEol: false, fontSize: 14 });
const fit = new FitAddon();
terminal.loadAddon(fit);
terminal.open(element("terminal"));
fit.fit();
addEventListener("resize", () => fit.fit());

/** The terminal's text, a line each (wrapped rows joined again): what the tests read. */
function terminalText(): string {
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    if (line === undefined) continue;
    const text = line.translateToString(true);
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  return lines.join("\n");
}

/** What the page exposes to scripts driving it (the browser tests). */
interface PageApi {
  terminalText(): string;
  /** Errors the worker reported, in order. */
  errors: string[];
  state(): RunState;
}
const api: PageApi = { terminalText, errors: [], state: () => state };
(window as unknown as { tsemu: PageApi }).tsemu = api;

let worker: Worker | undefined;
let state: RunState = "idle";
let stats = "";
const progressByFile = new Map<string, { loaded: number; total: number }>();

const showError = (text: string): void => {
  api.errors.push(text);
  errors.textContent += `${text}\n`;
  console.error(`tsemu: ${text}`);
};

function render(): void {
  statusLine.textContent = `${state}${stats === "" ? "" : ` | ${stats}`}`;
  const live = state === "running" || state === "paused";
  startButton.disabled = state === "loading" || live;
  resetButton.disabled = !live;
  powerOffButton.disabled = !live;
  diskInput.disabled = persistInput.disabled = accelSelect.disabled = state === "loading" || live;
}

function send(message: PageToWorker): void {
  worker?.postMessage(message);
}

function onMessage(message: WorkerToPage): void {
  switch (message.type) {
    case "ready":
      return;
    case "progress": {
      progressByFile.set(message.file, { loaded: message.loaded, total: message.total });
      let loaded = 0;
      let total = 0;
      for (const p of progressByFile.values()) { loaded += p.loaded; total += p.total; }
      progressRow.hidden = false;
      progress.max = Math.max(total, 1);
      progress.value = Math.min(loaded, progress.max);
      progressText.textContent = `${[...progressByFile.keys()].join(", ")}: ${(loaded / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`;
      return;
    }
    case "console":
      terminal.write(message.data);
      return;
    case "state":
      state = message.state;
      if (state === "running") progressRow.hidden = true;
      if (message.detail !== undefined) stats = message.detail;
      render();
      return;
    case "stats":
      stats = `${message.mips.toFixed(1)} MIPS | ${(message.instructions / 1e9).toFixed(2)} G instructions | ` +
        (message.accel === "tcg" ? `translator: ${message.blocks} blocks compiled` : "interpreter");
      render();
      return;
    case "reset":
      stats = "reset";
      render();
      return;
    case "exited":
      stats = `exited with status ${message.status}`;
      worker?.terminate();
      worker = undefined;
      render();
      return;
    case "error":
      showError(message.stack ?? message.message);
      return;
    default: {
      const never: never = message;
      showError(`unknown message from the worker: ${JSON.stringify(never)}`);
    }
  }
}

function start(): void {
  worker?.terminate();
  progressByFile.clear();
  stats = "";
  worker = new Worker(new URL("app/worker.js", document.baseURI), { type: "module" });
  worker.addEventListener("message", (e: MessageEvent<WorkerToPage>) => onMessage(e.data));
  // A worker that fails to load or throws outside its own handlers.
  worker.addEventListener("error", (e) => { showError(`worker: ${e.message || "failed to load"}`); e.preventDefault(); });
  worker.addEventListener("messageerror", () => showError("worker: a message could not be read"));
  // Absolute URLs: the worker would resolve relative ones against its own script's URL.
  const absolute = (url: string): string => new URL(url, document.baseURI).href;
  const disk = diskInput.value.trim();
  const request: StartRequest = {
    urls: {
      firmware: absolute(GUEST.firmware), kernel: absolute(GUEST.kernel), initrd: absolute(GUEST.initrd),
      disk: disk === "" ? undefined : absolute(disk),
    },
    memory: params.get("memory") ?? "256M",
    cpus: Number(params.get("smp") ?? 2),
    append: params.get("append") ?? "console=ttyS0",
    persistDisk: persistInput.value.trim() === "" ? undefined : persistInput.value.trim(),
    accel: accelSelect.value === "tcg" ? "tcg" : "interp",
  };
  state = "loading";
  render();
  send({ type: "start", request });
  terminal.focus();
}

terminal.onData((data) => send({ type: "input", data }));
startButton.addEventListener("click", start);
resetButton.addEventListener("click", () => send({ type: "reset" }));
powerOffButton.addEventListener("click", () => send({ type: "powerOff" }));
render();
