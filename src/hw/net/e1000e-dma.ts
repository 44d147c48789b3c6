/**
 * The NIC's bus-master DMA: descriptor and buffer transfers go through the
 * function's view of guest memory and nowhere else.  While the function may
 * not master the bus (Command bit 2 clear) a read gives zeros and a write is
 * dropped, as QEMU's disabled bus-master address space; an address outside
 * RAM likewise (the guest's mistake, not the emulator's).
 */
import type { DmaMemory } from "../core/memory.js";

export class BusMasterDma {
  constructor(private readonly mem: DmaMemory, private readonly mayMaster: () => boolean) {}

  /** `len` bytes from guest address `addr`, zeros where nothing can be read. */
  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const at = this.locate(addr, len);
    if (at >= 0) out.set(this.mem.u8.subarray(at, at + len));
    return out;
  }

  /** Write `bytes` at guest address `addr` (dropped when it does not lie in RAM). */
  write(addr: number, bytes: Uint8Array): void {
    const at = this.locate(addr, bytes.length);
    if (at < 0) return;
    this.mem.u8.set(bytes, at);
    this.mem.written(addr, bytes.length);
  }

  private locate(addr: number, len: number): number {
    if (len === 0 || !this.mayMaster() || !Number.isSafeInteger(addr) || addr < 0) return -1;
    return this.mem.hostOffset(addr, len);
  }
}

/** A 64-bit address from two 32-bit registers. */
export function addr64(low: number, high: number): number {
  return (high >>> 0) * 2 ** 32 + (low >>> 0);
}
