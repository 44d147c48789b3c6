/**
 * 4 KiB direct I/O in the guest: bench/guest/iobench.c, cross-compiled here
 * (riscv64, static), runs in the default guest (Linux + BusyBox initramfs)
 * on a virtio-blk-pci disk, raw and then qcow2, under qemu-system-riscv64
 * and tsemu-system-riscv64 in the same run: sequential writes (then
 * fdatasync) and reads over BENCH_MIB MiB, then random writes (then
 * fdatasync) and reads of single blocks.  Times are taken in the guest
 * (CLOCK_MONOTONIC around each phase), so boot and the console are not in
 * them.  Run through bench/disk-io.sh.
 *
 * The program reaches the guest on a second drive: a raw image holding the
 * binary at offset 0, read back with head -c and checked with sha256sum (the
 * initramfs stays as it is).  The data disk is the first -drive (/dev/vda),
 * the program's the second (/dev/vdb); both sizes are checked in the guest
 * before the run.  Every image is fresh for each emulator and format
 * (qemu-img create), cache=writeback (both emulators' default: a guest
 * flush reaches the host file).
 *
 * usage: node dist/bench/disk-io.js IMAGE INITRD
 * Environment: QEMU_SYSTEM, TSEMU_SYSTEM, QEMU_IMG (default qemu-img),
 * RISCV_CC (default riscv64-linux-gnu-gcc), BENCH_MIB (region of the
 * sequential phases, default 64), BENCH_RAND_WRITES (default 32768),
 * BENCH_RAND_READS (default 32768), BENCH_SEED (default 1),
 * BENCH_FORMATS (default "raw qcow2").
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, shell } from "../test/util/console.js";
import { repoRoot } from "../test/util/env.js";

const PROMPT = "tsemu# ";
const STEP_MS = 1_200_000;
const CACHE_MODE = "writeback";
/** Room on the data disk past the region, so its size tells it apart from the program's disk. */
const SPARE_MIB = 16;

const PHASES = ["seq-write", "seq-read", "rand-write", "rand-read"] as const;
type Phase = (typeof PHASES)[number];
const FORMATS = ["raw", "qcow2"] as const;
type Format = (typeof FORMATS)[number];

interface PhaseResult {
  ops: number;
  bytes: number;
  seconds: number;
}
type Result = Record<Phase, PhaseResult>;

interface Settings {
  image: string;
  initrd: string;
  mib: number;
  randWrites: number;
  randReads: number;
  seed: number;
  qemuImg: string;
}

/** iobench on its disk image. */
interface Program {
  /** The raw image: the binary from offset 0, then zeros. */
  file: string;
  /** The image's size in bytes. */
  size: number;
  /** The binary's length and SHA-256. */
  length: number;
  sha256: string;
}

/** A mistake in the command line or the environment: reported as one line, exit status 2. */
class UsageError extends Error {}

function positiveInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${name} must be a positive integer, not '${text}'`);
  }
  return Number(text);
}

function formatsFromEnv(): Format[] {
  const text = process.env.BENCH_FORMATS ?? FORMATS.join(" ");
  const words = text.split(/[\s,]+/).filter((w) => w !== "");
  if (words.length === 0) throw new UsageError(`BENCH_FORMATS names no format (expected some of: ${FORMATS.join(", ")})`);
  const out: Format[] = [];
  for (const w of words) {
    const f = FORMATS.find((known) => known === w);
    if (f === undefined) throw new UsageError(`BENCH_FORMATS: unknown format '${w}' (expected some of: ${FORMATS.join(", ")})`);
    if (!out.includes(f)) out.push(f);
  }
  return out;
}

/** Runs a host tool to completion; throws with its stderr when it cannot run or fails. */
function run(argv: readonly string[], what: string): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.error !== undefined) throw new Error(`cannot run ${argv[0]} (${what}): ${r.error.message}`);
  if (r.status !== 0) {
    const why = r.status === null ? `signal ${String(r.signal)}` : `exit status ${r.status}`;
    const said = (r.stderr + r.stdout).trim();
    throw new Error(`${argv[0]} failed (${what}, ${why})${said === "" ? "" : `: ${said}`}`);
  }
}

/** Compiles iobench.c into `dir`; returns the binary's path. */
function buildIobench(root: string, dir: string): string {
  const cc = process.env.RISCV_CC ?? "riscv64-linux-gnu-gcc";
  const out = path.join(dir, "iobench");
  run([cc, "-O2", "-static", "-Wall", "-o", out, path.join(root, "bench", "guest", "iobench.c")], "building bench/guest/iobench.c");
  return out;
}

/** A raw image holding `program` from offset 0, padded with zeros to whole MiB. */
function programDisk(program: Buffer, file: string): number {
  const size = Math.ceil(program.length / (1 << 20)) << 20;
  fs.writeFileSync(file, program);
  fs.truncateSync(file, size);
  return size;
}

const LINE = /^(seq-write|seq-read|rand-write|rand-read) ops=(\d+) bytes=(\d+) seconds=(\d+(?:\.\d+)?)$/;

function parseResult(out: string, what: string): Result {
  const found: Partial<Result> = {};
  for (const line of out.split("\n")) {
    const m = LINE.exec(line.trim());
    if (m === null) continue;
    found[m[1] as Phase] = { ops: Number(m[2]), bytes: Number(m[3]), seconds: Number(m[4]) };
  }
  const result = {} as Result;
  for (const phase of PHASES) {
    const r = found[phase];
    if (r === undefined) throw new Error(`${what}: iobench printed no ${phase} line:\n${out}`);
    if (!(r.seconds > 0)) throw new Error(`${what}: ${phase} took ${r.seconds} s, too short to measure; raise the op counts`);
    result[phase] = r;
  }
  return result;
}

async function measure(emu: string, format: Format, program: Program, s: Settings,
  dir: string): Promise<Result> {
  const what = `${path.basename(emu)}, ${format}`;
  const disk = path.join(dir, `data.${format}`);
  const diskMib = s.mib + SPARE_MIB;
  fs.rmSync(disk, { force: true });
  run([s.qemuImg, "create", "-q", "-f", format, disk, `${diskMib}M`], `creating the ${format} data disk`);
  const c = new Console([emu, "-M", "virt", "-m", "256M", "-nographic", "-kernel", s.image, "-initrd", s.initrd,
    "-append", "console=ttyS0",
    "-drive", `file=${disk},format=${format},if=virtio,cache=${CACHE_MODE}`,
    "-drive", `file=${program.file},format=raw,if=virtio,readonly=on`]);
  try {
    await c.expect(PROMPT, STEP_MS);
    const sizes = (await shell(c, "cat /sys/block/vda/size /sys/block/vdb/size", PROMPT, STEP_MS)).trim().split(/\s+/);
    const want = [String(diskMib * 2048), String(program.size / 512)];
    if (sizes.join(" ") !== want.join(" ")) {
      throw new Error(`${what}: /dev/vda and /dev/vdb hold ${sizes.join(" and ")} sectors, not ${want.join(" and ")} ` +
        "(the data disk and the program's disk in -drive order)");
    }
    const copied = await shell(c, `head -c ${program.length} /dev/vdb > /tmp/iobench && chmod +x /tmp/iobench ` +
      "&& sha256sum /tmp/iobench", PROMPT, STEP_MS);
    if (!copied.includes(program.sha256)) throw new Error(`${what}: the copy of iobench in the guest differs:\n${copied}`);
    const out = await shell(c, `/tmp/iobench -m ${s.mib} -w ${s.randWrites} -r ${s.randReads} -s ${s.seed} /dev/vda; ` +
      "echo iobench-status=$?", PROMPT, STEP_MS);
    if (!out.includes("iobench-status=0")) throw new Error(`${what}: iobench failed in the guest:\n${out.trim()}`);
    c.send("poweroff\n");
    await c.waitExit(120_000);
    return parseResult(out.replace(/\r/g, ""), what);
  } finally {
    c.kill();
    fs.rmSync(disk, { force: true });
  }
}

async function main(): Promise<void> {
  const [image, initrd, ...rest] = process.argv.slice(2);
  if (image === undefined || initrd === undefined || rest.length > 0) {
    throw new UsageError("usage: node dist/bench/disk-io.js IMAGE INITRD");
  }
  for (const f of [image, initrd]) if (!fs.existsSync(f)) throw new UsageError(`no such file: ${f}`);
  const root = repoRoot(import.meta.url);
  const s: Settings = {
    image, initrd,
    mib: positiveInt("BENCH_MIB", 64),
    randWrites: positiveInt("BENCH_RAND_WRITES", 32768),
    randReads: positiveInt("BENCH_RAND_READS", 32768),
    seed: positiveInt("BENCH_SEED", 1),
    qemuImg: process.env.QEMU_IMG ?? "qemu-img",
  };
  const formats = formatsFromEnv();
  const qemu = process.env.QEMU_SYSTEM ?? "qemu-system-riscv64";
  const tsemu = process.env.TSEMU_SYSTEM ?? path.join(root, "bin", "tsemu-system-riscv64");

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-disk-io-"));
  try {
    const binary = buildIobench(root, dir);
    const bytes = fs.readFileSync(binary);
    const file = path.join(dir, "program.raw");
    const program: Program = { file, size: programDisk(bytes, file), length: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex") };
    const results: { format: Format; q: Result; t: Result }[] = [];
    for (const format of formats) {
      process.stderr.write(`disk-io: ${format}: qemu-system-riscv64\n`);
      const q = await measure(qemu, format, program, s, dir);
      process.stderr.write(`disk-io: ${format}: tsemu-system-riscv64\n`);
      const t = await measure(tsemu, format, program, s, dir);
      results.push({ format, q, t });
    }
    const iops = (r: PhaseResult): string => (r.ops / r.seconds).toFixed(0);
    process.stdout.write(`virtio-blk-pci, cache=${CACHE_MODE}, O_DIRECT 4 KiB; sequential over ${s.mib} MiB ` +
      `(${s.mib * 256} ops), ${s.randWrites} random writes, ${s.randReads} random reads (seed ${s.seed})\n`);
    process.stdout.write("| format | phase | QEMU IOPS | tsemu IOPS | ratio (tsemu time / QEMU time) |\n| --- | --- | --- | --- | --- |\n");
    for (const { format, q, t } of results) {
      for (const phase of PHASES) {
        process.stdout.write(`| ${format} | ${phase} | ${iops(q[phase])} | ${iops(t[phase])} | ` +
          `${(t[phase].seconds / q[phase].seconds).toFixed(1)}x |\n`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`disk-io: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
