/**
 * The default guest (Linux + BusyBox initramfs) under qemu-system-riscv64 and
 * under tsemu-system-riscv64 with each engine, side by side in one run: the
 * time from start to the shell prompt, the time of a shell loop in the booted
 * guest (`i=$((i+1))` 100,000 times), the emulator's resident memory at the
 * prompt, and for the translator its code cache (from -d tcg).  Guest MIPS:
 * the instructions of the boot and of the loop as tsemu -accel tcg counts
 * them (-d tcg: compiled and interpreted; the boot's from a run stopped at
 * the prompt, the loop's the rest of a run stopped after it), over each
 * emulator's time.  Every run ends with the monitor's quit (Ctrl-A c), so
 * that no shutdown is counted.  Run through bench/system-bench.sh (which
 * builds the images when they are not cached).
 *
 * usage: node dist/bench/boot-time.js IMAGE INITRD [repeat]
 * Environment: QEMU_SYSTEM (default qemu-system-riscv64), TSEMU_SYSTEM
 * (default bin/tsemu-system-riscv64), BENCH_SMP (default 1), BENCH_ACCELS
 * (tsemu's engines, default "interp tcg"), BENCH_LOOP (loop iterations,
 * default 100000; 0 skips the loop).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { SHELL_PROMPT } from "./boot-console.js";
import { Console, shell } from "../test/util/console.js";
import { repoRoot } from "../test/util/env.js";

interface Run {
  boot: number;
  loop: number | undefined;
  /** Resident set at the prompt, KiB. */
  rssKiB: number | undefined;
  /** The translator's -d tcg line, when it printed one. */
  tcg: string | undefined;
  /** Guest instructions retired in the whole run, by the -d tcg line. */
  insns: number | undefined;
}

/** Instructions retired by the -d tcg line's figures (compiled and interpreted), if it has them. */
function retiredBy(tcg: string | undefined): number | undefined {
  const compiled = /\bcompiled-insns=(\d+)/.exec(tcg ?? "");
  const interpreted = /\binterpreted-insns=(\d+)/.exec(tcg ?? "");
  return compiled === null || interpreted === null ? undefined : Number(compiled[1]) + Number(interpreted[1]);
}

function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

async function once(argv: string[], loop: number): Promise<Run> {
  const start = process.hrtime.bigint();
  const c = new Console(argv);
  try {
    await c.expect(SHELL_PROMPT, 600_000);
    const boot = Number(process.hrtime.bigint() - start) / 1e9;
    const rssKiB = rssOf(c.pid);
    let loopSeconds: number | undefined;
    if (loop > 0) {
      const t0 = process.hrtime.bigint();
      const out = await shell(c, `i=0; while [ $i -lt ${loop} ]; do i=$((i+1)); done; echo loop=$i`, SHELL_PROMPT, 1_800_000);
      loopSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (!out.includes(`loop=${loop}`)) throw new Error(`${argv[0]}: the shell loop printed ${out.trim()}`);
    }
    // The monitor's quit (-nographic multiplexes it on stdio): the run's figures end here, with no shutdown.
    c.send("\x01c");
    await c.expect("(qemu) ", 60_000);
    c.send("quit\r");
    await c.waitExit(120_000);
    const tcg = /^tcg: .*$/m.exec(c.errorOutput)?.[0];
    return { boot, loop: loopSeconds, rssKiB, tcg, insns: retiredBy(tcg) };
  } finally {
    c.kill();
  }
}

