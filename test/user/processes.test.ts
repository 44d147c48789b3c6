/**
 * Guest processes inside one tsemu-riscv64 run, where qemu-riscv64 cannot be
 * the oracle: posix_spawn and vfork (qemu's vfork is a fork, and without
 * binfmt_misc its execve cannot start a riscv64 program), a fork bomb (not
 * run on the host), a background process that outlives its parent, the -d
 * stats figures, /proc/PID of a child and the guest's processes in a listing
 * of /proc (qemu-riscv64's are the host's), and job control in an interactive
 * shell on a pseudo-terminal (script(1) provides it): Ctrl-Z, fg, Ctrl-C, and
 * a background job stopped by SIGTTIN.  Expected results are Linux's.  (What qemu-riscv64 can
 * check, test/guest/procshare.c, is in the differential suite.)
 */
import { before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot, testAccel, which } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "dist/src/cli/tsemu-riscv64.js");
let guests = "";
let busybox = "";

before(() => {
  const built = (script: string): string => {
    const r = spawnSync("bash", [path.join(ROOT, script)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    assert.equal(r.status, 0, `${script} failed`);
    return r.stdout.trim().split("\n").pop() as string;
  };
  guests = built("guest/build-tests.sh");
  busybox = built("guest/build-busybox.sh");
});

function tsemu(args: string[], accel = testAccel("interp")): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [TSEMU, "-accel", accel, ...args], {
    encoding: "utf8", timeout: 120_000, env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
  });
}

test("posix_spawn starts the program on the caller's memory and reports a failed exec, as Linux does", () => {
  const r = tsemu([path.join(guests, "procshare"), "spawn"]);
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  assert.equal(r.stdout, [
    "posix_spawn: ok",
    "posix_spawn child wrote 1024 bytes",
    "posix_spawn child: exited 0",
    "posix_spawn of a missing program: ENOENT",
    "vfork child's store seen by the parent: 1",
    "",
  ].join("\n"));
});

test("/proc/PID of a forked child: its stat and status for itself, its cmdline and exe for its parent, gone once reaped", () => {
  const r = tsemu([path.join(guests, "procshare"), "proc"]);
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  assert.equal(r.stdout, [
    "child: stat pid 1, comm procshare, state R, ppid 1",
    "child: status Pid and PPid right: 2",
    "parent: child's cmdline has " + String(Buffer.byteLength(path.join(guests, "procshare")) + 6) + " bytes, second word proc",
    "parent: child's exe is this program: 1",
    "parent: /proc/PID of the child exists: 1",
    "parent: /proc/PID after the child is reaped: 0",
    "",
  ].join("\n"));
});

test("/proc lists the guest's processes and no host process; BusyBox ps shows each with its parent and state", () => {
  const bb = busybox;
  // The shell, a background sleep and ps itself: three processes, the shell the parent of the others.
  const script = `${bb} sleep 2 & ${bb} ps -o pid,ppid,stat,comm; ${bb} ls /proc | ${bb} grep -c '^[0-9]*$'; kill %1; wait`;
  const r = tsemu([bb, "sh", "-c", script]);
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0], /^\s*PID\s+PPID\s+STAT\s+COMMAND$/);
  const rows = lines.slice(1, 4).map((l) => l.trim().split(/\s+/));
  assert.equal(rows.length, 3);
  const [shell, sleep, ps] = rows;
  assert.deepEqual([shell[3], sleep[3], ps[3]], ["busybox", "busybox", "busybox"]);
  assert.equal(sleep[1], shell[0], "the background sleep is the shell's child");
  assert.equal(ps[1], shell[0], "ps is the shell's child");
  assert.match(sleep[2], /^S/, "the sleep sleeps");
  assert.match(ps[2], /^R/, "ps runs");
  // While ls reads /proc: the shell, the sleep, ls and grep (ps has ended).
  assert.equal(lines[4], "4");
});

