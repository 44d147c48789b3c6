/**
 * Boot-to-shell time of the default guest in the web page (headless
 * Chromium, the machine in a worker) against the same guest under
 * tsemu-system-riscv64 on Node and under qemu-system-riscv64, in the same
 * run, with the same kernel, initrd, RAM (256M) and harts (-smp 2), and the
 * ratios, for each of tsemu's engines.  The page's time runs from pressing
 * Start (so it includes fetching the images over loopback, shown apart) to
 * the prompt in the terminal.  The page runs its translator with settings of
 * its own (web/src/worker.ts: no regroups), the command line with the defaults.
 *
 * usage: npm run bench:web  (BENCH_REPEAT: runs per emulator, the fastest
 * counts; BENCH_ACCELS: tsemu's engines, default "tcg interp")
 */
import * as path from "node:path";
import { bootToShell } from "./boot-console.js";
import { repoRoot } from "../test/util/env.js";
import { buildPage } from "../web/server/build.js";
import { defaultGuestFiles, siteRoutes, type GuestFiles } from "../web/server/site.js";
import { servePage } from "../web/server/serve.js";
import { findChromium, launch, PageDriver, PROMPT } from "../test/web/browser.js";

const TIMEOUT_MS = 900_000;

function bootCli(emu: string, guest: GuestFiles, accel: string[]): Promise<number> {
  return bootToShell([emu, "-M", "virt", ...accel, "-m", "256M", "-smp", "2", "-nographic", "-bios", guest.firmware,
    "-kernel", guest.kernel, "-initrd", guest.initrd, "-append", "console=ttyS0"], TIMEOUT_MS);
}

async function main(): Promise<void> {
  const root = repoRoot(import.meta.url);
  const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? "1"));
  const accels = (process.env.BENCH_ACCELS ?? "tcg interp").split(/\s+/).filter((a) => a !== "");
  const found = findChromium(root);
  if ("skip" in found) throw new Error(found.skip);
  const guest = defaultGuestFiles(root);
  const server = await servePage(siteRoutes(root, await buildPage(root), guest, []), 0);
  const browser = await launch(found.path);
  let loading = Infinity;
  const bootPage = async (accel: string): Promise<number> => {
    const page = await PageDriver.open(browser, `${server.url}?accel=${encodeURIComponent(accel)}`, false);
    try {
      const start = performance.now();
      await page.page.click("#start");
      await page.page.waitForFunction(() => (globalThis as unknown as { tsemu: { state(): string } }).tsemu.state() !== "loading", undefined, { timeout: TIMEOUT_MS, polling: 20 });
      loading = Math.min(loading, (performance.now() - start) / 1000);
      await page.page.waitForFunction((prompt) => (globalThis as unknown as { tsemu: { terminalText(): string } }).tsemu.terminalText().includes(prompt), PROMPT, { timeout: TIMEOUT_MS, polling: 50 });
      const seconds = (performance.now() - start) / 1000;
      page.assertNoErrors();
      return seconds;
    } finally {
      await page.close();
    }
  };
  const best = async (run: () => Promise<number>): Promise<number> => {
    let b = Infinity;
    for (let i = 0; i < repeat; i++) b = Math.min(b, await run());
    return b;
  };
  try {
    const qemu = await best(() => bootCli(process.env.QEMU_SYSTEM ?? "qemu-system-riscv64", guest, []));
    process.stdout.write(`boot to shell (-m 256M -smp 2): qemu ${qemu.toFixed(2)} s\n`);
    const tsemu = process.env.TSEMU_SYSTEM ?? path.join(root, "bin", "tsemu-system-riscv64");
    for (const accel of accels) {
      loading = Infinity;
      const node = await best(() => bootCli(tsemu, guest, ["-accel", accel]));
      const web = await best(() => bootPage(accel));
      process.stdout.write(`-accel ${accel}: tsemu on Node ${node.toFixed(2)} s, ` +
        `tsemu in Chromium ${web.toFixed(2)} s (of which fetching the images ${loading.toFixed(2)} s); ` +
        `ratios: Chromium/Node ${(web / node).toFixed(2)}x, Chromium/qemu ${(web / qemu).toFixed(1)}x, Node/qemu ${(node / qemu).toFixed(1)}x\n`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`web-boot: ${(e as Error).message}\n`);
  process.exit(1);
});