async function main(): Promise<void> {
  const [image, initrd, repeatText] = process.argv.slice(2);
  if (image === undefined || initrd === undefined) {
    process.stderr.write("usage: node dist/bench/boot-time.js IMAGE INITRD [repeat]\n");
    process.exit(2);
  }
  const root = repoRoot(import.meta.url);
  const repeat = Number(repeatText ?? "1");
  const loop = Number(process.env.BENCH_LOOP ?? "100000");
  if (!Number.isInteger(repeat) || repeat < 1 || !Number.isInteger(loop) || loop < 0) {
    process.stderr.write("boot-time: the repeat count must be a positive integer and BENCH_LOOP a whole number\n");
    process.exit(2);
  }
  const smp = process.env.BENCH_SMP ?? "1";
  const qemu = process.env.QEMU_SYSTEM ?? "qemu-system-riscv64";
  const tsemu = process.env.TSEMU_SYSTEM ?? path.join(root, "bin", "tsemu-system-riscv64");
  const accels = (process.env.BENCH_ACCELS ?? "interp tcg").split(/\s+/).filter((a) => a !== "");
  const guest = ["-M", "virt", "-m", "256M", "-smp", smp, "-nographic", "-kernel", image, "-initrd", initrd,
    "-append", "console=ttyS0"];
  // The run with the shortest boot counts (its loop and memory with it).
  const best = async (argv: string[]): Promise<Run> => {
    let b: Run | undefined;
    for (let i = 0; i < repeat; i++) {
      const r = await once(argv, loop);
      if (b === undefined || r.boot < b.boot) b = r;
    }
    return b as Run;
  };
  const rows: [string, Run][] = [["qemu", await best([qemu, ...guest])]];
  // The first translator run that counted the guest's instructions, and its -accel.
  let counter: { name: string; accel: string; run: Run } | undefined;
  for (const accel of accels) {
    const debug = accel.startsWith("tcg") ? ["-d", "tcg"] : [];
    const name = `tsemu -accel ${accel}`;
    const run = await best([tsemu, ...guest, "-accel", accel, ...debug]);
    rows.push([name, run]);
    if (counter === undefined && run.insns !== undefined) counter = { name, accel, run };
  }
  // The boot's instructions from a run that stops at the prompt; the loop's the rest of the counting run.
  let bootInsns: number | undefined;
  let loopInsns: number | undefined;
  if (counter !== undefined) {
    bootInsns = loop > 0 ? (await once([tsemu, ...guest, "-accel", counter.accel, "-d", "tcg"], 0)).insns : counter.run.insns;
    if (loop > 0 && bootInsns !== undefined && counter.run.insns !== undefined) loopInsns = counter.run.insns - bootInsns;
  }
  const mips = (n: number | undefined, t: number | undefined): string =>
    n === undefined || t === undefined || t <= 0 ? "-" : (n / t / 1e6).toFixed(0);
  const q = rows[0][1];
  const ratio = (t: number | undefined, base: number | undefined): string =>
    t === undefined || base === undefined ? "-" : `${(t / base).toFixed(1)}x`;
  const secs = (t: number | undefined): string => t === undefined ? "-" : t.toFixed(2);
  process.stdout.write(`default guest, -smp ${smp}; shell loop: ${loop} iterations of i=$((i+1)); the fastest boot of ${repeat}\n`);
  const count = (n: number | undefined): string => n === undefined ? "-" : `${(n / 1e6).toFixed(1)} M`;
  process.stdout.write(`guest instructions (counted by ${counter?.name ?? "no translator run"}): boot ${count(bootInsns)}, ` +
    `shell loop ${count(loopInsns)}\n`);
  process.stdout.write("| emulator | boot to shell s | / qemu | boot MIPS | shell loop s | / qemu | loop MIPS | RSS at prompt MiB |\n" +
    "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const [name, r] of rows) {
    const rss = r.rssKiB === undefined ? "-" : (r.rssKiB / 1024).toFixed(0);
    process.stdout.write(`| ${name} | ${secs(r.boot)} | ${ratio(r.boot, q.boot)} | ${mips(bootInsns, r.boot)} | ` +
      `${secs(r.loop)} | ${ratio(r.loop, q.loop)} | ${mips(loopInsns, r.loop)} | ${rss} |\n`);
  }
  for (const [name, r] of rows) if (r.tcg !== undefined) process.stdout.write(`${name}: ${r.tcg}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`boot-time: ${(e as Error).message}\n`);
  process.exit(1);
});
