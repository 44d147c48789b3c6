/**
 * tsemu as a library: QEMU's RISC-V virt board in JavaScript.
 *
 * ```ts
 * import { createMachine } from "tsemu";
 * const machine = await createMachine({ memory: "256M", cpus: 2, kernel: "Image", initrd: "rootfs.cpio.gz", append: "console=ttyS0" });
 * machine.console.onData((bytes) => process.stdout.write(bytes));
 * machine.start();
 * await machine.console.waitFor("# ");
 * machine.console.write("uname -a\n");
 * ```
 *
 * This entry point runs anywhere JavaScript does (browsers, workers, Node):
 * images come as bytes or URLs.  In Node the package's "node" entry adds
 * files by path, Debian's OpenSBI as the default firmware, disk images on
 * disk and the network backends.
 */

/** Build a machine; the Machine class and its console; the events it sends. */
export {
  createMachine, Machine, MachineConsole,
  type MachineEvents, type MachineEventName, type ShutdownCause, type WaitOptions, type EngineStats,
} from "./system/machine.js";
/** What a machine is made of, with the command line's meanings. */
export {
  ConfigError,
  type MachineConfig, type DriveConfig, type ImageSource, type AiaMode, type LogItem,
} from "./system/machine-config.js";
/** What a machine needs of the place it runs in, and the portable host. */
export { webHost, type MachineHost } from "./system/machine-host.js";
/** QMP as typed calls. */
export { QmpClient, QmpCommandError, type QmpCommands, type QmpCommandName } from "./system/qmp-client.js";
/** The run states, as query-status names them. */
export type { RunState } from "./monitor/machine.js";
/** A disk of your own: bytes at offsets, read and written synchronously. */
export type { BlockBackend } from "./block/block.js";
/** The package's version. */
export { VERSION } from "./version.js";
