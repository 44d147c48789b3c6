/**
 * -blockdev, for the common nesting of a format node over a file node:
 *
 *   -blockdev driver=qcow2,node-name=disk,file.driver=file,file.filename=IMG
 *   -blockdev driver=file,node-name=f,filename=IMG -blockdev driver=qcow2,node-name=disk,file=f
 *   -blockdev '{"driver":"qcow2","node-name":"disk","file":{"driver":"file","filename":"IMG"}}'
 *
 * Each top node becomes a drive with if=none and id=node-name, for
 * -device virtio-blk-device,drive=NODE.  A file node that no format node
 * uses is a raw drive, as QEMU gives the device the file's bytes.
 */
import { OptionError, parseKeyValues, type DriveOption } from "./system-options.js";

interface Node { where: string; kv: Map<string, string> }

/** JSON's nested objects as QEMU's dotted keys. */
function flatten(prefix: string, v: unknown, into: Map<string, string>): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(prefix === "" ? k : `${prefix}.${k}`, x, into);
  } else {
    into.set(prefix, typeof v === "boolean" ? (v ? "on" : "off") : String(v));
  }
}

function parseOne(arg: string): Node {
  const where = `-blockdev ${arg}`;
  let kv: Map<string, string>;
  if (arg.trimStart().startsWith("{")) {
    kv = new Map();
    try {
      flatten("", JSON.parse(arg), kv);
    } catch {
      throw new OptionError(`${where}: invalid JSON`);
    }
  } else {
    kv = parseKeyValues(arg);
  }
  if (!kv.has("driver")) throw new OptionError(`${where}: Parameter 'driver' is missing`);
  if (!kv.has("node-name")) throw new OptionError(`${where}: node-name is required (tsemu attaches -blockdev nodes by name)`);
  return { where, kv };
}

const KNOWN = ["driver", "node-name", "file", "filename", "read-only", "discard", "detect-zeroes", "cache.direct", "cache.no-flush",
  "auto-read-only", "file.driver", "file.filename", "file.node-name", "file.aio", "file.locking", "aio", "locking"];

/** A node's locking= (or file.locking=) value, checked. */
function lockingOf(n: Node | undefined, key: string): DriveOption["locking"] | undefined {
  const v = n?.kv.get(key);
  if (v === undefined || n === undefined) return undefined;
  if (v !== "on" && v !== "off" && v !== "auto") throw new OptionError(`${n.where}: Parameter '${key}' does not accept value '${v}'`);
  return v;
}

export function blockdevDrives(args: string[]): DriveOption[] {
  const nodes = args.map(parseOne);
  const byName = new Map(nodes.map((n) => [n.kv.get("node-name") as string, n]));
  if (byName.size !== nodes.length) throw new OptionError("-blockdev: duplicate node-name");
  const used = new Set<string>();
  for (const n of nodes) {
    const file = n.kv.get("file");
    if (file !== undefined) used.add(file);
  }
  const drives: DriveOption[] = [];
  for (const n of nodes) {
    const name = n.kv.get("node-name") as string;
    const driver = n.kv.get("driver") as string;
    for (const k of n.kv.keys()) if (!KNOWN.includes(k)) throw new OptionError(`${n.where}: property '${k}' is not supported`);
    let path: string | undefined;
    let format: string;
    if (driver === "file") {
      if (used.has(name)) continue;
      path = n.kv.get("filename");
      format = "raw";
    } else if (driver === "raw" || driver === "qcow2") {
      format = driver;
      const file = n.kv.get("file");
      if (file !== undefined) {
        const below = byName.get(file);
        if (below === undefined) throw new OptionError(`${n.where}: Cannot find device='' nor node-name='${file}'`);
        if (below.kv.get("driver") !== "file") throw new OptionError(`${n.where}: file=${file} must be a driver=file node`);
        path = below.kv.get("filename");
      } else {
        if ((n.kv.get("file.driver") ?? "file") !== "file") throw new OptionError(`${n.where}: only file.driver=file is supported`);
        path = n.kv.get("file.filename");
      }
    } else {
      throw new OptionError(`${n.where}: Unknown driver '${driver}' (tsemu has file, raw and qcow2)`);
    }
    if (path === undefined) throw new OptionError(`${n.where}: no file name given (filename= or file.filename=)`);
    const on = (k: string): boolean => ["on", "true", "yes"].includes(n.kv.get(k) ?? "off");
    const detect = n.kv.get("detect-zeroes") ?? "off";
    if (!["off", "on", "unmap"].includes(detect)) throw new OptionError(`${n.where}: invalid detect-zeroes '${detect}'`);
    const locking = lockingOf(n, driver === "file" ? "locking" : "file.locking") ?? lockingOf(byName.get(n.kv.get("file") ?? ""), "locking") ?? "auto";
    drives.push({
      file: path, id: name, format, if: "none", readOnly: on("read-only"), snapshot: false,
      cache: on("cache.no-flush") ? "unsafe" : on("cache.direct") ? "none" : "writeback",
      discard: n.kv.get("discard") === "unmap" ? "unmap" : "ignore", detectZeroes: detect as DriveOption["detectZeroes"],
      locking,
    });
  }
  return drives;
}
