/**
 * tsemu-img: create, inspect, check, convert and change disk images, with
 * qemu-img's syntax, output and exit statuses.
 */
import type { BlockImage } from "../block/block.js";
import { backingPath } from "../block/image-file.js";
import { createImageFile, toolPermissions } from "../block/image-lock.js";
import { FORMATS, openImage, probeFormat } from "../block/open.js";
import { checkQcow2, type CheckResult } from "../block/qcow2/check.js";
import { createQcow2, type Qcow2CreateOptions } from "../block/qcow2/create.js";
import { ImageError, INCOMPAT_CORRUPT, INCOMPAT_DIRTY, COMPAT_LAZY_REFCOUNTS, INCOMPAT_EXTL2 } from "../block/qcow2/header.js";
import { Qcow2Image } from "../block/qcow2/qcow2.js";
import { RawImage } from "../block/raw.js";
import { chainLength, commitImage, compareImages, convertImage, rebaseImage } from "../block/tools.js";
import { nodeBlockHost as host } from "../host/image-file.js";
import { VERSION } from "../version.js";
import { fixed2, qemuJson, sizeToStr, snapshotHeader, snapshotLine } from "./img-text.js";

const PROG = "tsemu-img";

/** An error that ends the command with `status` after printing `message`. */
class Fail extends Error {
  constructor(message: string, readonly status = 1) { super(message); }
}

const out = (s: string): void => { process.stdout.write(s); };
const err = (s: string): void => { process.stderr.write(s); };
let quiet = false;
const say = (s: string): void => { if (!quiet) out(s); };

const HELP = `${PROG} version ${VERSION}, a disk image utility like qemu-img
usage: ${PROG} [standard options] command [command options]

Command syntax:
  amend [-f fmt] -o options filename
  check [-f fmt] [--output=ofmt] [-r [leaks | all]] filename
  commit [-f fmt] [-d] filename
  compare [-f fmt] [-F fmt] [-s] filename1 filename2
  convert [-c] [-p] [-f fmt] [-O output_fmt] [-o options] filename output_filename
  create [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]
  info [-f fmt] [--output=ofmt] [--backing-chain] filename
  map [-f fmt] [--output=ofmt] filename
  rebase [-f fmt] [-u] -b backing_file [-F backing_fmt] filename
  resize [-f fmt] [--shrink] filename [+ | -]size
  snapshot [-l | -a snapshot | -c snapshot | -d snapshot] filename

Supported formats: raw qcow2
Images are locked as QEMU locks them (where the native lock module is built); -U shares a read-only image.
`;

interface Parsed {
  flags: Set<string>;
  opts: Map<string, string[]>;
  args: string[];
}

/** getopt-like parsing: `withArg` lists the short and long options that take a value. */
function parse(argv: string[], withArg: string[], known: string[]): Parsed {
  const p: Parsed = { flags: new Set(), opts: new Map(), args: [] };
  const add = (k: string, v: string): void => { p.opts.set(k, [...(p.opts.get(k) ?? []), v]); };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") { p.args.push(...argv.slice(i + 1)); break; }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      if (withArg.includes(name)) {
        const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new Fail(`option '${name}' requires an argument\nTry '${PROG} --help' for more information`);
        add(name, v);
      } else if (known.includes(name)) {
        p.flags.add(name);
      } else {
        throw new Fail(`unrecognized option '${a}'\nTry '${PROG} --help' for more information`);
      }
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const o = `-${a[j]}`;
        if (withArg.includes(o)) {
          const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
          if (v === undefined) throw new Fail(`option requires an argument -- '${a[j]}'\nTry '${PROG} --help' for more information`);
          add(o, v);
          break;
        }
        if (!known.includes(o)) throw new Fail(`invalid option -- '${a[j]}'\nTry '${PROG} --help' for more information`);
        p.flags.add(o);
      }
      continue;
    }
    p.args.push(a);
  }
  if (p.flags.has("-q")) quiet = true;
  return p;
}

const last = (p: Parsed, k: string): string | undefined => p.opts.get(k)?.at(-1);

/** qemu-img sizes: bytes, or a number with k, M, G, T, P, E (powers of 1024). */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkKMGTPE]?)$/.exec(s);
  const units: Record<string, number> = { "": 1, b: 1, k: 2 ** 10, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50, E: 2 ** 60 };
  const v = m === null ? NaN : Math.round(Number(m[1]) * units[m[2]]);
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new Fail("Invalid image size specified. You may use k, M, G, T, P or E suffixes for\n"
      + `${PROG}: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.`);
  }
  return v;
}

