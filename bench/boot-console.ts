/** One boot to the default guest's shell prompt, timed: the emulator's console driven as a person would. */
import { Console } from "../test/util/console.js";

/** The guest shell's prompt (guest/initramfs/etc/profile). */
export const SHELL_PROMPT = "tsemu# ";

/** Seconds from starting `argv` (an emulator and its options) to the prompt; then poweroff and wait for the exit. */
export async function bootToShell(argv: string[], timeoutMs: number): Promise<number> {
  const start = process.hrtime.bigint();
  const c = new Console(argv);
  try {
    await c.expect(SHELL_PROMPT, timeoutMs);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    c.send("poweroff\n");
    await c.waitExit(120_000);
    return seconds;
  } finally {
    c.kill();
  }
}
