/**
 * Disk throughput in the guest: the default guest (Linux + BusyBox
 * initramfs) writes 64 MiB to a raw disk with dd (conv=fsync), drops its page
 * cache and reads them back, on virtio-mmio (virtio-blk-device), on
 * virtio-blk-pci, and on virtio-blk-pci served by an iothread, under
 * qemu-system-riscv64 and tsemu-system-riscv64 in the same run.  (The
 * default guest has the PLIC: its virtio-blk-pci interrupts are INTx, so an
 * iothread's completions all go through the main thread.)  Times are taken on the host from the command to the next
 * prompt.  Run through bench/disk-bench.sh.
 *
 * usage: node dist/bench/disk-throughput.js IMAGE INITRD
 * Environment: QEMU_SYSTEM, TSEMU_SYSTEM, BENCH_MIB (default 64).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, shell } from "../test/util/console.js";
import { repoRoot } from "../test/util/env.js";

const PROMPT = "tsemu# ";
const STEP_MS = 1_200_000;

interface Result { write: number; read: number }

const TRANSPORTS: Record<string, (disk: string) => string[]> = {
  "virtio-mmio": (disk) => ["-drive", `file=${disk},format=raw,if=none,id=d0`, "-device", "virtio-blk-device,drive=d0"],
  "virtio-blk-pci": (disk) => ["-drive", `file=${disk},format=raw,if=virtio`],
  "virtio-blk-pci,iothread": (disk) => ["-object", "iothread,id=io0", "-drive", `file=${disk},format=raw,if=none,id=d0`,
    "-device", "virtio-blk-pci,drive=d0,iothread=io0"],
};

async function measure(emu: string, image: string, initrd: string, transport: string, mib: number): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-disk-bench-"));
  const disk = path.join(dir, "disk.img");
  fs.writeFileSync(disk, "");
  fs.truncateSync(disk, (mib + 16) << 20);
  const c = new Console([emu, "-M", "virt", "-m", "256M", "-nographic", "-kernel", image, "-initrd", initrd,
    "-append", "console=ttyS0", ...TRANSPORTS[transport](disk)]);
  try {
    await c.expect(PROMPT, STEP_MS);
    const timed = async (command: string): Promise<number> => {
      const start = process.hrtime.bigint();
      await shell(c, command, PROMPT, STEP_MS);
      return Number(process.hrtime.bigint() - start) / 1e9;
    };
    const write = await timed(`dd if=/dev/zero of=/dev/vda bs=1M count=${mib} conv=fsync 2>/dev/null`);
    await shell(c, "sync; echo 3 > /proc/sys/vm/drop_caches", PROMPT, STEP_MS);
    const read = await timed(`dd if=/dev/vda of=/dev/null bs=1M count=${mib} 2>/dev/null`);
    c.send("poweroff\n");
    await c.waitExit(120_000);
    return { write, read };
  } finally {
    c.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [image, initrd] = process.argv.slice(2);
  if (image === undefined || initrd === undefined) {
    process.stderr.write("usage: node dist/bench/disk-throughput.js IMAGE INITRD\n");
    process.exit(2);
  }
  const root = repoRoot(import.meta.url);
  const mib = Number(process.env.BENCH_MIB ?? "64");
  const qemu = process.env.QEMU_SYSTEM ?? "qemu-system-riscv64";
  const tsemu = process.env.TSEMU_SYSTEM ?? path.join(root, "bin", "tsemu-system-riscv64");
  process.stdout.write(`| transport | qemu write MB/s | tsemu write MB/s | qemu read MB/s | tsemu read MB/s | write ratio | read ratio |\n`);
  process.stdout.write(`| --- | --- | --- | --- | --- | --- | --- |\n`);
  for (const transport of Object.keys(TRANSPORTS)) {
    const q = await measure(qemu, image, initrd, transport, mib);
    const t = await measure(tsemu, image, initrd, transport, mib);
    const mbs = (s: number): string => (mib * 1.048576 / s).toFixed(1);
    process.stdout.write(`| ${transport} | ${mbs(q.write)} | ${mbs(t.write)} | ${mbs(q.read)} | ${mbs(t.read)} | ` +
      `${(t.write / q.write).toFixed(1)}x | ${(t.read / q.read).toFixed(1)}x |\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`disk-throughput: ${(e as Error).message}\n`);
  process.exit(1);
});