/** -o key=value,key=value */
function parseO(list: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of list ?? []) {
    for (const kv of s.split(",")) {
      if (kv === "") continue;
      const eq = kv.indexOf("=");
      m.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? "on" : kv.slice(eq + 1));
    }
  }
  return m;
}

function onOff(k: string, v: string): boolean {
  if (["on", "yes", "true"].includes(v)) return true;
  if (["off", "no", "false"].includes(v)) return false;
  throw new Fail(`Parameter '${k}' expects 'on' or 'off'`);
}

/** How a command opens an image (qemu-img's open flags). */
interface OpenHow {
  readOnly: boolean;
  /** Without the backing chain (BDRV_O_NO_BACKING). */
  noBacking?: boolean;
  /** For check -r: open a corrupt image for writing. */
  forRepair?: boolean;
  /** Flush between dependent metadata writes (off for a convert target). */
  barriers?: boolean;
  /** The command changes the image's size (BDRV_O_RESIZE). */
  resize?: boolean;
  /** -U, --force-share: leave the image to other users, even writers (read-only opens only). */
  forceShare?: boolean;
}

/** -U or --force-share given. */
const forceShare = (p: Parsed): boolean => p.flags.has("-U") || p.flags.has("--force-share");

function open(path: string, format: string | undefined, how: OpenHow): BlockImage {
  if (format !== undefined && !FORMATS.includes(format)) throw new Fail(`Unknown file format '${format}'`);
  const { readOnly, noBacking, forRepair, barriers } = how;
  if (how.forceShare === true && !readOnly) throw new Fail(`Could not open '${path}': force-share=on can only be used with read-only images`);
  try {
    return openImage(host, path, {
      format, readOnly, noBacking, forRepair, barriers, forceShare: how.forceShare, warn: (w) => err(`${w}\n`),
      user: toolPermissions(!readOnly, how.resize === true),
    });
  } catch (e) {
    const msg = (e as Error).message;
    throw new Fail(msg.startsWith("Could not open") && !msg.startsWith("Could not open backing file") ? msg : `Could not open '${path}': ${msg}`);
  }
}

// ---- create ----

