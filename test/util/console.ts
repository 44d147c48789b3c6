/**
 * A driver for a program's console on stdio, such as an emulator run with
 * `-nographic`: start it with pipes, wait for text to appear, type into it, wait
 * for it to end. Like expect(1): each `expect` searches the output that earlier
 * calls have not consumed yet, so waiting for a shell prompt after a command finds
 * the next prompt, not the one before the command.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { StringDecoder } from "node:string_decoder";

/** How the program ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ConsoleOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each piece of console output as it arrives (for a live transcript). */
  onOutput?: (text: string) => void;
}

/** How many characters of output an error message shows. */
const TAIL = 2000;

export class Console {
  readonly argv: readonly string[];
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly decoder = new StringDecoder("utf8");
  private text = "";
  private errText = "";
  /** Where the next expect starts searching. */
  private mark = 0;
  private status: ExitStatus | undefined;
  private spawnError: Error | undefined;
  /** Called on every change: new output, exit, spawn failure. */
  private readonly listeners = new Set<() => void>();

  /** Starts argv[0] with argv[1..] and pipes for stdin, stdout and stderr. */
  constructor(argv: readonly string[], options: ConsoleOptions = {}) {
    if (argv.length === 0) throw new Error("Console: empty command line");
    this.argv = [...argv];
    this.child = spawn(argv[0], argv.slice(1), { cwd: options.cwd, env: options.env, stdio: "pipe" });
    this.child.stdout.on("data", (chunk: Buffer) => {
      const s = this.decoder.write(chunk);
      this.text += s;
      options.onOutput?.(s);
      this.notify();
    });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (s: string) => {
      this.errText += s;
      this.notify();
    });
    // Typing into a program that has exited is not an error of the caller's; the
    // exit itself is reported by expect and waitExit.
    this.child.stdin.on("error", () => undefined);
    this.child.on("error", (err) => {
      this.spawnError = err;
      this.notify();
    });
    this.child.on("close", (code, signal) => {
      this.text += this.decoder.end();
      this.status = { code, signal };
      this.notify();
    });
  }

  /** Everything the program has written to stdout so far. */
  get output(): string {
    return this.text;
  }

  /** The program's process id (undefined when it could not be started). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything the program has written to stderr so far. */
  get errorOutput(): string {
    return this.errText;
  }

  /** The exit status once the program has ended (and its output is complete). */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /**
   * Waits until `pattern` appears in the output after the previous match. Resolves
   * with that output, from the end of the previous match to the end of this one,
   * and consumes it. Rejects on timeout or when the program ends first, with the
   * last 2000 characters of output in the message.
   */
  expect(pattern: RegExp | string, timeoutMs: number): Promise<string> {
    const re = typeof pattern === "string" ? undefined : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
    const find = (): number => {
      const rest = this.text.slice(this.mark);
      if (re === undefined) {
        const at = rest.indexOf(pattern as string);
        return at < 0 ? -1 : this.mark + at + (pattern as string).length;
      }
      const m = re.exec(rest);
      return m === null ? -1 : this.mark + m.index + m[0].length;
    };
    const what = typeof pattern === "string" ? JSON.stringify(pattern) : String(pattern);
    return this.waitFor(timeoutMs, `${what} to appear`, () => {
      const end = find();
      if (end < 0) return undefined;
      const consumed = this.text.slice(this.mark, end);
      this.mark = end;
      return consumed;
    });
  }

  /** Types `text` into the program's stdin. */
  send(text: string): void {
    if (this.status === undefined) this.child.stdin.write(text);
  }

  /** Waits for the program to end; rejects on timeout (the program is left running). */
  waitExit(timeoutMs: number): Promise<ExitStatus> {
    return this.waitFor(timeoutMs, "the program to exit", () => this.status, true);
  }

  /** Kills the program (SIGKILL) unless it has ended already. */
  kill(): void {
    if (this.status === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
    }
  }

  /** The end of the output, for error messages. */
  tail(chars = TAIL): string {
    return this.text.length > chars ? "..." + this.text.slice(-chars) : this.text;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Resolves with the first defined value of `check`, evaluated now and on every
   * change; rejects after `timeoutMs`, or once the program has ended (unless
   * `exitIsSuccess`, when `check` is expected to see the exit).
   */
  private waitFor<T>(timeoutMs: number, what: string, check: () => T | undefined, exitIsSuccess = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (why: string): void => {
        done();
        const stderr = this.errText.trim() === "" ? "" : `\n--- stderr (last ${TAIL} characters):\n${this.errText.slice(-TAIL)}`;
        reject(new Error(`${this.argv[0]}: ${why} while waiting for ${what}\n--- output (last ${TAIL} characters):\n${this.tail()}${stderr}`));
      };
      const poll = (): void => {
        const value = check();
        if (value !== undefined) {
          done();
          resolve(value);
        } else if (this.spawnError !== undefined) {
          fail(`cannot run it (${this.spawnError.message})`);
        } else if (this.status !== undefined && !exitIsSuccess) {
          fail(`it exited (${describeStatus(this.status)})`);
        }
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(poll);
      };
      this.listeners.add(poll);
      poll();
    });
  }
}

/** "code 0" or "signal SIGKILL". */
export function describeStatus(s: ExitStatus): string {
  return s.signal !== null ? `signal ${s.signal}` : `code ${String(s.code)}`;
}

/**
 * Types a shell command at `prompt` and waits for the next prompt; returns
 * what the command printed (LF line ends).  The line editor wraps the echo of
 * a long command, so the output is found after a marker that the echo cannot
 * contain (it has quotes in the middle).
 */
export async function shell(con: Console, command: string, prompt: string, timeoutMs: number): Promise<string> {
  con.send(`echo @@""@@; ${command}\n`);
  const out = (await con.expect(prompt, timeoutMs)).replace(/\r/g, "");
  const body = out.slice(0, out.length - prompt.length);
  const start = body.indexOf("@@@@\n");
  return start < 0 ? body : body.slice(start + 5);
}
