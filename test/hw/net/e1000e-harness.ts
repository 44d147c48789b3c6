/**
 * An e1000e on a test bench: guest RAM behind a DmaMemory that checks every
 * access the device asks for, a backend that records frames, messages as
 * they leave the function, and helpers that program the device the way
 * Linux's e1000e driver does.
 */
import type { DmaMemory } from "../../../src/hw/core/memory.js";
import { PciCommand, PciReg } from "../../../src/hw/pci/config-space.js";
import { MsixCap, MsixControl, MsixEntry, MSIX_ENTRY_SIZE } from "../../../src/hw/pci/msix.js";
import type { MsiMessage } from "../../../src/hw/pci/msi.js";
import type { NetBackend, NetFrontend } from "../../../src/net/net-client.js";
import { E1000e } from "../../../src/hw/net/e1000e.js";
import { CAP_MSIX } from "../../../src/hw/net/e1000e-pci.js";

export const RAM_BASE = 0x80000000;
export const RAM_SIZE = 1 << 20;
export const MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
/** MSI-X messages of the bench: vector v writes 0x100 + v to the IMSIC-like page. */
export const MSI_ADDRESS = 0x28000000;
export const msixData = (vector: number): number => 0x100 + vector;

/** Guest RAM whose DMA window checks that no access leaves it. */
export class TestRam implements DmaMemory {
  readonly u8 = new Uint8Array(RAM_SIZE);
  readonly view = new DataView(this.u8.buffer);
  /** Accesses the device asked for that lie outside RAM (answered -1). */
  refused = 0;
  /** Accesses answered with an offset: each was checked to lie inside u8. */
  granted = 0;

  hostOffset(addr: number, len: number): number {
    if (addr < RAM_BASE || addr + len > RAM_BASE + RAM_SIZE || len < 0) {
      this.refused++;
      return -1;
    }
    this.granted++;
    return addr - RAM_BASE;
  }

  written(addr: number, len: number): void {
    if (addr < RAM_BASE || addr + len > RAM_BASE + RAM_SIZE) throw new Error(`written() outside RAM: ${addr.toString(16)}+${len}`);
  }
}

export class FakeBackend implements NetBackend {
  readonly id = "n0";
  readonly type = "test";
  readonly frames: Uint8Array[] = [];
  frontend: NetFrontend | undefined;
  resumes = 0;

  attach(frontend: NetFrontend): void {
    this.frontend = frontend;
  }

  send(frame: Uint8Array): void {
    this.frames.push(frame.slice());
  }

  resume(): void {
    this.resumes++;
  }

  info(): string {
    return "test";
  }

  close(): void {}
}

export class Bench {
  readonly ram = new TestRam();
  readonly backend = new FakeBackend();
  readonly sent: MsiMessage[] = [];
  readonly nic: E1000e;
  intx = false;

  constructor() {
    this.nic = new E1000e({ dma: this.ram, send: (m) => this.sent.push(m), mac: MAC, backend: this.backend });
    this.nic.config.connectIntx((level) => {
      this.intx = level;
    });
    this.nic.reset();
    this.nic.config.write(PciReg.COMMAND, 2, PciCommand.MEMORY | PciCommand.IO | PciCommand.MASTER);
  }

  read(offset: number): number {
    return this.nic.mmio.read(offset, 4);
  }

  write(offset: number, value: number): void {
    this.nic.mmio.write(offset, 4, value >>> 0);
  }

  /** MSI-X on with every vector unmasked, as Linux's pci_enable_msix then request_irq. */
  enableMsix(): void {
    this.nic.config.write(CAP_MSIX + MsixCap.CONTROL, 2, MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
    for (let v = 0; v < 5; v++) {
      const o = v * MSIX_ENTRY_SIZE;
      this.nic.msix.tableOps.write(o + MsixEntry.ADDRESS_LOW, 4, MSI_ADDRESS);
      this.nic.msix.tableOps.write(o + MsixEntry.ADDRESS_HIGH, 4, 0);
      this.nic.msix.tableOps.write(o + MsixEntry.DATA, 4, msixData(v));
      this.nic.msix.tableOps.write(o + MsixEntry.VECTOR_CONTROL, 4, 0);
    }
    this.nic.config.write(CAP_MSIX + MsixCap.CONTROL, 2, MsixControl.ENABLE);
  }

  /** The vectors messages arrived for, in order, since the last call. */
  vectors(): number[] {
    return this.sent.splice(0).map((m) => m.data - 0x100);
  }
}

/** An IPv4 TCP frame to `dst` (header checksums left as given: 0). */
export function tcpFrame(dst: Uint8Array, payload: number, opts: { seq?: number; flags?: number } = {}): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + payload);
  const v = new DataView(f.buffer);
  f.set(dst, 0);
  f.set([0x02, 0, 0, 0, 0, 1], 6);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  v.setUint16(16, 20 + 20 + payload);
  v.setUint16(18, 0x1234);
  f[22] = 64;
  f[23] = 6;
  f.set([10, 0, 2, 15], 26);
  f.set([10, 0, 2, 2], 30);
  v.setUint16(34, 40000);
  v.setUint16(36, 80);
  v.setUint32(38, opts.seq ?? 1000);
  f[46] = 5 << 4;
  f[47] = opts.flags ?? 0x18;
  v.setUint16(48, 65535);
  for (let i = 0; i < payload; i++) f[54 + i] = (i * 7 + 3) & 0xff;
  return f;
}