function cmdCreate(argv: string[]): number {
  const p = parse(argv, ["-f", "-b", "-F", "-o"], ["-q", "-u"]);
  const fmt = last(p, "-f") ?? "raw";
  if (!FORMATS.includes(fmt)) throw new Fail(`${p.args[0] ?? ""}: Unknown file format '${fmt}'`);
  if (p.args.length < 1) throw new Fail(`Expecting image file name\nTry '${PROG} --help' for more information`);
  const o = parseO(p.opts.get("-o"));
  const path = p.args[0];
  const backing = last(p, "-b") ?? o.get("backing_file") ?? "";
  const backingFmt = last(p, "-F") ?? o.get("backing_fmt") ?? "";
  let size: number | undefined = p.args[1] !== undefined ? parseSize(p.args[1]) : o.has("size") ? parseSize(o.get("size") ?? "") : undefined;
  if (backing !== "") {
    if (fmt !== "qcow2") throw new Fail(`${path}: Backing file not supported for file format '${fmt}'`);
    if (backingFmt === "") throw new Fail(`${path}: Backing file specified without backing format (name it with -F)`);
    if (size === undefined || !p.flags.has("-u")) {
      try {
        // As qemu-img, the backing image is read with everything shared (it may be in use).
        const b = openImage(host, backingPath(host, path, backing), {
          format: backingFmt, readOnly: true, forceShare: true, user: toolPermissions(false, false),
        });
        size ??= b.size;
        b.close();
      } catch (e) {
        if (size === undefined || !p.flags.has("-u")) {
          throw new Fail(`${path}: ${(e as Error).message.replace(/^Could not open '[^']*': Could not open/, "Could not open")}\nCould not open backing image.`);
        }
      }
    }
  }
  if (size === undefined) throw new Fail(`${path}: Image creation needs a size parameter`);
  const known = fmt === "qcow2"
    ? ["cluster_size", "compat", "preallocation", "lazy_refcounts", "refcount_bits", "extended_l2", "backing_file", "backing_fmt", "size", "compression_type"]
    : ["preallocation", "size"];
  for (const k of o.keys()) if (!known.includes(k)) throw new Fail(`Invalid parameter '${k}'`);
  if (fmt === "raw") {
    const prealloc = o.get("preallocation") ?? "off";
    if (!["off", "falloc", "full"].includes(prealloc)) throw new Fail(`${path}: Invalid parameter '${prealloc}'`);
    say(`Formatting '${path}', fmt=raw size=${size}${prealloc !== "off" ? ` preallocation=${prealloc}` : ""}\n`);
    let f;
    try {
      f = createImageFile(host, path);
    } catch (e) {
      throw new Fail(`${path}: ${(e as Error).message}`);
    }
    if (prealloc === "full") {
      const zeros = new Uint8Array(1 << 20);
      for (let at = 0; at < size; at += zeros.length) f.write(at, zeros.subarray(0, Math.min(zeros.length, size - at)));
    }
    f.truncate(size);
    f.close();
    return 0;
  }
  const compat = o.get("compat") ?? "1.1";
  if (!["0.10", "1.1", "v2", "v3"].includes(compat)) throw new Fail(`${path}: Invalid parameter '${compat}'`);
  const prealloc = o.get("preallocation") ?? "off";
  if (prealloc !== "off" && prealloc !== "metadata" && prealloc !== "falloc" && prealloc !== "full") {
    throw new Fail(`${path}: Invalid parameter '${prealloc}'`);
  }
  if (o.has("compression_type") && o.get("compression_type") !== "zlib") throw new Fail(`${path}: compression type zstd is not supported by tsemu`);
  const c: Qcow2CreateOptions = {
    size, clusterSize: parseSize(o.get("cluster_size") ?? "65536"), version: compat === "0.10" || compat === "v2" ? 2 : 3,
    backingFile: backing, backingFormat: backingFmt, lazyRefcounts: onOff("lazy_refcounts", o.get("lazy_refcounts") ?? "off"),
    refcountBits: Number(o.get("refcount_bits") ?? "16"), extendedL2: onOff("extended_l2", o.get("extended_l2") ?? "off"),
    preallocation: prealloc,
  };
  if (backing !== "" && c.preallocation !== "off") throw new Fail(`${path}: Backing file and preallocation can only be used at the same time if extended_l2 is on`);
  const parts = [`fmt=qcow2 cluster_size=${c.clusterSize} extended_l2=${c.extendedL2 ? "on" : "off"}`];
  if (prealloc !== "off") parts.push(`preallocation=${prealloc}`);
  parts.push(`compression_type=zlib size=${size}`);
  if (backing !== "") parts.push(`backing_file=${backing} backing_fmt=${backingFmt}`);
  if (o.has("compat")) parts.push(`compat=${compat}`);
  parts.push(`lazy_refcounts=${c.lazyRefcounts ? "on" : "off"} refcount_bits=${c.refcountBits}`);
  say(`Formatting '${path}', ${parts.join(" ")}\n`);
  try {
    createQcow2(host, path, c);
  } catch (e) {
    throw new Fail(`${path}: ${(e as Error).message}`);
  }
  return 0;
}

// ---- info ----

interface InfoRecord { human: string; json: Record<string, unknown> }

