/**
 * Minimal static riscv64 ELF executables (the tests' programs, the start-up
 * training program of training.ts): an ELF header and one or
 * two PT_LOAD segments (code RX, data RW), no sections, entry at the code start.
 */

export interface ElfSpec {
  /** Machine code, loaded at `codeAddr`; execution starts at its first byte. */
  readonly code: Uint8Array;
  /** Load address of the code; page-aligned. */
  readonly codeAddr: number;
  /** Initial data image, loaded at `dataAddr`. */
  readonly data?: Uint8Array;
  /** Load address of the data; page-aligned. */
  readonly dataAddr?: number;
  /** Size of the data segment in memory (at least data.length; the rest is zero). */
  readonly dataMemSize?: number;
}

const PAGE = 0x1000;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const PT_LOAD = 1;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;
const EM_RISCV = 243;
const ET_EXEC = 2;
const EF_RISCV_RVC = 0x1;
const EF_RISCV_FLOAT_ABI_DOUBLE = 0x4;

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

function checkAddr(name: string, addr: number): void {
  if (!Number.isSafeInteger(addr) || addr < PAGE || addr % PAGE !== 0 || addr >= 2 ** 47) {
    throw new Error(`elf-writer: ${name} 0x${addr.toString(16)} must be a page-aligned user address`);
  }
}

/** Build the ELF file image. */
export function buildElf(spec: ElfSpec): Uint8Array {
  const { code, codeAddr } = spec;
  checkAddr("codeAddr", codeAddr);
  if (code.length === 0) throw new Error("elf-writer: empty code");
  const hasData = spec.data !== undefined || spec.dataMemSize !== undefined;
  const data = spec.data ?? new Uint8Array(0);
  const dataAddr = spec.dataAddr ?? 0;
  const dataMemSize = spec.dataMemSize ?? data.length;
  if (hasData) {
    checkAddr("dataAddr", dataAddr);
    if (dataMemSize < data.length || dataMemSize === 0) {
      throw new Error("elf-writer: dataMemSize must be non-zero and at least data.length");
    }
    const codeEnd = codeAddr + alignUp(code.length, PAGE);
    const dataEnd = dataAddr + alignUp(dataMemSize, PAGE);
    if (dataAddr < codeEnd && codeAddr < dataEnd) throw new Error("elf-writer: code and data segments overlap");
  } else if (spec.dataAddr !== undefined) {
    throw new Error("elf-writer: dataAddr given without data");
  }

  const phnum = hasData ? 2 : 1;
  const codeOff = PAGE;
  const dataOff = alignUp(codeOff + code.length, PAGE);
  const fileSize = hasData ? dataOff + data.length : codeOff + code.length;
  const out = new Uint8Array(fileSize);
  const v = new DataView(out.buffer);

  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* SYSV */], 0);
  v.setUint16(16, ET_EXEC, true);
  v.setUint16(18, EM_RISCV, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, BigInt(codeAddr), true);     // e_entry
  v.setBigUint64(32, BigInt(EHDR_SIZE), true);    // e_phoff
  v.setBigUint64(40, 0n, true);                   // e_shoff
  v.setUint32(48, EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE, true);
  v.setUint16(52, EHDR_SIZE, true);
  v.setUint16(54, PHDR_SIZE, true);
  v.setUint16(56, phnum, true);
  v.setUint16(58, 0, true);                       // e_shentsize
  v.setUint16(60, 0, true);                       // e_shnum
  v.setUint16(62, 0, true);                       // e_shstrndx

  const phdr = (i: number, flags: number, off: number, addr: number, filesz: number, memsz: number): void => {
    const p = EHDR_SIZE + i * PHDR_SIZE;
    v.setUint32(p, PT_LOAD, true);
    v.setUint32(p + 4, flags, true);
    v.setBigUint64(p + 8, BigInt(off), true);
    v.setBigUint64(p + 16, BigInt(addr), true);
    v.setBigUint64(p + 24, BigInt(addr), true);
    v.setBigUint64(p + 32, BigInt(filesz), true);
    v.setBigUint64(p + 40, BigInt(memsz), true);
    v.setBigUint64(p + 48, BigInt(PAGE), true);
  };
  phdr(0, PF_R | PF_X, codeOff, codeAddr, code.length, code.length);
  out.set(code, codeOff);
  if (hasData) {
    phdr(1, PF_R | PF_W, dataOff, dataAddr, data.length, dataMemSize);
    out.set(data, dataOff);
  }
  return out;
}
