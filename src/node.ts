/**
 * tsemu's entry point in Node: everything the portable entry (index.ts) has,
 * with Node's host made the default, so that images may be file paths,
 * `firmware` defaults to Debian's OpenSBI, disks are image files opened as
 * -drive opens them, and -netdev user/socket/stream/dgram work.
 */
import { setDefaultHost } from "./system/machine.js";
import { nodeMachineHost } from "./host/machine-host.js";

setDefaultHost(nodeMachineHost());

export * from "./index.js";
/** The Node host, for createMachine's second argument when you wrap it in a host of your own. */
export { nodeMachineHost } from "./host/machine-host.js";
/** The user-mode emulator: run a riscv64 Linux program as tsemu-riscv64 does, each run a process of its own. */
export {
  runProgram, spawnProgram, ProgramOptionError,
  type ProgramOptions, type ProgramExit, type ProgramResult, type RunningProgram,
} from "./host/user-program.js";
