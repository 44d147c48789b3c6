/**
 * Real programs from Debian trixie's riscv64 archive (unpacked into a sysroot
 * by guest/build-trixie-sysroot.sh) that start processes of their own:
 * Python 3's multiprocessing (a Pool of forked workers that share named
 * semaphores in /dev/shm, a Queue, a Value with its Lock, a Process) and
 * subprocess running a host program, compared with qemu-riscv64; and GCC 14, whose driver spawns cc1, as, collect2 and ld,
 * compiling and linking a C program that then runs under qemu-riscv64.
 * (qemu-riscv64 cannot run GCC itself: its execve is the host's, so the
 * driver could not start cc1.)
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot, testAccel } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "dist/src/cli/tsemu-riscv64.js");
let sysroot = "";
let work = "";

before(() => {
  const r = spawnSync("bash", [path.join(ROOT, "guest/build-trixie-sysroot.sh")], {
    encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
  });
  assert.equal(r.status, 0, "guest/build-trixie-sysroot.sh failed");
  sysroot = r.stdout.trim().split("\n").pop() as string;
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-debian-"));
});

const ENV = { PATH: "/usr/bin:/bin", LC_ALL: "C", HOME: "/nonexistent" };

function run(cmd: string, args: string[]): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  return spawnSync(cmd, args, { cwd: work, encoding: "utf8", timeout: 600_000, env: ENV });
}

const PYTHON = `
import multiprocessing as mp, subprocess

def square(x):
    return x * x

def count(total, lock, n):
    for _ in range(n):
        with lock:
            total.value += 1

if __name__ == "__main__":
    with mp.Pool(3) as pool:
        print("pool", sum(pool.map(square, range(100))))
    q = mp.Queue()
    p = mp.Process(target=q.put, args=("from a child",))
    p.start()
    print("queue", q.get())
    p.join()
    print("exitcode", p.exitcode)
    total, lock = mp.Value("i", 0), mp.Lock()
    workers = [mp.Process(target=count, args=(total, lock, 200)) for _ in range(3)]
    for w in workers: w.start()
    for w in workers: w.join()
    print("shared value", total.value)
    r = subprocess.run(["/bin/echo", "from", "subprocess"], capture_output=True, text=True)
    print(r.returncode, r.stdout.strip())
`;

test("Python 3: multiprocessing.Pool, Queue, Value and Lock across forked workers, subprocess: as under qemu-riscv64", () => {
  fs.writeFileSync(path.join(work, "mp.py"), PYTHON);
  const python = path.join(sysroot, "usr/bin/python3");
  const q = run("qemu-riscv64", ["-L", sysroot, python, "mp.py"]);
  const t = run(process.execPath, [TSEMU, "-accel", testAccel("interp"), "-L", sysroot, python, "mp.py"]);
  assert.equal(q.status, 0, `qemu-riscv64 failed: ${q.stderr}`);
  assert.equal(t.stderr, q.stderr);
  assert.equal(t.stdout, q.stdout);
  assert.equal(t.status, q.status);
  assert.match(t.stdout, /^pool 328350\nqueue from a child\nexitcode 0\nshared value 600\n0 from subprocess\n$/);
});

test("GCC 14: the driver runs cc1, as, collect2 and ld as processes of one tsemu; the program it builds runs", () => {
  fs.writeFileSync(path.join(work, "prog.c"), [
    "#include <stdio.h>",
    "#include <math.h>",
    "int main(int argc, char **argv) {",
    "  printf(\"built by gcc %d, %d args, sqrt(2) = %.6f\\n\", __GNUC__, argc, sqrt(2.0));",
    "  return 3;",
    "}",
    "",
  ].join("\n"));
  const gcc = path.join(sysroot, "usr/bin/gcc");
  const c = run(process.execPath, [TSEMU, "-accel", testAccel("interp"), "-d", "stats", "-L", sysroot, gcc,
    `--sysroot=${sysroot}`, "-O2", "-o", "prog", "prog.c", "-lm"]);
  assert.equal(c.status, 0, `gcc under tsemu failed: ${c.stderr}`);
  assert.match(c.stderr, /forks=[1-9]/, "the driver's programs ran as processes of the run");
  const q = run("qemu-riscv64", ["-L", sysroot, "prog", "x", "y"]);
  assert.equal(q.stdout, "built by gcc 14, 3 args, sqrt(2) = 1.414214\n");
  assert.equal(q.status, 3);
});
