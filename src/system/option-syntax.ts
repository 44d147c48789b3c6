/**
 * QEMU's option syntax, shared by the command line and the library: the
 * key=value lists of -device, -netdev, -nic, -drive and -m's sizes.  Errors
 * are OptionError with one line that names the option.
 */

export class OptionError extends Error {}

export interface DeviceOption {
  driver: string;
  props: Map<string, string>;
  /** The option's text, for messages. */
  spec: string;
}

/** -netdev TYPE,id=ID,... */
export interface NetdevOption {
  type: string;
  id?: string;
  /** The options after TYPE (id included). */
  options: Map<string, string>;
  /** The same in order, repeats kept (hostfwd=), without type, id, and -nic's model and mac. */
  list: [string, string][];
  /** The option's argument as given ("user,id=n0"). */
  arg: string;
  /** The option with its name ("-netdev user,id=n0"), for messages. */
  spec: string;
}

/** -nic TYPE[,model=..][,mac=..][,backend options]: a netdev and a NIC joined to it. */
export interface NicOption {
  netdev: NetdevOption;
  model?: string;
  mac?: string;
  /** The option's argument as given ("user,model=virtio-net-pci"). */
  arg: string;
  /** The option with its name ("-nic user,..."), for messages. */
  spec: string;
}

/** Where a character device's bytes go: a terminal, nothing, or a listening socket. */
const MiB = 1024 * 1024;

/** QEMU's size syntax: a number with an optional K/M/G/T suffix; no suffix means MiB for -m. */
export function parseRamSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)(?:i?[bB])?$/.exec(text.trim());
  if (m === null) throw new OptionError(`-m ${text}: invalid RAM size (expected e.g. 256M or 1G)`);
  const n = Number(m[1]);
  const unit = m[2].toUpperCase();
  const bytes = n * (unit === "K" ? 1024 : unit === "G" ? 1024 * MiB : unit === "T" ? 1024 * 1024 * MiB : MiB);
  return Math.floor(bytes / 4096) * 4096;
}

/**
 * Split "a,b=c,d=e" into key=value pairs in order (a bare first value under
 * `implied` when given; other bare keys mean "on"); repeated keys stay.
 */
export function parseKeyValueList(text: string, implied?: string): [string, string][] {
  const list: [string, string][] = [];
  // QEMU escapes a comma in a value by doubling it.
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== ",") cur += text[i];
    else if (text[i + 1] === ",") { cur += ","; i++; }
    else { parts.push(cur); cur = ""; }
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    if (p === "") return;
    const eq = p.indexOf("=");
    if (eq < 0) list.push(i === 0 && implied !== undefined ? [implied, p] : [p, "on"]);
    else list.push([p.slice(0, eq), p.slice(eq + 1)]);
  });
  return list;
}

/** As parseKeyValueList, the last of a repeated key winning. */
export function parseKeyValues(text: string, implied?: string): Map<string, string> {
  return new Map(parseKeyValueList(text, implied));
}

/** on/off (and QEMU's other spellings) for `key`; false when absent. */
export function onOff(opt: string, key: string, v: string | undefined): boolean {
  if (v === undefined) return false;
  if (v === "on" || v === "true" || v === "yes") return true;
  if (v === "off" || v === "false" || v === "no") return false;
  throw new OptionError(`${opt}: ${key}=${v}: expected on or off`);
}

/** -device DRIVER,prop=value,... */
export function parseDeviceSpec(arg: string): DeviceOption {
  const kv = parseKeyValues(arg, "driver");
  const driver = kv.get("driver") ?? "";
  kv.delete("driver");
  return { driver, props: kv, spec: arg };
}

/** -netdev TYPE,id=ID,... */
export function parseNetdevSpec(arg: string): NetdevOption {
  const kv = parseKeyValues(arg, "type");
  const type = kv.get("type") ?? "";
  kv.delete("type");
  const list = parseKeyValueList(arg, "type").filter(([k]) => k !== "type" && k !== "id");
  return { type, id: kv.get("id"), options: kv, list, arg, spec: `-netdev ${arg}` };
}

/** -nic TYPE[,model=..][,mac=..][,...]; undefined for -nic none. */
export function parseNicSpec(arg: string): NicOption | undefined {
  const kv = parseKeyValues(arg, "type");
  const type = kv.get("type") ?? "";
  kv.delete("type");
  if (type === "none") return undefined;
  const model = kv.get("model");
  const mac = kv.get("mac");
  kv.delete("model");
  kv.delete("mac");
  const list = parseKeyValueList(arg, "type").filter(([k]) => !["type", "id", "model", "mac"].includes(k));
  return { netdev: { type, id: kv.get("id"), options: kv, list, arg, spec: `-nic ${arg}` }, model, mac, arg, spec: `-nic ${arg}` };
}

/** -object iothread,id=ID[,poll-max-ns=N,...]: the one object type tsemu has. */
export interface IothreadOption {
  id: string;
  /** QEMU's tuning properties as given, by name (query-iothreads reports them; the worker does not poll). */
  settings: Map<string, number>;
  /** The option with its name, for messages. */
  spec: string;
}

/** The iothread properties QEMU 7.2 takes, each an int64, with its default (QEMU's query-iothreads shows them). */
export const IOTHREAD_PROPS: ReadonlyMap<string, number> = new Map([
  ["aio-max-batch", 0], ["poll-grow", 0], ["poll-max-ns", 32768], ["poll-shrink", 0], ["thread-pool-max", 64], ["thread-pool-min", 0],
]);

/** QEMU's rule for ids: letters, digits, '-', '.', '_', starting with a letter. */
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** -object TYPE,id=ID,...: errors as QEMU's. */
export function parseObjectSpec(arg: string): IothreadOption {
  const spec = `-object ${arg}`;
  const kv = parseKeyValues(arg, "qom-type");
  const type = kv.get("qom-type") ?? "";
  if (type !== "iothread") throw new OptionError(`${spec}: Parameter 'qom-type' does not accept value '${type}' (tsemu has iothread)`);
  const id = kv.get("id");
  if (id === undefined) throw new OptionError(`${spec}: Parameter 'id' is missing`);
  if (!IDENTIFIER.test(id)) {
    throw new OptionError(`${spec}: Parameter 'id' expects an identifier (letters, digits, '-', '.', '_', starting with a letter)`);
  }
  const settings = new Map<string, number>();
  for (const [k, v] of kv) {
    if (k === "qom-type" || k === "id") continue;
    if (!IOTHREAD_PROPS.has(k)) throw new OptionError(`${spec}: Invalid parameter '${k}'`);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new OptionError(`${spec}: Parameter '${k}' expects an int64 value`);
    settings.set(k, Number(v));
  }
  return { id, settings, spec };
}

/** -object help and -object iothread,help, as QEMU lists them (the types and properties tsemu has). */
export function objectHelp(arg: string): string | undefined {
  if (arg === "help" || arg === "?") return "List of user creatable objects:\n  iothread\n";
  const kv = parseKeyValues(arg, "qom-type");
  if (kv.get("qom-type") !== "iothread" || !kv.has("help")) return undefined;
  return ["iothread options:", ...[...IOTHREAD_PROPS.keys()].map((k) => `  ${k}=<int>`)].join("\n") + "\n";
}
