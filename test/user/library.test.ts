/**
 * The user-mode emulator through the library (runProgram, spawnProgram from
 * the package's Node entry): arguments, stdin, the environment, the working
 * directory, exit statuses, death by a signal, a program driven through its
 * streams, and the errors bad options and a missing program get.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runProgram, spawnProgram, ProgramOptionError } from "../../src/node.js";
import { repoRoot } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
let busybox = "";

before(() => {
  const r = spawnSync("bash", [path.join(ROOT, "guest/build-busybox.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  assert.equal(r.status, 0, "guest/build-busybox.sh failed");
  busybox = r.stdout.trim().split("\n").pop() as string;
});

const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

test("runProgram: arguments, stdin, environment, working directory and exit status", async () => {
  const echo = await runProgram({ program: busybox, args: ["echo", "hello", "from", "riscv64"] });
  assert.deepEqual({ status: echo.status, signal: echo.signal, out: text(echo.stdout), err: text(echo.stderr) },
    { status: 0, signal: null, out: "hello from riscv64\n", err: "" });

  const tr = await runProgram({ program: busybox, args: ["tr", "a-z", "A-Z"], input: "shout this\n" });
  assert.equal(text(tr.stdout), "SHOUT THIS\n");

  const env = await runProgram({ program: busybox, args: ["env"], env: { ONLY: "this", AND: "that" } });
  assert.deepEqual(text(env.stdout).trim().split("\n").sort(), ["AND=that", "ONLY=this"]);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-user-lib-"));
  try {
    const pwd = await runProgram({ program: busybox, args: ["pwd"], cwd: dir });
    assert.equal(text(pwd.stdout), `${fs.realpathSync(dir)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const argv0 = await runProgram({ program: busybox, argv0: "uname", args: ["-m"] });
  assert.equal(text(argv0.stdout), "riscv64\n", "argv0 picks the applet");

  const exit = await runProgram({ program: busybox, args: ["sh", "-c", "echo partial; exit 7"] });
  assert.deepEqual([exit.status, exit.signal, text(exit.stdout)], [7, null, "partial\n"]);
});

test("runProgram: a guest that dies of a signal ends with that signal", async () => {
  const r = await runProgram({ program: busybox, args: ["sh", "-c", "kill -SEGV $$"] });
  assert.deepEqual([r.status, r.signal], [null, "SIGSEGV"]);
});

test("runProgram: -strace's log goes to stderr in qemu-riscv64's format", async () => {
  const r = await runProgram({ program: busybox, args: ["true"], strace: true });
  assert.equal(r.status, 0);
  assert.match(text(r.stderr), /^\d+ exit_group\(0\)$/m);
});

test("spawnProgram: a program driven through its streams", async () => {
  const p = spawnProgram({ program: busybox, args: ["sh"] });
  assert.ok(p.stdin !== null && p.stdout !== null);
  const stdout = p.stdout;
  const line = (): Promise<string> => new Promise((resolve) => {
    stdout.once("data", (b: Buffer) => resolve(b.toString("utf8")));
  });
  const first = line();
  p.stdin.write("echo $((6 * 7))\n");
  assert.equal(await first, "42\n");
  const second = line();
  p.stdin.write(`${busybox} uname -s -m\n`);
  assert.equal(await second, "Linux riscv64\n", "the shell runs a guest program");
  p.stdin.end("exit 3\n");
  assert.deepEqual(await p.exited, { status: 3, signal: null });

  const sleeper = spawnProgram({ program: busybox, args: ["sleep", "30"] });
  sleeper.kill("SIGTERM");
  assert.deepEqual(await sleeper.exited, { status: null, signal: "SIGTERM" });
});

test("bad options throw ProgramOptionError; a missing or foreign program ends with status 1 and one line", async () => {
  assert.throws(() => spawnProgram({ program: busybox, stackSize: -1 }), (e: unknown) =>
    e instanceof ProgramOptionError && /^stackSize -1: a positive number of bytes is needed$/.test(e.message));
  assert.throws(() => spawnProgram({ program: "" }), ProgramOptionError);

  const missing = await runProgram({ program: "/nonexistent/prog" });
  assert.equal(missing.status, 1);
  assert.match(text(missing.stderr), /^tsemu-riscv64: \/nonexistent\/prog: no such file\n$/);

  const foreign = await runProgram({ program: process.execPath });
  assert.equal(foreign.status, 1);
  assert.equal(text(foreign.stderr).split("\n").length, 2, "one line");

  const accel = await runProgram({ program: busybox, args: ["true"], accel: "warp" });
  assert.equal(accel.status, 1);
  assert.match(text(accel.stderr), /^tsemu-riscv64: .*warp.*\n$/);
});
