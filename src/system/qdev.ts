/**
 * Device types in QEMU's manner (what qdev gives QEMU): each type declares
 * its name, the bus it plugs into, its category, and typed properties with
 * defaults and help text; `-device` creates devices only through a type,
 * `-device help` and `-device NAME,help` print what QEMU 7.2 prints for the
 * same question, and a bad property gets QEMU's message naming the device,
 * the property and what it accepts.
 *
 * Only properties a device honours are declared: a QEMU property tsemu
 * would ignore is refused as unknown rather than silently dropped.
 */

export type PropType = "str" | "bool" | "uint8" | "uint16" | "uint32" | "int32" | "pci-devfn" | "OnOffAuto" | "link<iothread>";

export interface PropSpec {
  readonly name: string;
  readonly type: PropType;
  readonly description?: string;
  /** The default, as QEMU's help shows it (absent: none shown). */
  readonly default?: string | number | boolean;
}

export type PropValue = string | number | boolean;

/** A device's parsed properties: every declared one with a default, plus those given. */
export class Props {
  constructor(private readonly values: Map<string, PropValue>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === "string" ? v : undefined;
  }

  num(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === "number" ? v : undefined;
  }

  bool(name: string): boolean | undefined {
    const v = this.values.get(name);
    return typeof v === "boolean" ? v : undefined;
  }
}

