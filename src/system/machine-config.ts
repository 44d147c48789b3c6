/**
 * What a virt machine is made of, as the library takes it: the options of
 * qemu-system-riscv64's command line, with the same meanings and defaults,
 * in a shape a program can write.  The command line parses argv into this
 * and nothing else, so a machine built from a page, a program or a shell
 * is built one way.
 */
import type { BlockBackend } from "../block/block.js";
import type { DriveSettings } from "../block/drive.js";

/**
 * Where an image's bytes come from: the bytes themselves, or a URL
 * (`http:`, `https:`, `blob:`, `data:`, and `file:` in Node).  A string is a
 * URL when it has a scheme; otherwise it is a file path, which only hosts
 * with a file system (Node) can open.
 */
export type ImageSource = Uint8Array | ArrayBuffer | URL | string;

/** A disk (-drive). */
export interface DriveConfig extends Partial<DriveSettings> {
  /**
   * The disk: a block backend of your own (read synchronously by the
   * device), bytes or a URL (loaded whole into memory; the guest's writes stay
   * there), or a file path in Node (opened as -drive file= opens it).
   * The machine flushes and closes the backend when it ends.
   */
  image: BlockBackend | ImageSource;
  /** -drive format=: "raw" or "qcow2"; probed when absent, with QEMU's warning for raw. */
  format?: "raw" | "qcow2";
  /** -drive if=: "virtio" (the default) makes a virtio-blk-pci disk; "none" leaves it for a -device ...,drive=ID. */
  interface?: "virtio" | "none";
  /** -drive id=: needed with interface "none"; virtio drives are named virtio0, virtio1 ... otherwise. */
  id?: string;
  /** -drive readonly=on */
  readOnly?: boolean;
  /** -drive snapshot=on: the guest's writes go to a temporary overlay, the image is only read. */
  snapshot?: boolean;
  /**
   * -drive file.locking=: QEMU's image locks on a file path, so that no two
   * processes (tsemu or QEMU) write one image.  "auto" (the default) locks
   * where the host can, "on" fails where it cannot, "off" does not lock.
   */
  locking?: "on" | "off" | "auto";
}

/** -M virt,aia=: the interrupt controllers. */
export type AiaMode = "none" | "aplic" | "aplic-imsic";

/** The log items of -d that tsemu has. */
export type LogItem = "int" | "in_asm" | "guest_errors" | "unimp" | "tcg";

/**
 * What a machine is made of, in the command line's terms: each field says
 * which qemu-system-riscv64 option it stands for.  Everything is optional;
 * the defaults are QEMU's (128M, one hart, the PLIC, OpenSBI in Node).
 */
export interface MachineConfig {
  /** -m: RAM in bytes, or QEMU's size syntax ("256M", "1G"; a bare number means MiB). Default 128 MiB, at most 2047 MiB. */
  memory?: number | string;
  /** -smp: harts, 1 to 8 (default 1). */
  cpus?: number;
  /** -M virt,aia= (default "none": the PLIC). */
  aia?: AiaMode;
  /**
   * -bios: M-mode firmware.  "default" (the default) is Debian's OpenSBI
   * fw_dynamic.bin where the host has a file system; "none" starts the kernel
   * in M-mode.  In a browser give the bytes or a URL.
   */
  firmware?: ImageSource | "default" | "none";
  /** -kernel */
  kernel?: ImageSource;
  /** -initrd (needs a kernel). */
  initrd?: ImageSource;
  /** -append: the kernel command line (needs a kernel). */
  append?: string;
  /** -dtb: a device tree used instead of the generated one. */
  dtb?: ImageSource;
  /** -drive and -blockdev. */
  drives?: DriveConfig[];
  /** -snapshot: every writable drive gets a temporary overlay. */
  snapshot?: boolean;
  /** -device, in its syntax: "virtio-rng-pci", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56". */
  devices?: string[];
  /**
   * -object, in its syntax: "iothread,id=io0" (with "virtio-blk-pci,drive=d0,iothread=io0" among the
   * devices, that disk's queues are served on a worker thread; needs a host with worker threads: Node).
   */
  objects?: string[];
  /** -netdev, in its syntax: "user,id=n0,hostfwd=tcp::2222-:22" (needs a host with a network: Node). */
  netdevs?: string[];
  /** -nic, in its syntax: "user,model=virtio-net-pci"; "none" for no network. */
  nics?: string[];
  /** -icount shift=N: guest time advances 2^N ns per instruction, so runs repeat exactly. */
  icount?: number;
  /** -rtc base=: where the RTC starts (default: the host's time). */
  rtcBase?: Date | number;
  /** -rtc clock=vm: the RTC follows guest time (the default with icount). */
  rtcClock?: "host" | "vm";
  /** -S: start in the "prelaunch" state until resume(). */
  startPaused?: boolean;
  /** -no-reboot: a guest reset ends the machine instead. */
  noReboot?: boolean;
  /** -no-shutdown: a guest power-off stops the machine instead of ending it. */
  noShutdown?: boolean;
  /**
   * -accel: "tcg" (the default) adds the WebAssembly translator; "interp"
   * interprets only.  The translator takes -accel's properties too, as in
   * "tcg,regroup=0" (see the README); they set the translator of this
   * process, so machines made later in it share them.
   */
  accel?: "interp" | "tcg" | `tcg,${string}`;
  /** -name */
  name?: string;
  /** -d: what to log through `log`. */
  debug?: LogItem[];
  /** Where the -d log goes (default: the host's standard error, or the console of a page). */
  log?: (text: string) => void;
  /** Where warnings go, a line at a time (QEMU's raw-probe warning, a netdev with no peer); default: as the log. */
  warn?: (line: string) => void;
}

/** A machine cannot be built from this configuration: the message says what is wrong, in one line. */
export class ConfigError extends Error {
  /** "ConfigError" */
  override name = "ConfigError";
}
