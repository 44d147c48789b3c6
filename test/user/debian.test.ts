/**
 * Real programs from Debian trixie's riscv64 archive (unpacked into a sysroot
 * by guest/build-trixie-sysroot.sh) that start processes of their own:
 * Python 3's multiprocessing (a Pool of forked workers that share named
 * semaphores in /dev/shm, a Queue, a Value with its Lock, a Process) and
 * subprocess running a host program, and its sockets (a duplex
 * multiprocessing.Pipe, asyncio's Unix server, descriptors passed with
 * send_fds, http.server in a thread answering http.client), compared with
 * qemu-riscv64; and GCC 14, whose driver spawns cc1, as, collect2 and ld,
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

const PYTHON_SOCKETS = `
import asyncio, os, socket, threading, multiprocessing as mp, http.server, http.client

def child(conn):
    conn.send({"n": 42, "list": [1, 2, 3]})
    conn.send(conn.recv().upper())
    conn.close()

async def handle(reader, writer):
    data = await reader.readline()
    writer.write(data.upper())
    await writer.drain()
    writer.close()

async def unix_echo(path):
    server = await asyncio.start_unix_server(handle, path)
    async with server:
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"hello over asyncio\\n")
        await w.drain()
        line = await r.readline()
        w.close()
        return line.decode().strip()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("you asked for " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

if __name__ == "__main__":
    a, b = mp.Pipe()
    p = mp.Process(target=child, args=(b,))
    p.start()
    print("pipe", a.recv())
    a.send("thanks")
    print("pipe", a.recv())
    p.join()
    print("exitcode", p.exitcode)
    print("asyncio", asyncio.run(unix_echo("echo.sock")))
    s1, s2 = socket.socketpair()
    r, w = os.pipe()
    socket.send_fds(s1, [b"fd"], [r])
    msg, fds, flags, addr = socket.recv_fds(s2, 16, 1)
    os.write(w, b"via a passed descriptor")
    print("send_fds", msg, os.read(fds[0], 64))
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever)
    t.start()
    c = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1])
    c.request("GET", "/index.html")
    resp = c.getresponse()
    print("http", resp.status, resp.read().decode())
    c.close()
    httpd.shutdown()
    t.join()
`;

test("Python 3: sockets: multiprocessing.Pipe, an asyncio Unix server, send_fds, an HTTP server thread and client: as under qemu-riscv64", () => {
  fs.writeFileSync(path.join(work, "net.py"), PYTHON_SOCKETS);
  const python = path.join(sysroot, "usr/bin/python3");
  fs.rmSync(path.join(work, "echo.sock"), { force: true });
  const q = run("qemu-riscv64", ["-L", sysroot, python, "net.py"]);
  fs.rmSync(path.join(work, "echo.sock"), { force: true });
  const t = run(process.execPath, [TSEMU, "-accel", testAccel("interp"), "-L", sysroot, python, "net.py"]);
  assert.equal(q.status, 0, `qemu-riscv64 failed: ${q.stderr}`);
  assert.equal(t.stderr, q.stderr);
  assert.equal(t.stdout, q.stdout);
  assert.equal(t.status, q.status);
  assert.match(t.stdout, /\nhttp 200 you asked for \/index.html\n$/);
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
  const c = run(process.execPath, [TSEMU, "-accel", testAccel("tcg"), "-d", "stats", "-L", sysroot, gcc,
    `--sysroot=${sysroot}`, "-O2", "-o", "prog", "prog.c", "-lm"]);
  assert.equal(c.status, 0, `gcc under tsemu failed: ${c.stderr}`);
  assert.match(c.stderr, /forks=[1-9]/, "the driver's programs ran as processes of the run");
  const q = run("qemu-riscv64", ["-L", sysroot, "prog", "x", "y"]);
  assert.equal(q.stdout, "built by gcc 14, 3 args, sqrt(2) = 1.414214\n");
  assert.equal(q.status, 3);
});
