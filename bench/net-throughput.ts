/**
 * Network throughput through -netdev user (virtio-net-pci in the default
 * guest, Linux + BusyBox): host-to-guest (the guest's wget of N MiB from an
 * HTTP server on the host's loopback, reached as 10.0.2.2, into a file in
 * the guest's tmpfs), guest-to-host
 * (dd | nc into a TCP sink on the host that checks the byte count), and
 * connection setup (a guest loop of wget fetching a 16-byte file, one TCP
 * connection and one wget process each), under qemu-system-riscv64 (slirp)
 * and tsemu-system-riscv64 in the same run.  Times are taken on the host
 * from the command to the next prompt.  Run through bench/net-bench.sh.
 *
 * usage: node dist/bench/net-throughput.js IMAGE INITRD
 * Environment: QEMU_SYSTEM, TSEMU_SYSTEM, BENCH_MIB (default 32),
 * BENCH_CONNECTIONS (default 100), BENCH_RUNS (transfers each way, the
 * median reported; default 3).
 */
import * as net from "node:net";
import * as path from "node:path";
import { Console, shell } from "../test/util/console.js";
import { repoRoot } from "../test/util/env.js";
import { blobServer } from "../test/util/user-net.js";

const PROMPT = "tsemu# ";
const STEP_MS = 1_200_000;

interface Result {
  /** Seconds for each measurement. */
  download: number;
  upload: number;
  connections: number;
}

/** A TCP server on the loopback that counts what arrives and closes each connection after `bytes`. */
async function sink(bytes: number): Promise<{ port: number; received: () => number; close: () => void }> {
  let received = 0;
  const server = net.createServer((s) => {
    let mine = 0;
    s.on("data", (b: Buffer) => {
      mine += b.length;
      received += b.length;
      if (mine >= bytes) s.end();
    });
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, received: () => received, close: () => server.close() };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(emu: string, nicExtra: string, image: string, initrd: string, mib: number, connections: number,
  runs: number): Promise<Result> {
  const bytes = mib << 20;
  const big = await blobServer(new Uint8Array(bytes).fill(0x5a));
  const small = await blobServer(new Uint8Array(16).fill(0x61));
  const up = await sink(bytes);
  const c = new Console([emu, "-M", "virt", "-m", "256M", "-nographic", "-kernel", image, "-initrd", initrd,
    "-append", "console=ttyS0", "-netdev", "user,id=n0", "-device", `virtio-net-pci,netdev=n0${nicExtra}`]);
  try {
    await c.expect(PROMPT, STEP_MS);
    const lease = await shell(c, "udhcpc -i eth0 -n -q -t 5 >/dev/null 2>&1; ip -4 addr show eth0", PROMPT, STEP_MS);
    if (!lease.includes("10.0.2.15/24")) throw new Error(`${emu}: no DHCP lease:\n${lease}`);
    const timed = async (command: string): Promise<[number, string]> => {
      const start = process.hrtime.bigint();
      const out = await shell(c, command, PROMPT, STEP_MS);
      return [Number(process.hrtime.bigint() - start) / 1e9, out];
    };
    // Into a file, its length checked with stat: a pipe into BusyBox's wc -c would measure
    // wc (it reads byte by byte), not the network.
    // Each transfer runs `runs` times; the median counts (single transfers vary by a third here).
    const downloads: number[] = [];
    const uploads: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [download, got] = await timed(`wget -q -O /tmp/blob http://10.0.2.2:${big.port}/blob; stat -c size=%s /tmp/blob; rm -f /tmp/blob`);
      if (!got.includes(`size=${bytes}`)) throw new Error(`${emu}: the download gave ${got.trim()}, not size=${bytes}`);
      downloads.push(download);
      const [upload] = await timed(`dd if=/dev/zero bs=64k count=${mib * 16} 2>/dev/null | nc 10.0.2.2 ${up.port}`);
      if (up.received() !== bytes * (i + 1)) throw new Error(`${emu}: the host received ${up.received() - bytes * i} of ${bytes} bytes`);
      uploads.push(upload);
    }
    const [conn, loop] = await timed(`i=0; while [ $i -lt ${connections} ] && wget -q -O /dev/null http://10.0.2.2:${small.port}/blob; ` +
      `do i=$((i+1)); done; echo done=$i`);
    if (!loop.includes(`done=${connections}`)) throw new Error(`${emu}: the connection loop stopped: ${loop.trim()}`);
    c.send("poweroff\n");
    await c.waitExit(120_000);
    return { download: median(downloads), upload: median(uploads), connections: conn };
  } finally {
    c.kill();
    await big.close();
    await small.close();
    up.close();
  }
}

async function main(): Promise<void> {
  const [image, initrd] = process.argv.slice(2);
  if (image === undefined || initrd === undefined) {
    process.stderr.write("usage: node dist/bench/net-throughput.js IMAGE INITRD\n");
    process.exit(2);
  }
  const root = repoRoot(import.meta.url);
  const mib = Number(process.env.BENCH_MIB ?? "32");
  const connections = Number(process.env.BENCH_CONNECTIONS ?? "100");
  const runs = Number(process.env.BENCH_RUNS ?? "3");
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`net-throughput: BENCH_RUNS must be a positive integer, not '${process.env.BENCH_RUNS ?? ""}'\n`);
    process.exit(2);
  }
  const qemu = process.env.QEMU_SYSTEM ?? "qemu-system-riscv64";
  const tsemu = process.env.TSEMU_SYSTEM ?? path.join(root, "bin", "tsemu-system-riscv64");
  // QEMU's virtio-net-pci wants an option ROM Debian's qemu-system-misc lacks.
  const q = await measure(qemu, ",romfile=", image, initrd, mib, connections, runs);
  const t = await measure(tsemu, "", image, initrd, mib, connections, runs);
  const mbs = (s: number): string => (mib * 1.048576 / s).toFixed(1);
  const rate = (s: number): string => (connections / s).toFixed(1);
  process.stdout.write(`-netdev user, virtio-net-pci, ${mib} MiB each way (median of ${runs}), ${connections} connections\n`);
  process.stdout.write("| measurement | qemu | tsemu | tsemu time / qemu time |\n| --- | --- | --- | --- |\n");
  process.stdout.write(`| host to guest (wget to a file) MB/s | ${mbs(q.download)} | ${mbs(t.download)} | ${(t.download / q.download).toFixed(1)}x |\n`);
  process.stdout.write(`| guest to host (dd \\| nc) MB/s | ${mbs(q.upload)} | ${mbs(t.upload)} | ${(t.upload / q.upload).toFixed(1)}x |\n`);
  process.stdout.write(`| connections/s (a wget each) | ${rate(q.connections)} | ${rate(t.connections)} | ${(t.connections / q.connections).toFixed(1)}x |\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`net-throughput: ${(e as Error).message}\n`);
  process.exit(1);
});
