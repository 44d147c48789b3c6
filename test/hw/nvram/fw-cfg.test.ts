/**
 * QEMU's fw_cfg on the virt board, driven as Linux's qemu_fw_cfg driver and
 * U-Boot's qfw driver drive it: the selector written big-endian, the data
 * register read as a byte stream, the file directory, and DMA (select, read,
 * skip, write refused, errors).  The expected values are what the same
 * accesses return under qemu-system-riscv64 7.2 -M virt -smp 2.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FW_CFG_CTL, FW_CFG_DATA, FW_CFG_DMA, FwCfg, FwCfgDmaCtl as Ctl, FwCfgKey as Key,
} from "../../../src/hw/nvram/fw-cfg.js";
import type { AccessSize } from "../../../src/hw/core/memory.js";
import { Fdt } from "../../../src/hw/core/fdt.js";
import { FakeRam, RAM_BASE } from "../../util/virtio-driver.js";

const BASE = 0x10100000;

/** The device and a hart's view of its registers at BASE (little-endian loads and stores, as on RISC-V). */
function fwcfg(cpus = 2) {
  const ram = new FakeRam();
  const dev = new FwCfg({ base: BASE, cpus, dma: ram });
  const region = (addr: number) => {
    const r = dev.regions.find((x) => addr >= x.base && addr < x.base + x.size);
    assert.ok(r !== undefined, `nothing at 0x${addr.toString(16)}`);
    return { r, offset: addr - r.base };
  };
  const load = (off: number, size: AccessSize): number => {
    const { r, offset } = region(BASE + off);
    return r.ops.read(offset, size);
  };
  const store = (off: number, size: AccessSize, value: number): void => {
    const { r, offset } = region(BASE + off);
    r.ops.write(offset, size, value);
  };
  /** An 8-byte load as the bus delivers it: two 4-byte loads, low address first. */
  const load64 = (off: number): bigint => BigInt(load(off, 4)) | (BigInt(load(off + 4, 4)) << 32n);
  /** Linux: iowrite16be(key, ctl). */
  const select = (key: number): void => store(FW_CFG_CTL, 2, ((key & 0xff) << 8) | (key >>> 8));
  /** n bytes of the selected item, read one at a time. */
  const bytes = (n: number): number[] => Array.from({ length: n }, () => load(FW_CFG_DATA, 1));
  /** Build an FWCfgDmaAccess in RAM and start it as Linux does (iowrite32be high, then low). */
  const dma = (control: number, length: number, address: number): number => {
    const desc = ram.alloc(16);
    const v = new DataView(ram.u8.buffer, desc - RAM_BASE, 16);
    v.setUint32(0, control);
    v.setUint32(4, length);
    v.setBigUint64(8, BigInt(address));
    // What a little-endian 4-byte store of a big-endian value delivers.
    const be32 = (x: number): number => {
      const b = new DataView(new ArrayBuffer(4));
      b.setUint32(0, x);
      return b.getUint32(0, true);
    };
    store(FW_CFG_DMA, 4, be32(Math.floor(desc / 2 ** 32)));
    store(FW_CFG_DMA + 4, 4, be32(desc >>> 0));
    return v.getUint32(0);
  };
  return { dev, ram, load, store, load64, select, bytes, dma };
}

test("signature \"QEMU\" selected at reset; ID: traditional interface and DMA", () => {
  const f = fwcfg();
  assert.equal(f.load(FW_CFG_DATA, 4), 0x554d4551, "bytes Q E M U in address order");
  assert.equal(f.load(FW_CFG_DATA, 4), 0, "zeros past the end");
  f.select(Key.SIGNATURE);
  assert.equal(f.load64(FW_CFG_DATA), 0x554d4551n);
  f.select(Key.ID);
  assert.equal(f.load64(FW_CFG_DATA), 3n);
  f.select(Key.WRITE_CHANNEL | Key.SIGNATURE);
  assert.equal(f.load(FW_CFG_DATA, 4), 0x554d4551, "the write-channel bit does not change the item");
  f.dev.reset();
  assert.equal(f.load(FW_CFG_DATA, 2), 0x4551);
});

