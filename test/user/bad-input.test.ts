/**
 * tsemu-riscv64 given something it cannot run must fail cleanly: a non-zero
 * exit status, nothing on stdout, exactly one line on stderr that starts
 * with "tsemu-riscv64: " and names the file, and no JavaScript stack trace.
 *
 * TSEMU_CMD replaces the tsemu-riscv64 command line (split on spaces).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot, which } from "../util/env.js";

interface BadInput {
  title: string;
  /** Returns the path to give tsemu-riscv64, creating files in dir as needed. */
  make: (dir: string) => string;
}

const RUN_TIMEOUT_MS = 30_000;

const root = repoRoot(import.meta.url);

function tsemuCommand(): string[] {
  const override = process.env.TSEMU_CMD;
  if (override) {
    const words = override.trim().split(/\s+/).filter((w) => w.length > 0);
    const exe = words.length > 0 ? which(words[0]) : undefined;
    if (!exe) throw new Error(`TSEMU_CMD: '${override}' not found on PATH`);
    return [exe, ...words.slice(1)];
  }
  const cli = path.join(root, "dist", "src", "cli", "tsemu-riscv64.js");
  if (!fs.existsSync(cli)) throw new Error(`${cli} does not exist: run npm run build first`);
  return [process.execPath, cli];
}

/** A riscv64 static executable from the guest test build. */
function riscvProgram(): string {
  const build = spawnSync("bash", [path.join(root, "guest", "build-tests.sh")], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (build.error || build.status !== 0) {
    throw new Error(
      `guest/build-tests.sh failed; it needs riscv64-linux-gnu-gcc (scripts/deps.sh user installs it):\n` +
        `${build.error?.message ?? ""}${build.stderr}`,
    );
  }
  const lines = build.stdout.trim().split("\n");
  const program = path.join(lines[lines.length - 1] ?? "", "hello");
  if (!fs.existsSync(program)) throw new Error(`${program} was not built`);
  return program;
}

/** An executable ELF file of the host (not riscv64). */
function hostElf(): string {
  for (const candidate of ["/bin/true", "/usr/bin/true", process.execPath]) {
    try {
      const head = Buffer.alloc(4);
      const fd = fs.openSync(candidate, "r");
      fs.readSync(fd, head, 0, 4, 0);
      fs.closeSync(fd);
      if (head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error("no host ELF executable found");
}

const EM_RISCV = 243;

const CASES: BadInput[] = [
  { title: "missing file", make: (dir) => path.join(dir, "no-such-program") },
  {
    title: "text file",
    make: (dir) => {
      const p = path.join(dir, "notes.txt");
      fs.writeFileSync(p, "this is not an executable\njust text\n", { mode: 0o755 });
      return p;
    },
  },
  {
    title: "shell script",
    make: (dir) => {
      const p = path.join(dir, "script.sh");
      fs.writeFileSync(p, "#!/bin/sh\necho hello\n", { mode: 0o755 });
      return p;
    },
  },
  {
    title: "empty file",
    make: (dir) => {
      const p = path.join(dir, "empty");
      fs.writeFileSync(p, "", { mode: 0o755 });
      return p;
    },
  },
  {
    title: "ELF for another machine",
    make: (dir) => {
      const src = hostElf();
      const head = fs.readFileSync(src).subarray(0, 20);
      assert.notEqual(head.readUInt16LE(18), EM_RISCV, `${src} is a riscv ELF`);
      const p = path.join(dir, "host-program");
      fs.copyFileSync(src, p);
      fs.chmodSync(p, 0o755);
      return p;
    },
  },
  {
    title: "truncated riscv64 ELF (first 100 bytes)",
    make: (dir) => {
      const whole = fs.readFileSync(riscvProgram());
      const p = path.join(dir, "truncated");
      fs.writeFileSync(p, whole.subarray(0, 100), { mode: 0o755 });
      return p;
    },
  },
  {
    title: "riscv64 ELF marked 32-bit",
    make: (dir) => {
      const whole = Buffer.from(fs.readFileSync(riscvProgram()));
      whole[4] = 1; // EI_CLASS = ELFCLASS32
      const p = path.join(dir, "wrong-class");
      fs.writeFileSync(p, whole, { mode: 0o755 });
      return p;
    },
  },
  {
    title: "directory",
    make: (dir) => {
      const p = path.join(dir, "a-directory");
      fs.mkdirSync(p);
      return p;
    },
  },
];

describe("tsemu-riscv64 rejects bad input cleanly", () => {
  let dir = "";
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-bad-input-"));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    test(c.title, () => {
      const cmd = tsemuCommand();
      const target = c.make(dir);
      const r = spawnSync(cmd[0], [...cmd.slice(1), target], {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
        timeout: RUN_TIMEOUT_MS,
        killSignal: "SIGKILL",
        input: "",
      });
      const shown = `command: ${[...cmd, target].join(" ")}\nstatus: ${String(r.status)} signal: ${String(r.signal)}\nstdout: ${JSON.stringify(r.stdout)}\nstderr: ${JSON.stringify(r.stderr)}`;
      assert.equal(r.error, undefined, `could not run tsemu-riscv64: ${r.error?.message ?? ""}`);
      assert.equal(r.signal, null, `killed by a signal\n${shown}`);
      assert.notEqual(r.status, 0, `exit status must be non-zero\n${shown}`);
      assert.equal(r.stdout, "", `nothing may be written to stdout\n${shown}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `stderr has a stack trace\n${shown}`);
      const lines = r.stderr.split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      assert.equal(lines.length, 1, `stderr must be exactly one line\n${shown}`);
      assert.ok(lines[0].startsWith("tsemu-riscv64: "), `stderr must start with "tsemu-riscv64: "\n${shown}`);
      assert.ok(lines[0].includes(target), `stderr must name ${target}\n${shown}`);
    });
  }

  test("no program given", () => {
    const cmd = tsemuCommand();
    const r = spawnSync(cmd[0], cmd.slice(1), {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
      timeout: RUN_TIMEOUT_MS,
      killSignal: "SIGKILL",
      input: "",
    });
    const shown = `status: ${String(r.status)} signal: ${String(r.signal)}\nstderr: ${JSON.stringify(r.stderr)}`;
    assert.equal(r.signal, null, shown);
    assert.notEqual(r.status, 0, `exit status must be non-zero\n${shown}`);
    assert.match(r.stderr, /tsemu-riscv64/, `stderr must say what went wrong\n${shown}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `stderr has a stack trace\n${shown}`);
  });
});