function imageInfo(img: BlockImage, path: string): InfoRecord {
  const file = img instanceof Qcow2Image ? img.file : (img as RawImage).hostFile;
  const actual = file.allocatedBytes();
  const lines = [`image: ${path}`, `file format: ${img.format}`, `virtual size: ${sizeToStr(img.size)} (${img.size} bytes)`, `disk size: ${sizeToStr(actual)}`];
  if (!(img instanceof Qcow2Image)) {
    return { human: `${lines.join("\n")}\n`, json: { "virtual-size": img.size, filename: path, format: img.format, "actual-size": actual, "dirty-flag": false } };
  }
  const h = img.header;
  lines.push(`cluster_size: ${img.clusterSize}`);
  const json: Record<string, unknown> = {};
  if (h.backingFile !== "" && h.backingFormat !== "") json["backing-filename-format"] = h.backingFormat;
  if (img.snapshots.length > 0) {
    json.snapshots = img.snapshots.map((s) => ({
      icount: s.icount < 0 ? undefined : s.icount, "vm-clock-nsec": s.vmClockNsec % 1e9, name: s.name, "date-sec": s.dateSec,
      "date-nsec": s.dateNsec, "vm-clock-sec": Math.floor(s.vmClockNsec / 1e9), id: s.id, "vm-state-size": s.vmStateSize,
    }));
  }
  Object.assign(json, { "virtual-size": img.size, filename: path, "cluster-size": img.clusterSize, format: "qcow2", "actual-size": actual });
  const v3 = h.version === 3;
  const data: Record<string, unknown> = { compat: v3 ? "1.1" : "0.10", "compression-type": "zlib" };
  if (v3) data["lazy-refcounts"] = (h.compatible & COMPAT_LAZY_REFCOUNTS) !== 0;
  data["refcount-bits"] = 2 ** h.refcountOrder;
  if (v3) { data.corrupt = (h.incompatible & INCOMPAT_CORRUPT) !== 0; data["extended-l2"] = (h.incompatible & INCOMPAT_EXTL2) !== 0; }
  json["format-specific"] = { type: "qcow2", data };
  if (h.backingFile !== "") {
    const full = backingPath(host, path, h.backingFile);
    json["full-backing-filename"] = full;
    json["backing-filename"] = h.backingFile;
    lines.push(`backing file: ${h.backingFile}${full !== h.backingFile ? ` (actual path: ${full})` : ""}`);
    if (h.backingFormat !== "") lines.push(`backing file format: ${h.backingFormat}`);
  }
  const dirty = (h.incompatible & INCOMPAT_DIRTY) !== 0;
  json["dirty-flag"] = dirty;
  if (dirty) lines.push("cleanly shut down: no");
  if (img.snapshots.length > 0) {
    lines.push("Snapshot list:", snapshotHeader(), ...img.snapshots.map(snapshotLine));
  }
  lines.push("Format specific information:", `    compat: ${data.compat as string}`, "    compression type: zlib");
  if (v3) lines.push(`    lazy refcounts: ${String(data["lazy-refcounts"])}`);
  lines.push(`    refcount bits: ${2 ** h.refcountOrder}`);
  if (v3) lines.push(`    corrupt: ${String(data.corrupt)}`, `    extended l2: ${String(data["extended-l2"])}`);
  return { human: `${lines.join("\n")}\n`, json };
}

function cmdInfo(argv: string[]): number {
  const p = parse(argv, ["-f", "--output", "--object", "--image-opts"], ["-q", "-U", "--force-share", "--backing-chain"]);
  if (p.args.length !== 1) throw new Fail(`Expecting one image file name\nTry '${PROG} --help' for more information`);
  const json = last(p, "--output") === "json";
  if (!json && (last(p, "--output") ?? "human") !== "human") throw new Fail(`--output must be used with human or json as argument.`);
  const chain = p.flags.has("--backing-chain");
  const records: InfoRecord[] = [];
  let path = p.args[0];
  let fmt = last(p, "-f");
  const seen = new Set<string>();
  for (;;) {
    const img = open(path, fmt, { readOnly: true, noBacking: true, forceShare: forceShare(p) });
    try {
      const id = host.identity(img instanceof Qcow2Image ? img.file : (img as RawImage).hostFile);
      if (seen.has(id)) throw new Fail(`Backing file '${path}' creates an infinite loop.`);
      seen.add(id);
      records.push(imageInfo(img, path));
      if (!chain || !(img instanceof Qcow2Image) || img.header.backingFile === "") break;
      fmt = img.header.backingFormat === "" ? undefined : img.header.backingFormat;
      path = backingPath(host, path, img.header.backingFile);
    } finally {
      img.close();
    }
  }
  if (json) out(`${qemuJson(chain ? records.map((r) => r.json) : records[0].json)}\n`);
  else out(records.map((r) => r.human).join("\n"));
  return 0;
}

// ---- check ----