test("items of QEMU's virt: UUID 0, NOGRAPHIC 1, NB_CPUS, BOOT_MENU 0; RAM_SIZE and others absent", () => {
  const f = fwcfg(4);
  f.select(Key.UUID);
  assert.deepEqual(f.bytes(17), new Array<number>(17).fill(0));
  f.select(Key.NOGRAPHIC);
  assert.deepEqual(f.bytes(3), [1, 0, 0]);
  f.select(Key.NB_CPUS);
  assert.deepEqual(f.bytes(3), [4, 0, 0], "little-endian 16 bits");
  f.select(Key.BOOT_MENU);
  assert.deepEqual(f.bytes(2), [0, 0]);
  for (const key of [Key.RAM_SIZE, Key.MACHINE_ID, Key.KERNEL_SIZE, Key.MAX_CPUS, 0x23, 0x3f, 0x40, Key.ARCH_LOCAL, 0xffff]) {
    f.select(key);
    assert.equal(f.load64(FW_CFG_DATA), 0n, `key 0x${key.toString(16)}`);
  }
});

test("file directory: count then 64-byte entries (size, select, name) in big-endian, sorted by name", () => {
  const f = fwcfg();
  f.select(Key.FILE_DIR);
  const count = f.bytes(4).reduce((a, b) => a * 256 + b, 0);
  assert.equal(count, 3);
  const files: [string, number, number][] = [];
  for (let i = 0; i < count; i++) {
    const e = f.bytes(64);
    const size = e.slice(0, 4).reduce((a, b) => a * 256 + b, 0);
    const sel = (e[4] << 8) | e[5];
    const name = String.fromCharCode(...e.slice(8, e.indexOf(0, 8)));
    files.push([name, sel, size]);
  }
  assert.deepEqual(files, [["bios-geometry", 0x20, 0], ["bootorder", 0x21, 0], ["etc/boot-fail-wait", 0x22, 4]]);
  f.select(0x22);
  assert.deepEqual(f.bytes(5), [0xff, 0xff, 0xff, 0xff, 0], "no reboot timeout: -1");
  // Wider reads of the directory: the first bytes in the low bits (QEMU's big-endian register on a little-endian hart).
  f.select(Key.FILE_DIR);
  assert.equal(f.load64(FW_CFG_DATA), 0x03000000n, "count 3, then the first entry's size 0");
  assert.equal(f.load(FW_CFG_DATA, 2), 0x2000, "select 0x0020");
  assert.equal(f.load(FW_CFG_DATA, 2), 0);
  assert.equal(f.load(FW_CFG_DATA, 2), 0x6962, "\"bi\"");
});

test("a file added later gets the slot its name sorts to; the others move up", () => {
  const f = fwcfg();
  f.dev.addFile("a-first", Uint8Array.of(7));
  f.select(0x20);
  assert.deepEqual(f.bytes(2), [7, 0]);
  f.select(0x23);
  assert.deepEqual(f.bytes(4), [0xff, 0xff, 0xff, 0xff]);
});

test("the DMA register reads \"QEMU CFG\" at any width", () => {
  const f = fwcfg();
  assert.equal(f.load64(FW_CFG_DMA), 0x47464320554d4551n);
  assert.equal(f.load(FW_CFG_DMA + 2, 2), 0x554d);
  assert.equal(f.load(FW_CFG_DMA + 7, 1), 0x47);
  assert.equal(f.load(FW_CFG_CTL, 2), 0, "the selector is write-only");
});

