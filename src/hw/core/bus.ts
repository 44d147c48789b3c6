/**
 * A board's physical address space: RAM (and a boot ROM) in one host buffer
 * that the CPUs address directly, and device regions behind MmioOps.
 * Implements the MMU's PhysBus and the devices' DmaMemory.
 */
import { GuestRam } from "../../target/riscv/ram.js";
import { Access } from "../../target/riscv/tlb.js";
import type { PhysBus } from "../../target/riscv/mmu.js";
import type { AccessSize, DmaMemory, MmioRegion } from "./memory.js";

const PAGE = 4096;

export interface BusLayout {
  /** The boot ROM: read-only memory at [romBase, romBase + romSize), held at host offset romBase. */
  romBase: number;
  romSize: number;
  ramBase: number;
  ramSize: number;
}

export class SystemBus implements PhysBus, DmaMemory {
  readonly ram: GuestRam;
  readonly u8: Uint8Array;
  private readonly regions: MmioRegion[] = [];
  /** Host offset of guest-physical ramBase: RAM follows the ROM in the buffer. */
  readonly ramHost: number;

  /** `shared`: RAM in shared memory, for device models on worker threads. */
  constructor(readonly layout: BusLayout, shared = false) {
    this.ramHost = layout.romBase + layout.romSize;
    this.ram = new GuestRam(this.ramHost + layout.ramSize, shared);
    this.u8 = this.ram.u8;
  }

  map(region: MmioRegion): void {
    for (const r of this.regions) {
      if (region.base < r.base + r.size && r.base < region.base + region.size) {
        throw new Error(`${region.name} at 0x${region.base.toString(16)} overlaps ${r.name}`);
      }
    }
    // Every region in one shape, whatever object the device gave (a literal, the device itself): the
    // page walk and the device accesses read these, and a shape V8 had not seen there cost a deopt.
    this.regions.push({ name: region.name, base: region.base, size: region.size, ops: region.ops });
    this.regions.sort((a, b) => a.base - b.base);
  }

  /** The device regions, by address (for `info mtree`). */
  get mapped(): readonly MmioRegion[] {
    return this.regions;
  }

  private find(pa: number, size: number): MmioRegion | undefined {
    for (const r of this.regions) {
      if (pa >= r.base && pa + size <= r.base + r.size) return r;
    }
    return undefined;
  }

  hostPage(page: number, access: Access): number {
    const { romBase, romSize, ramBase, ramSize } = this.layout;
    if (page >= ramBase && page < ramBase + ramSize) return this.ramHost + (page - ramBase);
    if (page >= romBase && page < romBase + romSize) return access === Access.WRITE ? -2 : page;
    // Device memory anywhere in the page: accesses go through ioRead/ioWrite, which look up the exact region.
    return this.regions.some((r) => r.base < page + PAGE && r.base + r.size > page) ? -2 : -1;
  }

  ioRead(pa: number, size: number, out: Int32Array): boolean {
    if (size === 8) {
      const r = this.find(pa, 8);
      if (r === undefined) return false;
      out[0] = r.ops.read(pa - r.base, 4) | 0;
      out[1] = r.ops.read(pa - r.base + 4, 4) | 0;
      return true;
    }
    const r = this.find(pa, size);
    if (r === undefined) return false;
    const v = r.ops.read(pa - r.base, size as AccessSize);
    out[0] = size === 4 ? v | 0 : v & (size === 2 ? 0xffff : 0xff);
    out[1] = 0;
    return true;
  }

  ioWrite(pa: number, size: number, lo: number, hi: number): boolean {
    const { romBase, romSize } = this.layout;
    if (pa >= romBase && pa < romBase + romSize) return true; // writes to ROM are ignored
    const r = this.find(pa, size);
    if (r === undefined) return false;
    if (size === 8) {
      r.ops.write(pa - r.base, 4, lo >>> 0);
      r.ops.write(pa - r.base + 4, 4, hi >>> 0);
    } else {
      r.ops.write(pa - r.base, size as AccessSize, size === 4 ? lo >>> 0 : lo & (size === 2 ? 0xffff : 0xff));
    }
    return true;
  }

  // DmaMemory: devices reach RAM only.
  hostOffset(addr: number, len: number): number {
    const { ramBase, ramSize } = this.layout;
    if (addr < ramBase || len < 0 || addr + len > ramBase + ramSize) return -1;
    return this.ramHost + (addr - ramBase);
  }

  written(addr: number, len: number): void {
    const host = this.hostOffset(addr, len);
    if (host < 0 || len === 0) return;
    for (let p = Math.floor(host / PAGE); p <= Math.floor((host + len - 1) / PAGE); p++) this.ram.dropCode(p);
  }

  /** Copy bytes into guest-physical memory (RAM or ROM), as a loader does. */
  load(addr: number, data: Uint8Array): void {
    const { romBase, romSize } = this.layout;
    let host = this.hostOffset(addr, data.length);
    if (host < 0 && addr >= romBase && addr + data.length <= romBase + romSize) host = addr;
    if (host < 0) {
      throw new Error(`${data.length} bytes at 0x${addr.toString(16)} do not fit in guest memory`);
    }
    this.u8.set(data, host);
    for (let p = Math.floor(host / PAGE); p <= Math.floor((host + Math.max(data.length, 1) - 1) / PAGE); p++) {
      this.ram.dropCode(p);
    }
  }

  /** Read guest-physical memory (RAM or ROM) for the monitor; undefined outside it. */
  read(addr: number, len: number): Uint8Array | undefined {
    const { romBase, romSize } = this.layout;
    let host = this.hostOffset(addr, len);
    if (host < 0 && addr >= romBase && addr + len <= romBase + romSize) host = addr;
    return host < 0 ? undefined : this.u8.slice(host, host + len);
  }
}