function printCheck(r: CheckResult, path: string, json: boolean): void {
  if (json) {
    // qemu-img's key order; counts that are zero are left out, as it does.
    const o: Record<string, unknown> = {
      "image-end-offset": r.imageEndOffset || undefined, "compressed-clusters": r.compressedClusters || undefined,
      "total-clusters": r.totalClusters, "check-errors": r.checkErrors, leaks: r.leaks || undefined,
      "leaks-fixed": r.leaksFixed || undefined, corruptions: r.corruptions || undefined,
      "corruptions-fixed": r.corruptionsFixed || undefined, "allocated-clusters": r.allocatedClusters || undefined, filename: path, format: "qcow2",
      "fragmented-clusters": r.fragmentedClusters || undefined,
    };
    out(`${qemuJson(o)}\n`);
    return;
  }
  if (r.corruptions === 0 && r.leaks === 0 && r.checkErrors === 0) {
    say("No errors were found on the image.\n");
  } else {
    if (r.corruptions > 0) say(`\n${r.corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.\n`);
    if (r.leaks > 0) say(`\n${r.leaks} leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n`);
    if (r.checkErrors > 0) say(`\n${r.checkErrors} internal errors have occurred during the check.\n`);
  }
  if (r.totalClusters !== 0 && r.allocatedClusters !== 0) {
    const pct = (n: number, d: number): string => fixed2(n * 100 / d);
    say(`${r.allocatedClusters}/${r.totalClusters} = ${pct(r.allocatedClusters, r.totalClusters)}% allocated, `
      + `${pct(r.fragmentedClusters, r.allocatedClusters)}% fragmented, ${pct(r.compressedClusters, r.allocatedClusters)}% compressed clusters\n`);
  }
  if (r.imageEndOffset !== 0) say(`Image end offset: ${r.imageEndOffset}\n`);
}

function cmdCheck(argv: string[]): number {
  const p = parse(argv, ["-f", "-r", "--output", "-T", "--object"], ["-q", "-U", "--force-share", "--image-opts"]);
  if (p.args.length !== 1) throw new Fail(`Expecting one image file name\nTry '${PROG} --help' for more information`);
  const repair = last(p, "-r");
  if (repair !== undefined && repair !== "leaks" && repair !== "all") throw new Fail(`Unknown option value for -r (expecting 'leaks' or 'all'): ${repair}`);
  const json = last(p, "--output") === "json";
  const path = p.args[0];
  // As qemu-img does, the backing chain must open too.
  const img = open(path, last(p, "-f"), { readOnly: repair === undefined, forRepair: true, forceShare: forceShare(p) });
  try {
    if (!(img instanceof Qcow2Image)) throw new Fail("This image format does not support checks", 63);
    // As qemu-img: one pass (repairing with -r), and when it repaired anything a second pass to report what is left.
    let r = checkQcow2(img, repair !== undefined, repair === "all");
    for (const m of r.messages) err(`${m}\n`);
    if (r.failed !== undefined) throw new Fail(`Check failed: ${r.failed}`);
    if (r.leaksFixed > 0 || r.corruptionsFixed > 0) {
      if (!json) say(`The following inconsistencies were found and repaired:\n\n    ${r.leaksFixed} leaked clusters\n    ${r.corruptionsFixed} corruptions\n\nDouble checking the fixed image now...\n`);
      const again = checkQcow2(img);
      for (const m of again.messages) err(`${m}\n`);
      r = { ...again, leaksFixed: r.leaksFixed, corruptionsFixed: r.corruptionsFixed };
    }
    printCheck(r, path, json);
    return r.checkErrors > 0 ? 1 : r.corruptions > 0 ? 2 : r.leaks > 0 ? 3 : 0;
  } finally {
    img.close();
  }
}

// ---- convert ----

function cmdConvert(argv: string[]): number {
  const p = parse(argv, ["-f", "-O", "-o", "-t", "-T", "-m", "-S", "-l", "-B", "-F", "--object", "-r"],
    ["-q", "-c", "-p", "-U", "-n", "-W", "-C", "--force-share", "--image-opts", "--salvage"]);
  if (p.args.length < 2) throw new Fail(`Must specify image file name\nTry '${PROG} --help' for more information`);
  if (p.args.length > 2) throw new Fail("tsemu-img convert takes one source image");
  const [srcPath, dstPath] = p.args;
  const outFmt = last(p, "-O") ?? "raw";
  if (!FORMATS.includes(outFmt)) throw new Fail(`Unknown file format '${outFmt}'`);
  const compress = p.flags.has("-c");
  if (compress && outFmt !== "qcow2") throw new Fail("Compression not supported for this file format");
  const src = open(srcPath, last(p, "-f"), { readOnly: true, forceShare: forceShare(p) });
  try {
    const o = parseO(p.opts.get("-o"));
    const createArgs = ["-q", "-f", outFmt];
    if (o.size > 0) createArgs.push("-o", [...o].map(([k, v]) => `${k}=${v}`).join(","));
    createArgs.push(dstPath, String(src.size));
    const wasQuiet = quiet;
    cmdCreate(createArgs);
    quiet = wasQuiet;
    // Like qemu-img's default cache=unsafe for the output: one flush at the end.
    const dst = open(dstPath, outFmt, { readOnly: false, barriers: false });
    try {
      const progress = p.flags.has("-p") && !quiet;
      if (progress) out("    (0.00/100%)\r");
      convertImage(src, dst, { compress, progress: progress ? (f) => out(`    (${fixed2(f * 100)}/100%)\r`) : undefined });
      if (progress) out("    (100.00/100%)\r\n");
    } finally {
      dst.close();
    }
  } finally {
    src.close();
  }
  return 0;
}