test("DMA: select and read, skip, read past the end, control word written back big-endian", () => {
  const f = fwcfg();
  const buf = f.ram.alloc(256);
  f.ram.u8.fill(0xaa, buf - RAM_BASE, buf - RAM_BASE + 256);
  assert.equal(f.dma((Key.FILE_DIR << 16) | Ctl.SELECT | Ctl.READ, 200, buf), 0);
  const dir = f.ram.bytes(buf, 200);
  assert.deepEqual([...dir.subarray(0, 16)], [0, 0, 0, 3, 0, 0, 0, 0, 0, 0x20, 0, 0, 0x62, 0x69, 0x6f, 0x73]);
  assert.deepEqual([...dir.subarray(0x84, 0x90)], [0, 0, 0, 4, 0, 0x22, 0, 0, 0x65, 0x74, 0x63, 0x2f]);
  assert.equal(dir[199], 0, "past the directory's end the buffer is zero-filled");
  assert.equal(f.ram.u8[buf - RAM_BASE + 200], 0xaa, "not one byte more");

  assert.equal(f.dma(Ctl.SELECT | Ctl.SKIP, 2, 0), 0);
  assert.equal(f.dma(Ctl.READ, 4, buf), 0);
  assert.deepEqual([...f.ram.bytes(buf, 4)], [0x4d, 0x55, 0, 0], "\"MU\" then zeros");

  // The stream position is shared with the data register.
  f.select(Key.ID);
  assert.equal(f.load(FW_CFG_DATA, 1), 3);
  assert.equal(f.dma(Ctl.READ, 4, buf), 0);
  assert.deepEqual([...f.ram.bytes(buf, 4)], [0, 0, 0, 0]);
  assert.equal(f.dma((Key.SIGNATURE << 16) | Ctl.SELECT, 0, 0), 0, "select only");
  assert.equal(f.load(FW_CFG_DATA, 4), 0x554d4551);
});

test("DMA errors: writes (every item is read-only), a buffer outside RAM; no operation does nothing", () => {
  const f = fwcfg();
  const buf = f.ram.alloc(16);
  assert.equal(f.dma((Key.ID << 16) | Ctl.SELECT | Ctl.WRITE, 4, buf), Ctl.ERROR);
  assert.equal(f.dma((Key.RAM_SIZE << 16) | Ctl.SELECT | Ctl.WRITE, 4, buf), Ctl.ERROR);
  assert.equal(f.dma((Key.SIGNATURE << 16) | Ctl.SELECT | Ctl.READ, 4, 0x1000000), Ctl.ERROR);
  assert.equal(f.dma(0, 8, buf), 0);
  assert.equal(f.dma((0x1234 << 16) | Ctl.SELECT | Ctl.READ, 8, buf), 0, "an invalid key reads zeros");
  assert.deepEqual([...f.ram.bytes(buf, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(f.ram.writtenBytes > 0, "DMA writes are reported (decoded code there is dropped)");
});

test("an 8-byte store of the DMA address (two 4-byte halves from the bus) starts the transfer", () => {
  const f = fwcfg();
  const buf = f.ram.alloc(8);
  const desc = f.ram.alloc(16);
  const v = new DataView(f.ram.u8.buffer, desc - RAM_BASE, 16);
  v.setUint32(0, (Key.SIGNATURE << 16) | Ctl.SELECT | Ctl.READ);
  v.setUint32(4, 4);
  v.setBigUint64(8, BigInt(buf));
  // sd of cpu_to_be64(desc): the low word holds the high half of the address, byte-swapped.
  const be = new DataView(new ArrayBuffer(8));
  be.setBigUint64(0, BigInt(desc));
  f.store(FW_CFG_DMA, 4, be.getUint32(0, true));
  f.store(FW_CFG_DMA + 4, 4, be.getUint32(4, true));
  assert.equal(v.getUint32(0), 0);
  assert.equal(new TextDecoder().decode(f.ram.bytes(buf, 4)), "QEMU");
});

test("regions: data (8 bytes), selector (2), DMA (8) at QEMU's offsets; fw-cfg@10100000 node", () => {
  const f = fwcfg();
  assert.deepEqual(f.dev.regions.map((r) => [r.base, r.size]), [[BASE, 8], [BASE + 8, 2], [BASE + 16, 8]]);
  const fdt = new Fdt();
  const node = f.dev.fdtNode(fdt.root);
  assert.equal(node.name, "fw-cfg@10100000");
  assert.deepEqual(node.props.map((p) => p.name), ["dma-coherent", "reg", "compatible"]);
  assert.deepEqual([...(node.props[1].value)], [0, 0, 0, 0, 0x10, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x18]);
  assert.equal(new TextDecoder().decode(node.props[2].value), "qemu,fw-cfg-mmio\0");
});
