/**
 * A flattened device tree (devicetree specification v0.4, DTB version 17):
 * built as a tree of nodes with properties, then written as one blob.
 * Devices add their own nodes (STYLE.md: a device describes itself).
 */
const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_END = 9;

export class FdtNode {
  readonly children: FdtNode[] = [];
  readonly props: { name: string; value: Uint8Array }[] = [];
  private handle = 0;

  constructor(readonly name: string, private readonly tree: Fdt) {}

  /** The child called `name`, created when missing. */
  child(name: string): FdtNode {
    let c = this.children.find((n) => n.name === name);
    if (c === undefined) {
      c = new FdtNode(name, this.tree);
      this.children.push(c);
    }
    return c;
  }

  /** Set (or replace) a property to raw bytes. */
  bytes(name: string, value: Uint8Array): this {
    const i = this.props.findIndex((p) => p.name === name);
    if (i >= 0) this.props[i] = { name, value };
    else this.props.push({ name, value });
    return this;
  }

  empty(name: string): this {
    return this.bytes(name, new Uint8Array(0));
  }

  /** A list of 32-bit cells. */
  u32(name: string, ...cells: number[]): this {
    const b = new Uint8Array(cells.length * 4);
    const v = new DataView(b.buffer);
    cells.forEach((c, i) => v.setUint32(i * 4, c >>> 0));
    return this.bytes(name, b);
  }

  /** A list of 64-bit values, each as two cells (values must be exact integers below 2^53). */
  u64(name: string, ...values: number[]): this {
    return this.u32(name, ...values.flatMap((x) => [Math.floor(x / 2 ** 32), x >>> 0]));
  }

  str(name: string, s: string): this {
    return this.strs(name, s);
  }

  /** A string list: each string NUL-terminated. */
  strs(name: string, ...list: string[]): this {
    return this.bytes(name, new TextEncoder().encode(list.map((s) => s + "\0").join("")));
  }

  /** The first cell of a property, or undefined when it is absent or shorter than a cell. */
  cell(name: string): number | undefined {
    const v = this.props.find((p) => p.name === name)?.value;
    return v === undefined || v.length < 4 ? undefined : new DataView(v.buffer, v.byteOffset).getUint32(0);
  }

  /** This node's phandle, assigned (and its `phandle` property set) on first use. */
  phandle(): number {
    if (this.handle === 0) {
      this.handle = this.tree.allocPhandle();
      this.u32("phandle", this.handle);
    }
    return this.handle;
  }

  /** The node at a path below this one ("a/b"), or undefined. */
  find(path: string): FdtNode | undefined {
    let n: FdtNode | undefined = this as FdtNode;
    for (const part of path.split("/").filter((p) => p !== "")) {
      n = n?.children.find((c) => c.name === part);
    }
    return n;
  }
}

/** IRQ_TYPE_LEVEL_HIGH of the device-tree interrupt bindings. */
export const IRQ_TYPE_LEVEL_HIGH = 4;

/**
 * The cells that name interrupt source `irq` at the controller `parent`,
 * by its #interrupt-cells: <irq> at a PLIC (1 cell), <irq 4> (level-high)
 * at an APLIC (2 cells).
 */
export function interruptSpecifier(parent: FdtNode, irq: number): number[] {
  return parent.cell("#interrupt-cells") === 2 ? [irq, IRQ_TYPE_LEVEL_HIGH] : [irq];
}

export class Fdt {
  readonly root: FdtNode = new FdtNode("", this);
  private nextPhandle = 1;

  allocPhandle(): number {
    return this.nextPhandle++;
  }

  /** The DTB: header, empty memory reservation map, structure block, strings block. */
  toBlob(bootCpuidPhys = 0): Uint8Array {
    const strings: number[] = [];
    const stringOffsets = new Map<string, number>();
    const enc = new TextEncoder();
    const struct: number[] = [];
    const word = (w: number): void => {
      struct.push((w >>> 24) & 0xff, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff);
    };
    const pad = (): void => {
      while (struct.length % 4 !== 0) struct.push(0);
    };
    const nameOffset = (name: string): number => {
      let off = stringOffsets.get(name);
      if (off === undefined) {
        off = strings.length;
        stringOffsets.set(name, off);
        strings.push(...enc.encode(name), 0);
      }
      return off;
    };
    const emit = (node: FdtNode): void => {
      word(FDT_BEGIN_NODE);
      struct.push(...enc.encode(node.name), 0);
      pad();
      for (const p of node.props) {
        word(FDT_PROP);
        word(p.value.length);
        word(nameOffset(p.name));
        struct.push(...p.value);
        pad();
      }
      for (const c of node.children) emit(c);
      word(FDT_END_NODE);
    };
    emit(this.root);
    word(FDT_END);

    const headerSize = 40;
    const rsvmapOff = headerSize;
    const rsvmapSize = 16; // one terminating {0, 0} entry
    const structOff = rsvmapOff + rsvmapSize;
    const stringsOff = structOff + struct.length;
    const total = stringsOff + strings.length;
    const blob = new Uint8Array(total);
    const v = new DataView(blob.buffer);
    const header = [FDT_MAGIC, total, structOff, stringsOff, rsvmapOff, 17, 16, bootCpuidPhys,
      strings.length, struct.length];
    header.forEach((h, i) => v.setUint32(i * 4, h >>> 0));
    blob.set(struct, structOff);
    blob.set(strings, stringsOff);
    return blob;
  }
}