// ---- resize ----

function cmdResize(argv: string[]): number {
  // "-1G" would look like an option: take a leading +/- size off the end first.
  const sizeArg = argv.at(-1) ?? "";
  const p = parse(argv.slice(0, -1), ["-f", "--object", "--preallocation"], ["-q", "--shrink", "--image-opts", "-U"]);
  if (p.args.length !== 1) throw new Fail(`Expecting image file name and size\nTry '${PROG} --help' for more information`);
  const img = open(p.args[0], last(p, "-f"), { readOnly: false, resize: true });
  try {
    const rel = sizeArg.startsWith("+") ? 1 : sizeArg.startsWith("-") ? -1 : 0;
    const n = parseSize(rel === 0 ? sizeArg : sizeArg.slice(1));
    const size = rel === 0 ? n : img.size + rel * n;
    if (size < 0) throw new Fail("New image size must be positive");
    if (size < img.size && !p.flags.has("--shrink")) throw new Fail("Use the --shrink option to perform a shrink operation.");
    if (size < img.size) err(`${PROG}: warning: Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an operation, make sure there is no important data there.\n`);
    if (img instanceof Qcow2Image) {
      if (img.snapshots.length > 0) throw new Fail("Can't resize an image which has snapshots");
      if (size < img.size) img.discardPast(size);
      img.resize(size);
    } else {
      (img as RawImage).resize(size);
    }
    say("Image resized.\n");
  } finally {
    img.close();
  }
  return 0;
}

// ---- snapshot ----

function cmdSnapshot(argv: string[]): number {
  const p = parse(argv, ["-a", "-c", "-d", "-f", "--object"], ["-l", "-q", "-U", "--force-share", "--image-opts"]);
  if (p.args.length !== 1) throw new Fail(`Expecting one image file name\nTry '${PROG} --help' for more information`);
  const ops = ["-a", "-c", "-d"].filter((o) => p.opts.has(o));
  const list = p.flags.has("-l") || ops.length === 0;
  if (ops.length + (p.flags.has("-l") ? 1 : 0) > 1) throw new Fail(`Cannot mix '-l', '-a', '-c', '-d'\nTry '${PROG} --help' for more information`);
  const img = open(p.args[0], last(p, "-f"), { readOnly: list, noBacking: true, forceShare: forceShare(p) });
  try {
    if (!(img instanceof Qcow2Image)) {
      if (list) return 0;
      throw new Fail(`Could not ${ops[0] === "-c" ? "create" : ops[0] === "-a" ? "apply" : "delete"} snapshot '${last(p, ops[0]) ?? ""}': Operation not supported`);
    }
    if (list) {
      if (img.snapshots.length > 0) out(`Snapshot list:\n${snapshotHeader()}\n${img.snapshots.map((s) => `${snapshotLine(s)}\n`).join("")}`);
      return 0;
    }
    const name = last(p, ops[0]) ?? "";
    if (ops[0] === "-c") {
      const now = Date.now();
      img.createSnapshot(name, { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1e6 });
    } else if (ops[0] === "-a") {
      img.applySnapshot(name);
    } else {
      img.deleteSnapshot(name);
    }
  } finally {
    img.close();
  }
  return 0;
}

// ---- map ----