/** QEMU's device categories, in the order `-device help` lists them. */
export const CATEGORIES = [
  "Controller/Bridge/Hub", "USB", "Storage", "Network", "Input", "Display", "Sound", "Misc", "CPU", "Watchdog",
  "Uncategorized",
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface DeviceType<Ctx, Out> {
  readonly name: string;
  /** The bus it plugs into: "PCI", "virtio-bus", ... */
  readonly bus: string;
  readonly category: Category;
  readonly alias?: string;
  readonly description?: string;
  readonly props: readonly PropSpec[];
  /** Build the device from its properties; throws DeviceError with QEMU's message on a bad combination. */
  realize(props: Props, ctx: Ctx): Out;
}

/** A device that cannot be created as asked: the message is QEMU's, without the option in front. */
export class DeviceError extends Error {}

export class DeviceRegistry<Ctx, Out> {
  private readonly types = new Map<string, DeviceType<Ctx, Out>>();

  register(type: DeviceType<Ctx, Out>): void {
    for (const n of [type.name, type.alias]) {
      if (n !== undefined && this.types.has(n)) throw new Error(`device type ${n} registered twice`);
    }
    this.types.set(type.name, type);
    if (type.alias !== undefined) this.types.set(type.alias, type);
  }

  /** By name or alias. */
  find(name: string): DeviceType<Ctx, Out> | undefined {
    return this.types.get(name);
  }

  /** `-device help`: the types by category, as QEMU lists them. */
  help(): string {
    const unique = [...new Set(this.types.values())];
    const out: string[] = [];
    for (const cat of CATEGORIES) {
      const list = unique.filter((t) => t.category === cat).sort((a, b) => a.name.localeCompare(b.name));
      if (list.length === 0) continue;
      if (out.length > 0) out.push("");
      out.push(`${cat} devices:`);
      for (const t of list) {
        let line = `name "${t.name}", bus ${t.bus}`;
        if (t.alias !== undefined) line += `, alias "${t.alias}"`;
        if (t.description !== undefined) line += `, desc "${t.description}"`;
        out.push(line);
      }
    }
    return out.join("\n") + "\n";
  }

  /** `-device NAME,help`: the properties, as QEMU prints them. */
  typeHelp(type: DeviceType<Ctx, Out>): string {
    const lines = [`${type.name} options:`];
    for (const p of [...type.props].sort((a, b) => a.name.localeCompare(b.name))) {
      lines.push(propHelp(p));
    }
    return lines.join("\n") + "\n";
  }

  /**
   * Parse `-device` properties for `type` (the driver= key already taken
   * out): unknown names and bad values throw DeviceError with QEMU's text.
   */
  parse(type: DeviceType<Ctx, Out>, given: ReadonlyMap<string, string>): Props {
    const values = new Map<string, PropValue>();
    for (const p of type.props) {
      if (p.default !== undefined) values.set(p.name, p.default);
    }
    for (const [k, v] of given) {
      // id= and bus= are every device's (qdev's own), not the type's.
      if (k === "id" || k === "bus") {
        values.set(k, v);
        continue;
      }
      const spec = type.props.find((p) => p.name === k);
      if (spec === undefined) throw new DeviceError(`Property '${type.name}.${k}' not found`);
      values.set(k, parseValue(type.name, spec, v));
    }
    return new Props(values);
  }
}

function propHelp(p: PropSpec): string {
  const head = `  ${p.name}=<${helpType(p.type)}>`;
  const desc = p.description ?? (p.type === "bool" ? "on/off" : p.type === "OnOffAuto" ? "on/off/auto" : "");
  if (desc === "" && p.default === undefined) return head;
  const def = p.default === undefined ? "" : ` (default: ${typeof p.default === "string" ? `"${p.default}"` : String(p.default)})`;
  return `${head.padEnd(24)} - ${desc}${def}`;
}

function helpType(t: PropType): string {
  return t === "pci-devfn" ? "int32" : t;
}

function parseValue(device: string, spec: PropSpec, text: string): PropValue {
  switch (spec.type) {
    case "str": case "link<iothread>": return text;
    case "bool":
      if (text === "on" || text === "true" || text === "yes") return true;
      if (text === "off" || text === "false" || text === "no") return false;
      throw new DeviceError(`Parameter '${spec.name}' expects 'on' or 'off'`);
    case "OnOffAuto":
      if (text === "on" || text === "off" || text === "auto") return text;
      throw new DeviceError(`Parameter '${spec.name}' does not accept value '${text}'`);
    case "uint8":
    case "uint16":
    case "uint32":
    case "int32": {
      const n = parseInteger(text);
      if (n === undefined) throw new DeviceError(`Parameter '${spec.name}' expects integer`);
      const [lo, hi] = spec.type === "uint8" ? [0, 0xff] : spec.type === "uint16" ? [0, 0xffff] : spec.type === "uint32" ? [0, 0xffffffff] : [-(2 ** 31), 2 ** 31 - 1];
      // QEMU's visitor refuses out-of-range 8- and 16-bit values with the C type's name.
      if ((spec.type === "uint8" || spec.type === "uint16") && (n < lo || n > hi)) {
        throw new DeviceError(`Parameter '${spec.name}' expects ${spec.type}_t`);
      }
      if (n < lo || n > hi) {
        throw new DeviceError(`Property ${device}.${spec.name} doesn't take value ${n} (minimum: ${lo}, maximum: ${hi})`);
      }
      return n;
    }
    case "pci-devfn": {
      const devfn = parsePciAddr(text);
      if (devfn === undefined) throw new DeviceError(`Property '${device}.${spec.name}' doesn't take value '${text}'`);
      return devfn;
    }
  }
}

/** Decimal, or 0x hexadecimal, as QEMU's integer visitor. */
function parseInteger(text: string): number | undefined {
  if (/^-?\d+$/.test(text)) return Number(text);
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text, 16);
  return undefined;
}

/** QEMU's PCI addr= : "SLOT" or "SLOT.FN", hexadecimal; the devfn (slot << 3 | fn). */
export function parsePciAddr(text: string): number | undefined {
  const m = /^([0-9a-f]{1,2})(?:\.([0-7]))?$/i.exec(text);
  if (m === null) return undefined;
  const slot = parseInt(m[1], 16);
  if (slot > 31) return undefined;
  return (slot << 3) | (m[2] === undefined ? 0 : Number(m[2]));
}