test("a fork bomb ends in EAGAIN, every child is reaped, and -d stats counts the forks", () => {
  const r = tsemu(["-d", "stats", path.join(guests, "procshare"), "forkbomb", "64"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "fork failed with EAGAIN after some children\nreaped all yes\n");
  const m = /instructions=\d+ forks=(\d+) cow-copies=(\d+)/.exec(r.stderr);
  assert.ok(m !== null, `no fork figures in: ${r.stderr}`);
  // RLIMIT_NPROC binds a user; the superuser stops at tsemu's own limit on processes.
  const forks = Number(m[1]);
  assert.ok(forks >= 60 && forks <= 1024, `forks=${forks}`);
  assert.ok(Number(m[2]) > 0, "children that wrote to their stacks copied pages");
});

test("the run lasts until a background process its program left behind has ended", () => {
  const started = performance.now();
  const r = tsemu([busybox, "sh", "-c", "(sleep 0.5; echo late) & echo early; exit 3"]);
  assert.equal(r.stdout, "early\nlate\n");
  assert.equal(r.status, 3, "the status is the first process's");
  assert.ok(performance.now() - started >= 500, "tsemu returned before the background job ended");
});

test("a shell's subshells, pipelines, host programs and command substitutions run as processes of one tsemu", () => {
  const script = [
    "i=0; while [ $i -lt 50 ]; do i=$( (echo $((i+1))) | cat ); done; echo $i",
    "echo a b c | tr ' ' '\\n' | sort -r | head -n 2",
    "sleep 10 & kill $!; wait $!; echo killed=$?",
    "( exit 7 ); echo sub=$?",
  ].join("\n");
  // A low threshold, so that the processes' hot blocks are compiled (the default waits for 4096 runs).
  const r = tsemu([busybox, "sh", "-c", script], testAccel("tcg,threshold=16"));
  assert.equal(r.stderr, "Terminated\n", "the shell's word on the job it killed");
  assert.equal(r.stdout, "50\nc\nb\nkilled=143\nsub=7\n");
  assert.equal(r.status, 0);
});

test("a host program a guest execs has the guest's signal dispositions: SIGPIPE at its default unless the guest ignores it", () => {
  // The host's grep reads its own status: bit 12 of SigIgn is SIGPIPE (Node, which runs tsemu, ignores it).
  const sigIgn = (script: string): bigint => {
    const r = tsemu([busybox, "sh", "-c", `${script}; exec /usr/bin/grep SigIgn /proc/self/status`]);
    const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(r.stdout);
    assert.ok(m !== null, `no SigIgn line: ${r.stdout}${r.stderr}`);
    return BigInt(`0x${m[1]}`);
  };
  const PIPE = 1n << 12n;
  assert.equal(sigIgn("true") & PIPE, 0n, "SIGPIPE at its default action");
  assert.equal(sigIgn("trap '' PIPE") & PIPE, PIPE, "SIGPIPE ignored, as the guest left it");
  // And so a host program writing into a pipe whose reader has gone ends by SIGPIPE, silently, as under QEMU.
  const r = tsemu([busybox, "sh", "-c", "/usr/bin/yes | /usr/bin/head -n 2; echo done"]);
  assert.equal(r.stdout, "y\ny\ndone\n");
  assert.equal(r.stderr, "");
});

/**
 * Run `command` on a pseudo-terminal (script(1)) and type `keys` into it,
 * each after its pause in ms (generous enough for a loaded machine); what the
 * terminal showed, without carriage returns.  Undefined, the test skipped,
 * where script(1) is missing.
 */
function onTerminal(t: TestContext, command: string, keys: [number, string][], env: Record<string, string> = {}): string | undefined {
  const script = which("script");
  if (script === undefined) {
    t.skip("script(1) from util-linux is not installed");
    return undefined;
  }
  const typing = keys.map(([ms, text]) => `sleep ${ms / 1000}; printf '${text.replace(/\n/g, "\\n")}'`).join("; ");
  const r = spawnSync("bash", ["-c", `(${typing}) | ${script} -qfec "${command}" /dev/null`], {
    encoding: "utf8", timeout: 60_000, env: { PATH: "/usr/bin:/bin", LC_ALL: "C", TERM: "dumb", ...env },
  });
  return r.stdout.replace(/\r/g, "");
}

/** An interactive host bash, for tsemu run as one of its jobs. */
const HOST_BASH = "bash --norc --noprofile -i";

test("job control through a pseudo-terminal: a background job reading the terminal stops (SIGTTIN) until fg gives it the terminal", (t) => {
  const cat = `${busybox} cat`;
  const out = onTerminal(t, `${process.execPath} ${TSEMU} ${busybox} sh -i`, [
    [3000, `${cat} &\n`], [2500, "jobs\n"], [1500, "fg\n"], [1500, "typed line\n"], [1000, "\x04"],
    [1000, "echo st=$?\n"], [500, "exit 0\n"],
  ]);
  if (out === undefined) return;
  assert.match(out, /jobs\n\[1\]\+ +Stopped \(tty input\) +\S*busybox cat\n/, `the background cat did not stop:\n${out}`);
  // The terminal echoes the typed line, then cat writes it: twice.
  assert.match(out, /fg\n\S*busybox cat\ntyped line\ntyped line\n/, `cat in the foreground did not read:\n${out}`);
  assert.match(out, /st=0\n/, `cat did not end at Ctrl-D:\n${out}`);
});

test("tsemu as a background job of a host shell: a guest reading the terminal stops it until fg", (t) => {
  // Before, tsemu read the host terminal in the background: it took input typed for the
  // host shell, and the host's SIGTTIN reached the guest only later (a stop after fg).
  const out = onTerminal(t, HOST_BASH, [
    [1500, `${process.execPath} ${TSEMU} ${busybox} cat &\n`], [3000, "echo for-bash\n"], [1500, "jobs -l\n"],
    [1000, "fg\n"], [2000, "typed line\n"], [1000, "\x04"], [1500, "echo st=$?\n"], [500, "exit 0\n"],
  ], { PS1: "$ " });
  if (out === undefined) return;
  assert.match(out, /\nfor-bash\n/, `the host shell did not get its line:\n${out}`);
  // Stopped by the guest's own SIGTTIN, as Linux and qemu-riscv64 stop (not "Stopped (signal)": SIGSTOP).
  assert.match(out, /jobs -l\n\[1\]\+ +\d+ Stopped \(tty input\) +[^\n]*busybox cat\n/,
    `tsemu did not stop in the background:\n${out}`);
  assert.match(out, /fg\n[^\n]*busybox cat\ntyped line\ntyped line\n/, `cat in the foreground did not read:\n${out}`);
  assert.match(out, /st=0\n/, `cat did not end at Ctrl-D:\n${out}`);
});

test("Ctrl-Z in a host shell stops tsemu as it stops the guest (SIGTSTP), fg continues it, Ctrl-C reaches the guest", (t) => {
  const out = onTerminal(t, HOST_BASH, [
    [1500, `${process.execPath} ${TSEMU} ${busybox} sleep 30\n`], [3000, "\x1a"], [1500, "jobs -l\n"], [1000, "fg\n"],
    [2000, "\x03"], [1500, "echo st=$?\n"], [500, "exit 0\n"],
  ], { PS1: "$ " });
  if (out === undefined) return;
  // "Stopped" alone is SIGTSTP's; SIGSTOP's would read "Stopped (signal)".
  assert.match(out, /jobs -l\n\[1\]\+ +\d+ Stopped +\/[^\n]*busybox sleep 30\n/, `tsemu did not stop as by SIGTSTP:\n${out}`);
  assert.match(out, /st=130\n/, `Ctrl-C after fg did not end the guest:\n${out}`);
});

test("job control through a pseudo-terminal: Ctrl-Z stops the foreground job, fg continues it, Ctrl-C ends it", (t) => {
  const sleep = `${busybox} sleep 30`;
  const out = onTerminal(t, `${process.execPath} ${TSEMU} ${busybox} sh -i`, [
    [3000, `${sleep}\n`], [2500, "\x1a"], [1500, "jobs\n"], [1000, "fg\n"], [2000, "\x03"], [1000, "echo st=$?\n"],
    [500, "exit 0\n"],
  ]);
  if (out === undefined) return;
  assert.match(out, /\[1\]\+ +Stopped +\S*busybox sleep 30\n/, `no stopped job in:\n${out}`);
  assert.match(out, /jobs\n\[1\]\+ +Stopped +\S*busybox sleep 30\n/, `jobs does not list it:\n${out}`);
  assert.match(out, /st=130\n/, `Ctrl-C after fg did not end the job:\n${out}`);
});

test("a guest reading the terminal from an orphaned background group on the host gets EIO, as under qemu-riscv64", (t) => {
  // (cmd &) in an interactive bash: the subshell's group, left with no parent in the session, is orphaned.
  // The reader starts a second later, once bash has taken the terminal back from that group (it would read
  // as the foreground before), and both are typed at once, so no typed line waits for a reader to take it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-orphan-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (name: string, cmd: string): string => `((sleep 1; exec ${cmd} ${busybox} cat) </dev/tty 2>${dir}/${name} &)`;
  const out = onTerminal(t, HOST_BASH, [
    [1000, `${run("qemu", "qemu-riscv64")}; ${run("tsemu", `${process.execPath} ${TSEMU}`)}\n`], [8000, "exit 0\n"],
  ]);
  if (out === undefined) return;
  const qemu = fs.readFileSync(path.join(dir, "qemu"), "utf8");
  assert.match(qemu, /Input\/output error/, `qemu-riscv64's cat did not get EIO: ${qemu}`);
  assert.equal(fs.readFileSync(path.join(dir, "tsemu"), "utf8"), qemu);
});

test("a read that waits for the host's disk parks only its thread, a signal during it cuts nothing short, fsync meanwhile works", (t) => {
  // test/guest/slowread.c: a file written, dropped from the page cache (POSIX_FADV_DONTNEED) and read without
  // read-ahead (POSIX_FADV_RANDOM) by one thread while another counts; SIGALRM every 5 ms for the reader.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-slowread-"));
  try {
    const r = tsemu([path.join(guests, "slowread"), path.join(dir, "data")]);
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
    if (r.stdout === "cached\n") {
      t.skip("the host keeps the file in its page cache (a tmpfs?): no read waits for a disk");
      return;
    }
    assert.equal(r.stdout, [
      "read 67108864 of 67108864 bytes, 0 wrong, a read failed: no",
      "the other thread ran during the reads: yes",
      "signals taken by the reader: yes",
      "fsync: 0",
      "",
    ].join("\n"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