function cmdMap(argv: string[]): number {
  const p = parse(argv, ["-f", "--output", "--object", "--start-offset", "--max-length"], ["-U", "--force-share", "--image-opts"]);
  if (p.args.length !== 1) throw new Fail(`Expecting one image file name\nTry '${PROG} --help' for more information`);
  const json = last(p, "--output") === "json";
  const img = open(p.args[0], last(p, "-f"), { readOnly: true, forceShare: forceShare(p) });
  try {
    const bottom = chainLength(img) - 1;
    const rows: string[] = [];
    if (!json) out(`${"Offset".padEnd(16)}${"Length".padEnd(16)}${"Mapped to".padEnd(16)}File\n`);
    const hx = (n: number): string => (n === 0 ? "0" : `0x${n.toString(16)}`).padEnd(16);
    let prev: { start: number; length: number; depth: number; present: boolean; zero: boolean; data: boolean; offset?: number; file?: string } | null = null;
    const emit = (): void => {
      if (prev === null) return;
      if (json) {
        rows.push(`{ "start": ${prev.start}, "length": ${prev.length}, "depth": ${prev.depth}, "present": ${prev.present}, "zero": ${prev.zero}, "data": ${prev.data}${prev.offset !== undefined ? `, "offset": ${prev.offset}` : ""}}`);
      } else if (prev.data && prev.offset !== undefined) {
        out(`${hx(prev.start)}${hx(prev.length)}${hx(prev.offset)}${prev.file ?? ""}\n`);
      }
    };
    for (let off = 0; off < img.size;) {
      const s = img.blockStatus(off, Math.min(img.size - off, 1 << 30));
      const cur = {
        start: off, length: s.length, depth: s.depth < 0 ? bottom : s.depth, present: s.depth >= 0, zero: s.zero, data: s.data,
        offset: s.hostOffset, file: s.hostFile,
      };
      if (prev !== null && prev.depth === cur.depth && prev.present === cur.present && prev.zero === cur.zero && prev.data === cur.data
        && prev.file === cur.file && (prev.offset === undefined) === (cur.offset === undefined)
        && (prev.offset === undefined || prev.offset + prev.length === cur.offset)) {
        prev.length += cur.length;
      } else {
        emit();
        prev = cur;
      }
      off += s.length;
    }
    emit();
    if (json) out(`[${rows.join(",\n")}]\n`);
  } finally {
    img.close();
  }
  return 0;
}

// ---- compare, commit, rebase, amend ----

function cmdCompare(argv: string[]): number {
  const p = parse(argv, ["-f", "-F", "-T", "--object"], ["-q", "-s", "-p", "-U", "--force-share", "--image-opts"]);
  if (p.args.length !== 2) throw new Fail(`Expecting two image file names\nTry '${PROG} --help' for more information`, 2);
  let a: BlockImage | undefined;
  let b: BlockImage | undefined;
  try {
    try {
      a = open(p.args[0], last(p, "-f"), { readOnly: true, forceShare: forceShare(p) });
      b = open(p.args[1], last(p, "-F") ?? last(p, "-f"), { readOnly: true, forceShare: forceShare(p) });
    } catch (e) {
      throw new Fail((e as Error).message, 2);
    }
    if (p.flags.has("-s") && a.size !== b.size) { say("Strict mode: Image size mismatch!\n"); return 1; }
    const at = compareImages(a, b);
    if (at >= 0) { say(`Content mismatch at offset ${at}!\n`); return 1; }
    say("Images are identical.\n");
    return 0;
  } finally {
    a?.close();
    b?.close();
  }
}

function cmdCommit(argv: string[]): number {
  const p = parse(argv, ["-f", "-t", "-b", "-r", "--object"], ["-q", "-d", "-p", "--image-opts"]);
  if (p.args.length !== 1) throw new Fail(`Expecting one image file name\nTry '${PROG} --help' for more information`);
  const top = open(p.args[0], last(p, "-f"), { readOnly: false, noBacking: true });
  try {
    if (!(top instanceof Qcow2Image) || top.header.backingFile === "") throw new Fail("Image does not have a backing file");
    const h = top.header;
    const base = open(backingPath(host, p.args[0], h.backingFile), h.backingFormat === "" ? undefined : h.backingFormat, { readOnly: false });
    try {
      commitImage(top, base, !p.flags.has("-d"));
    } finally {
      base.close();
    }
    say("Image committed.\n");
  } finally {
    top.close();
  }
  return 0;
}

