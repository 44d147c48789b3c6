/**
 * Message-signalled interrupts as PCI defines them (PCI Local Bus 3.0
 * section 6.8): an interrupt is a 32-bit memory write of `data` to `address`,
 * made by the function as a bus master.  On the virt board with an IMSIC the
 * address is a hart's interrupt-file page and the data is the interrupt
 * identity; without one nothing decodes the write and it is lost, as on
 * QEMU.
 */

export interface MsiMessage {
  /** The 64-bit bus address (below 2^53 here), 4-byte aligned by the driver. */
  readonly address: number;
  /** The 32-bit data written there. */
  readonly data: number;
}

/**
 * Where a function's messages go when they take the slow path: the
 * emulator's memory core, which writes the data to the address as any bus
 * master would (the board gives one per PCI host).
 */
export type MsiSend = (msg: MsiMessage) => void;

/** Read a 64-bit address from two little-endian 32-bit words. */
export function msiAddress(low: number, high: number): number {
  return (high >>> 0) * 2 ** 32 + (low >>> 0);
}
