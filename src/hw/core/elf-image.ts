/**
 * Firmware and kernel images as a board loads them: an ELF64 executable's
 * PT_LOAD segments at their physical addresses, or a raw binary at a given
 * address.  Errors name what is wrong with the image in one line.
 */
export interface LoadedImage {
  entry: number;
  /** The lowest and the end of the highest address written. */
  low: number;
  high: number;
}

export interface ImageSink {
  load(addr: number, data: Uint8Array): void;
}

const ELF_MAGIC = 0x464c457f;
const EM_RISCV = 243;
const PT_LOAD = 1;

export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) === ELF_MAGIC;
}

/** Load an ELF64 RISC-V executable by physical address; throws with a message naming `what` when malformed. */
export function loadElf(data: Uint8Array, sink: ImageSink, what: string): LoadedImage {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bad = (why: string): Error => new Error(`${what}: ${why}`);
  if (data.length < 64) throw bad("truncated ELF header");
  if (data[4] !== 2 || data[5] !== 1) throw bad("not a 64-bit little-endian ELF file");
  if (v.getUint16(18, true) !== EM_RISCV) throw bad("not a RISC-V ELF file");
  const num = (off: number): number => Number(v.getBigUint64(off, true));
  const entry = num(24);
  const phoff = num(32);
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  if (phentsize < 56 || phoff + phnum * phentsize > data.length) throw bad("program headers lie outside the file");
  let low = Infinity;
  let high = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== PT_LOAD) continue;
    const offset = num(ph + 8);
    const paddr = num(ph + 24);
    const filesz = num(ph + 32);
    const memsz = num(ph + 40);
    if (offset + filesz > data.length || filesz > memsz) throw bad(`segment ${i} lies outside the file`);
    if (memsz === 0) continue;
    const seg = new Uint8Array(memsz);
    seg.set(data.subarray(offset, offset + filesz));
    sink.load(paddr, seg);
    low = Math.min(low, paddr);
    high = Math.max(high, paddr + memsz);
  }
  if (high === 0) throw bad("no loadable segments");
  return { entry, low, high };
}

/** Load an ELF by its addresses, or a raw binary at `addr`. */
export function loadImage(data: Uint8Array, addr: number, sink: ImageSink, what: string): LoadedImage {
  if (isElf(data)) return loadElf(data, sink, what);
  sink.load(addr, data);
  return { entry: addr, low: addr, high: addr + data.length };
}