function cmdRebase(argv: string[]): number {
  const p = parse(argv, ["-f", "-F", "-b", "-t", "-T", "--object"], ["-q", "-u", "-p", "-U", "--image-opts"]);
  if (p.args.length !== 1) throw new Fail(`Expecting one image file name\nTry '${PROG} --help' for more information`);
  const newName = last(p, "-b");
  if (newName === undefined) throw new Fail("Must specify backing file (-b) or use unsafe mode (-u)");
  const path = p.args[0];
  const unsafe = p.flags.has("-u");
  const img = open(path, last(p, "-f"), { readOnly: false, noBacking: true });
  try {
    if (!(img instanceof Qcow2Image)) throw new Fail("Operation not supported: raw images have no backing file");
    let newFmt = last(p, "-F") ?? "";
    if (!unsafe) {
      const h = img.header;
      const oldB = h.backingFile === "" ? null : open(backingPath(host, path, h.backingFile), h.backingFormat === "" ? undefined : h.backingFormat, { readOnly: true, forceShare: forceShare(p) });
      let newB: BlockImage | null = null;
      try {
        if (newName !== "") {
          const newPath = backingPath(host, path, newName);
          newB = open(newPath, newFmt === "" ? undefined : newFmt, { readOnly: true, forceShare: forceShare(p) });
          if (newFmt === "") newFmt = newB.format;
        }
        rebaseImage(img, oldB, newB);
      } finally {
        oldB?.close();
        newB?.close();
      }
    } else if (newName !== "" && newFmt === "") {
      try {
        const f = host.open(backingPath(host, path, newName), true);
        newFmt = probeFormat(f);
        f.close();
      } catch {
        throw new Fail(`Could not open '${newName}': a backing format is needed (-F) when the file cannot be probed`);
      }
    }
    img.setBacking(newName, newFmt);
  } finally {
    img.close();
  }
  return 0;
}

function cmdAmend(argv: string[]): number {
  const p = parse(argv, ["-f", "-o", "-t", "--object"], ["-q", "-p", "--force", "--image-opts"]);
  if (p.args.length !== 1) throw new Fail(`Expecting one image file name\nTry '${PROG} --help' for more information`);
  const o = parseO(p.opts.get("-o"));
  if (o.size === 0) throw new Fail("Must specify options (-o)");
  const img = open(p.args[0], last(p, "-f"), { readOnly: false, noBacking: true });
  try {
    if (!(img instanceof Qcow2Image)) throw new Fail("Format driver 'raw' does not support option amendment");
    for (const [k, v] of o) {
      switch (k) {
        case "lazy_refcounts":
          if (img.header.version < 3) throw new Fail("Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
          img.header.compatible = onOff(k, v) ? img.header.compatible | COMPAT_LAZY_REFCOUNTS : img.header.compatible & ~COMPAT_LAZY_REFCOUNTS;
          break;
        case "backing_file": img.header.backingFile = v; break;
        case "backing_fmt": img.header.backingFormat = v; break;
        case "compat":
          if ((v === "1.1" || v === "v3") !== (img.header.version === 3)) throw new Fail("tsemu-img amend cannot change compat (only lazy_refcounts, backing_file, backing_fmt)");
          break;
        default:
          throw new Fail(`Changing '${k}' is not supported by tsemu-img amend (only lazy_refcounts, backing_file, backing_fmt)`);
      }
    }
    img.writeHeader();
  } finally {
    img.close();
  }
  return 0;
}

const COMMANDS: Record<string, (argv: string[]) => number> = {
  create: cmdCreate, info: cmdInfo, check: cmdCheck, convert: cmdConvert, resize: cmdResize, snapshot: cmdSnapshot,
  map: cmdMap, compare: cmdCompare, commit: cmdCommit, rebase: cmdRebase, amend: cmdAmend,
};

export function main(argv: string[]): number {
  const cmd = argv[0];
  if (cmd === undefined) { err(`${PROG}: Not enough arguments\nTry '${PROG} --help' for more information\n`); return 1; }
  if (cmd === "-h" || cmd === "--help" || cmd === "help") { out(HELP); return 0; }
  if (cmd === "-V" || cmd === "--version") { out(`${PROG} version ${VERSION}\n`); return 0; }
  const run = COMMANDS[cmd];
  if (run === undefined) { err(`${PROG}: Command not found: ${cmd}\nTry '${PROG} --help' for more information\n`); return 1; }
  try {
    return run(argv.slice(1));
  } catch (e) {
    if (e instanceof Fail) { err(`${PROG}: ${e.message}\n`); return e.status; }
    if (e instanceof ImageError || e instanceof RangeError || e instanceof Error) {
      err(`${PROG}: ${e.message}\n`);
      return cmd === "compare" ? 2 : 1;
    }
    err(`${PROG}: ${String(e)}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
