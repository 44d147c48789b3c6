/**
 * Boot-to-shell time of the default guest (Linux + BusyBox initramfs) under
 * qemu-system-riscv64 and tsemu-system-riscv64, measured in the same run,
 * and their ratio.  Run through bench/system-bench.sh (which builds the
 * images when they are not cached).
 *
 * usage: node dist/bench/boot-time.js IMAGE INITRD [repeat]
 * Environment: QEMU_SYSTEM (default qemu-system-riscv64), TSEMU_SYSTEM
 * (default bin/tsemu-system-riscv64), BENCH_SMP (default 1).
 */
import * as path from "node:path";
import { bootToShell } from "./boot-console.js";
import { repoRoot } from "../test/util/env.js";

function bootOnce(emu: string, image: string, initrd: string, smp: string): Promise<number> {
  return bootToShell([emu, "-M", "virt", "-m", "256M", "-smp", smp, "-nographic", "-kernel", image,
    "-initrd", initrd, "-append", "console=ttyS0"], 600_000);
}

async function main(): Promise<void> {
  const [image, initrd, repeatText] = process.argv.slice(2);
  if (image === undefined || initrd === undefined) {
    process.stderr.write("usage: node dist/bench/boot-time.js IMAGE INITRD [repeat]\n");
    process.exit(2);
  }
  const root = repoRoot(import.meta.url);
  const repeat = Number(repeatText ?? "1");
  const smp = process.env.BENCH_SMP ?? "1";
  const qemu = process.env.QEMU_SYSTEM ?? "qemu-system-riscv64";
  const tsemu = process.env.TSEMU_SYSTEM ?? path.join(root, "bin", "tsemu-system-riscv64");
  const best = async (emu: string): Promise<number> => {
    let b = Infinity;
    for (let i = 0; i < repeat; i++) b = Math.min(b, await bootOnce(emu, image, initrd, smp));
    return b;
  };
  const q = await best(qemu);
  const t = await best(tsemu);
  process.stdout.write(`boot to shell (-smp ${smp}): qemu ${q.toFixed(2)} s, tsemu ${t.toFixed(2)} s, ` +
    `tsemu/qemu ${(t / q).toFixed(1)}x (qemu is ${(t / q).toFixed(1)} times faster)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`boot-time: ${(e as Error).message}\n`);
  process.exit(1);
});
