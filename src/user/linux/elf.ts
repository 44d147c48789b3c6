/**
 * ELF64 parsing for riscv64 executables and shared objects.  Every check
 * that can fail on a user's file throws ElfError with a message that says
 * what is wrong, so the CLI can print one clear line.
 */

export class ElfError extends Error {}

export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_RISCV = 243;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  type: number;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  flags: number;
  phdrs: ProgramHeader[];
  /** Path in PT_INTERP, if any. */
  interp: string | undefined;
  data: Uint8Array;
}

const MACHINES: Record<number, string> = {
  3: "x86 (i386)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "S/390", 40: "ARM", 62: "x86-64",
  183: "AArch64", 243: "RISC-V", 258: "LoongArch",
};

/** Parse and validate an ELF image for riscv64 Linux. */
export function parseElf(data: Uint8Array): ElfImage {
  if (data.length < 4 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) {
    throw new ElfError("not an ELF file");
  }
  if (data.length < 64) throw new ElfError("truncated ELF file (header incomplete)");
  if (data[4] !== 2) throw new ElfError("32-bit ELF file; this emulator runs riscv64 (64-bit) programs");
  if (data[5] !== 1) throw new ElfError("big-endian ELF file; riscv64 programs are little-endian");
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_RISCV) {
    const name = MACHINES[machine] ?? `machine ${machine}`;
    throw new ElfError(`ELF file for ${name}, not RISC-V`);
  }
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw new ElfError(`ELF file of type ${type} is not an executable or shared object`);
  }
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const flags = dv.getUint32(48, true);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum === 0) throw new ElfError("ELF file has no program headers");
  if (phentsize < 56) throw new ElfError("ELF file has malformed program headers");
  if (phoff + phnum * phentsize > data.length) {
    throw new ElfError("truncated ELF file (program headers past the end of the file)");
  }
  const phdrs: ProgramHeader[] = [];
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const ph: ProgramHeader = {
      type: dv.getUint32(o, true),
      flags: dv.getUint32(o + 4, true),
      offset: Number(dv.getBigUint64(o + 8, true)),
      vaddr: Number(dv.getBigUint64(o + 16, true)),
      filesz: Number(dv.getBigUint64(o + 32, true)),
      memsz: Number(dv.getBigUint64(o + 40, true)),
      align: Number(dv.getBigUint64(o + 48, true)),
    };
    if (ph.type === PT_LOAD || ph.type === PT_INTERP) {
      if (ph.offset + ph.filesz > data.length) {
        throw new ElfError("truncated ELF file (a segment lies past the end of the file)");
      }
      if (ph.filesz > ph.memsz) throw new ElfError("malformed ELF file (segment file size exceeds memory size)");
      if (ph.vaddr + ph.memsz > 2 ** 47) throw new ElfError("malformed ELF file (segment outside user space)");
    }
    if (ph.type === PT_INTERP) {
      let end = ph.offset;
      while (end < ph.offset + ph.filesz && data[end] !== 0) end++;
      interp = new TextDecoder().decode(data.subarray(ph.offset, end));
    }
    phdrs.push(ph);
  }
  if (!phdrs.some((p) => p.type === PT_LOAD)) throw new ElfError("ELF file has no loadable segment");
  return { type, entry, phoff, phentsize, phnum, flags, phdrs, interp, data };
}
