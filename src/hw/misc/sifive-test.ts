/**
 * The SiFive test finisher of the virt board (qemu:hw/misc/sifive_test.c):
 * a write to offset 0 powers the machine off, exits with a status, or resets it.
 */
import type { MmioRegion } from "../core/memory.js";
import type { FdtNode } from "../core/fdt.js";

/** The low 16 bits of the value written; for FAIL the high 16 bits are the exit status. */
export const enum Finisher {
  FAIL = 0x3333,
  PASS = 0x5555,
  RESET = 0x7777,
}

export interface SifiveTestOptions {
  base: number;
  shutdown(status: number): void;
  reset(): void;
}

export class SifiveTest {
  readonly region: MmioRegion;

  constructor(private readonly opts: SifiveTestOptions) {
    this.region = {
      name: "riscv.sifive.test",
      base: opts.base,
      size: 0x1000,
      ops: {
        read: () => 0,
        write: (offset, size, value) => {
          // QEMU takes 2- and 4-byte accesses only.
          if (offset === 0 && size !== 1) this.finish(size === 2 ? value & 0xffff : value >>> 0);
        },
      },
    };
  }

  /**
   * `/soc/test@base` and the root's `poweroff` and `reboot` syscon nodes, in
   * the order of QEMU's blob (libfdt puts each new node and property first).
   */
  fdtNode(soc: FdtNode, root: FdtNode): FdtNode {
    const test = soc.child(`test@${this.region.base.toString(16)}`);
    const phandle = test.phandle();
    test.u64("reg", this.region.base, this.region.size).strs("compatible", "sifive,test1", "sifive,test0", "syscon");
    const syscon = (name: string, compatible: string, value: Finisher): void => {
      root.child(name).u32("value", value).u32("offset", 0).u32("regmap", phandle).str("compatible", compatible);
    };
    syscon("poweroff", "syscon-poweroff", Finisher.PASS);
    syscon("reboot", "syscon-reboot", Finisher.RESET);
    return test;
  }

  private finish(value: number): void {
    switch (value & 0xffff) {
      case Finisher.FAIL:
        this.opts.shutdown(value >>> 16);
        break;
      case Finisher.PASS:
        this.opts.shutdown(0);
        break;
      case Finisher.RESET:
        this.opts.reset();
        break;
      default:
        break; // QEMU only logs a guest error
    }
  }
}
