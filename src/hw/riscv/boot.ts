/**
 * Booting the virt board as QEMU does (hw/riscv/boot.c): firmware at the
 * start of DRAM, the kernel at the firmware's end rounded up to 2 MiB, the
 * initrd above the kernel, the device tree at the top of RAM (below 3 GiB),
 * and a reset vector in the boot ROM that enters the firmware with a0 =
 * hartid, a1 = FDT address, a2 = fw_dynamic_info.
 */
import { loadImage, type ImageSink } from "../core/elf-image.js";

const MiB = 1024 * 1024;
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;
const alignDown = (v: number, a: number): number => Math.floor(v / a) * a;

export interface BootImages {
  firmware?: Uint8Array;
  kernel?: Uint8Array;
  initrd?: Uint8Array;
}

export interface BootPlan {
  /** Where the reset vector jumps (the firmware, or the kernel without one). */
  start: number;
  kernelEntry: number;
  initrd?: { start: number; end: number };
}

/** Load firmware, kernel and initrd into guest memory; returns the addresses the FDT and reset vector need. */
export function loadBootImages(images: BootImages, dram: number, ramSize: number, sink: ImageSink): BootPlan {
  let firmwareEnd = dram;
  let start = dram;
  if (images.firmware !== undefined) {
    const fw = loadImage(images.firmware, dram, sink, "firmware");
    firmwareEnd = fw.high;
    start = fw.entry;
  }
  let kernelEntry = 0;
  let plan: BootPlan = { start, kernelEntry };
  if (images.kernel !== undefined) {
    const kernelBase = images.firmware !== undefined ? alignUp(firmwareEnd, 2 * MiB) : dram;
    const k = loadImage(images.kernel, kernelBase, sink, "kernel");
    kernelEntry = k.entry;
    if (images.firmware === undefined) start = kernelEntry;
    plan = { start, kernelEntry };
    if (images.initrd !== undefined) {
      const initrdStart = alignDown(kernelEntry + Math.min(ramSize / 2, 512 * MiB), 4096);
      if (initrdStart + images.initrd.length > dram + ramSize) {
        throw new Error(`initrd: ${images.initrd.length} bytes do not fit in RAM above the kernel (try a larger -m)`);
      }
      sink.load(initrdStart, images.initrd);
      plan.initrd = { start: initrdStart, end: initrdStart + images.initrd.length };
    }
  } else if (images.initrd !== undefined) {
    throw new Error("-initrd needs -kernel");
  }
  return plan;
}

/** Where the device tree goes: the top of RAM (at most 3 GiB from 0), 2 MiB aligned. */
export function fdtAddress(dram: number, ramSize: number, fdtSize: number): number {
  return alignDown(Math.min(dram + ramSize, 3 * 1024 * MiB) - fdtSize, 2 * MiB);
}

const FW_DYNAMIC_INFO_MAGIC = 0x4942534f;
const FW_DYNAMIC_INFO_VERSION = 2;
const NEXT_MODE_S = 1;

/** The boot ROM contents at 0x1000: the reset vector, start and FDT addresses, then fw_dynamic_info. */
export function resetVector(start: number, fdt: number, kernelEntry: number): Uint8Array {
  const code = [
    0x00000297, // auipc t0, 0
    0x02828613, // addi  a2, t0, 40      (fw_dynamic_info)
    0xf1402573, // csrr  a0, mhartid
    0x0202b583, // ld    a1, 32(t0)      (FDT address)
    0x0182b283, // ld    t0, 24(t0)      (start address)
    0x00028067, // jr    t0
  ];
  const rom = new Uint8Array(0x28 + 6 * 8);
  const v = new DataView(rom.buffer);
  code.forEach((w, i) => v.setUint32(i * 4, w, true));
  v.setBigUint64(0x18, BigInt(start), true);
  v.setBigUint64(0x20, BigInt(fdt), true);
  const info = [FW_DYNAMIC_INFO_MAGIC, FW_DYNAMIC_INFO_VERSION, kernelEntry, NEXT_MODE_S, 0, 0];
  info.forEach((x, i) => v.setBigUint64(0x28 + i * 8, BigInt(x), true));
  return rom;
}
