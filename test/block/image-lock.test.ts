/**
 * Image locking against QEMU 7.2: tsemu takes the lock bytes QEMU takes for
 * the same drives (read back from /proc/locks), refuses images a QEMU
 * process writes with QEMU's words on one line, and QEMU refuses images a
 * tsemu process writes.  Images that only back others are shared.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  backingPermissions, devicePermissions, filePermissions, lockImage, toolPermissions, PERM_ALL, type FileLocks, type Permissions,
} from "../../src/block/image-lock.js";
import type { ImageFile } from "../../src/block/image-file.js";
import { MemoryImageFile } from "../../src/block/memory-file.js";
import { canLockFiles, fileLocks } from "../../src/host/ofd-lock.js";
import { repoRoot, which } from "../util/env.js";
import { QEMU_IMG, qemuImg, scratch } from "./qemu-img.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU_SYSTEM = path.join(ROOT, "bin", "tsemu-system-riscv64");
const TSEMU_IMG = path.join(ROOT, "bin", "tsemu-img");
const QEMU_SYSTEM = which("qemu-system-riscv64");
const SKIP = QEMU_IMG === undefined || QEMU_SYSTEM === undefined ? "needs qemu-img and qemu-system-riscv64 (scripts/deps.sh img system)"
  : !canLockFiles() ? "the native lock module is not built (scripts/build-native.sh)" : false;

// ---- the permission model, with a lock table standing in for the host ----

/** Lock bytes a use takes on a file whose locks are recorded here. */
function bytesTaken(p: Permissions): number[] {
  const taken: number[] = [];
  const locks: FileLocks = { lock: (o) => { taken.push(o); }, held: () => false };
  const file = Object.assign(new MemoryImageFile("x", new Uint8Array(0)), { locks }) as ImageFile;
  lockImage(file, p, "auto");
  return taken.sort((a, b) => a - b);
}

test("the lock bytes of each use follow QEMU 7.2's permissions", () => {
  const device = devicePermissions(true);
  assert.deepEqual(bytesTaken(filePermissions("qcow2", device, true)), [100, 101, 103, 201, 203], "a writable qcow2 disk");
  assert.deepEqual(bytesTaken(filePermissions("raw", device, true)), [100, 101, 201], "a writable raw disk");
  assert.deepEqual(bytesTaken(filePermissions("qcow2", devicePermissions(false), false)), [100, 201, 203], "readonly=on qcow2");
  assert.deepEqual(bytesTaken(filePermissions("raw", devicePermissions(false), false)), [100, 201], "readonly=on raw");
  assert.deepEqual(bytesTaken(filePermissions("raw", backingPermissions(device), false)), [100, 201, 203], "a raw backing file");
  assert.deepEqual(bytesTaken(filePermissions("qcow2", toolPermissions(false, false), false)), [100, 201, 203], "qemu-img info of qcow2");
  assert.deepEqual(bytesTaken(filePermissions("raw", toolPermissions(false, false), false)), [100], "qemu-img info of raw");
  assert.deepEqual(bytesTaken({ perm: filePermissions("qcow2", toolPermissions(false, false), false).perm, shared: PERM_ALL }), [100], "-U");
});

test("a conflict names the permission as QEMU does; locking=on without host locks is refused; off takes nothing", () => {
  const heldBytes = new Set([101]);
  const locks: FileLocks = { lock: () => undefined, held: (o) => heldBytes.has(o) };
  const file = Object.assign(new MemoryImageFile("img.qcow2", new Uint8Array(0)), { locks }) as ImageFile;
  assert.throws(() => lockImage(file, filePermissions("qcow2", toolPermissions(false, false), false), "auto"),
    { message: 'Failed to get shared "write" lock. Is another process using the image [img.qcow2]?' });
  heldBytes.clear();
  heldBytes.add(201);
  assert.throws(() => lockImage(file, filePermissions("raw", devicePermissions(true), true), "auto"),
    { message: 'Failed to get "write" lock. Is another process using the image [img.qcow2]?' });
  lockImage(file, filePermissions("raw", devicePermissions(true), true), "off");
  const plain = new MemoryImageFile("mem.img", new Uint8Array(0));
  lockImage(plain, devicePermissions(true), "auto");
  assert.throws(() => lockImage(plain, devicePermissions(true), "on"), /image locking is not available/);
});

// ---- against QEMU ----

const dir = SKIP === false ? scratch("lock") : "";
test.after(() => { if (dir !== "") fs.rmSync(dir, { recursive: true, force: true }); });
const at = (name: string): string => path.join(dir, name);

interface Run { status: number; stderr: string }

function run(cmd: string, args: string[]): Run {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: dir, timeout: 60_000 });
  return { status: r.status ?? -1, stderr: r.stderr };
}

/** Open the drives, write the device tree and leave: exit 0 when every drive opened. */
function dumpdtb(prog: string, drives: string[]): Run {
  return run(prog, ["-M", `virt,dumpdtb=${at("virt.dtb")}`, "-nographic", "-bios", "none", ...drives.flatMap((d) => ["-drive", d])]);
}

/** A machine that holds its drives until killed: stopped (-S), no console, no monitor. */
async function holding(prog: string, drives: string[], images: string | string[]): Promise<ChildProcess> {
  const child = spawn(prog, ["-M", "virt", "-nographic", "-S", "-bios", "none", "-monitor", "none", "-serial", "none",
    ...drives.flatMap((d) => ["-drive", d])], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => { stderr += b.toString(); });
  // Every image is locked once the drives are open (they open one after another).
  for (const image of typeof images === "string" ? [images] : images) {
    const fd = fs.openSync(at(image), "r");
    try {
      const locks = fileLocks(fd);
      assert.ok(locks !== undefined);
      for (let i = 0; i < 600 && !locks.held(100); i++) {
        if (child.exitCode !== null) throw new Error(`${path.basename(prog)} ended (${child.exitCode}): ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(locks.held(100), `${path.basename(prog)} did not lock ${image}`);
    } finally {
      fs.closeSync(fd);
    }
  }
  return child;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await ended;
}

/**
 * The lock table once it stops changing (two reads 200 ms apart agree): an
 * emulator may take a byte and let it go again while it opens a drive (a raw
 * image read-only: QEMU took 201 and dropped it once in a loaded CI run).
 */
async function settledLockTable(images: string[]): Promise<string> {
  let last = lockTable(images);
  for (let i = 0; i < 25; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = lockTable(images);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** The OFD lock bytes on each of `images` held by anyone, from /proc/locks ("inode: bytes"). */
function lockTable(images: string[]): string {
  const text = fs.readFileSync("/proc/locks", "utf8");
  return images.map((name) => {
    const ino = fs.statSync(at(name)).ino;
    const bytes = text.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === "OFDLCK" && f[5]?.endsWith(`:${ino}`))
      .flatMap((f) => {
        const out: number[] = [];
        for (let b = Number(f[6]); b <= Number(f[7]); b++) out.push(b);
        return out;
      }).sort((a, b) => a - b);
    return `${name}: ${bytes.join(" ")}`;
  }).join("\n");
}

const sha = (name: string): string => createHash("sha256").update(fs.readFileSync(at(name))).digest("hex");
/** QEMU's two lines (error, then hint) as tsemu prints them: one line, the hint after ". ". */
const oneLine = (qemuText: string, prog: string): string => qemuText.trim().replace(/^qemu-[a-z0-9-]+: /, `${prog}: `).replace("\n", ". ");

function images(): void {
  for (const f of fs.readdirSync(dir)) fs.rmSync(at(f));
  for (const [args, name] of [[["-f", "qcow2"], "a.qcow2"], [["-f", "raw"], "r.img"], [["-f", "raw"], "base.img"]] as const) {
    assert.equal(qemuImg("create", "-q", ...args, at(name), "16M").status, 0);
  }
  for (const o of ["o1.qcow2", "o2.qcow2"]) assert.equal(qemuImg("create", "-q", "-f", "qcow2", "-b", "base.img", "-F", "raw", at(o)).status, 0);
}

test("tsemu-system-riscv64 takes the lock bytes qemu-system-riscv64 takes for the same drives", { skip: SKIP }, async () => {
  images();
  const cases: { drives: string[]; files: string[] }[] = [
    { drives: ["file=a.qcow2,if=virtio", "file=r.img,if=virtio,format=raw"], files: ["a.qcow2", "r.img"] },
    { drives: ["file=a.qcow2,if=virtio,readonly=on", "file=r.img,if=virtio,format=raw,readonly=on"], files: ["a.qcow2", "r.img"] },
    { drives: ["file=o1.qcow2,if=virtio"], files: ["o1.qcow2", "base.img"] },
    { drives: ["file=r.img,if=virtio,format=raw,snapshot=on", "file=a.qcow2,if=virtio,snapshot=on"], files: ["r.img", "a.qcow2"] },
  ];
  for (const c of cases) {
    const tables: string[] = [];
    for (const prog of [QEMU_SYSTEM as string, TSEMU_SYSTEM]) {
      const child = await holding(prog, c.drives, c.files);
      try {
        tables.push(await settledLockTable(c.files));
      } finally {
        await stop(child);
      }
    }
    assert.equal(tables[1], tables[0], `-drive ${c.drives.join(" -drive ")}`);
    assert.match(tables[0], /\d/, "QEMU took locks");
  }
});

test("images a QEMU machine writes: tsemu refuses them with QEMU's words on one line and leaves them as they were", { skip: SKIP }, async () => {
  images();
  const qemu = await holding(QEMU_SYSTEM as string, ["file=a.qcow2,if=virtio", "file=r.img,if=virtio,format=raw", "file=o2.qcow2,if=virtio"], "a.qcow2");
  try {
    const before = sha("a.qcow2");
    for (const drive of ["file=a.qcow2,if=virtio", "file=r.img,if=virtio,format=raw", "file=r.img,if=virtio,format=raw,readonly=on",
      "file=a.qcow2,if=virtio,snapshot=on", "file=o2.qcow2,if=virtio"]) {
      const want = dumpdtb(QEMU_SYSTEM as string, [drive]);
      const got = dumpdtb(TSEMU_SYSTEM, [drive]);
      assert.equal(want.status, 1, want.stderr);
      assert.equal(got.status, 1, got.stderr);
      assert.equal(got.stderr.trim().split("\n").length, 1, got.stderr);
      // QEMU names the whole -drive argument, tsemu its file=; the rest is QEMU's text.
      assert.equal(got.stderr.trim().replace(/^[^:]*: -drive [^:]*: /, ""), oneLine(want.stderr, "").replace(/^[^:]*: -drive [^:]*: /, ""), drive);
    }
    // The backing file of a machine's overlay is shared with other readers.
    assert.equal(dumpdtb(TSEMU_SYSTEM, ["file=o1.qcow2,if=virtio"]).status, 0);
    // file.locking=off opens it anyway, as QEMU does.
    assert.equal(dumpdtb(TSEMU_SYSTEM, ["file=a.qcow2,if=virtio,file.locking=off"]).status, 0);
    for (const args of [["info", "a.qcow2"], ["check", "a.qcow2"], ["map", "a.qcow2"], ["convert", "-O", "raw", "a.qcow2", "copy.raw"],
      ["create", "-q", "-f", "qcow2", "a.qcow2", "1M"], ["create", "-q", "-f", "raw", "r.img", "1M"], ["snapshot", "-c", "s1", "a.qcow2"]]) {
      const want = run(QEMU_IMG as string, args);
      const got = run(TSEMU_IMG, args);
      assert.notEqual(want.status, 0, `qemu-img ${args.join(" ")}`);
      assert.equal(got.status, want.status, `tsemu-img ${args.join(" ")}: ${got.stderr}`);
      assert.equal(got.stderr.trim(), oneLine(want.stderr, "tsemu-img"), `tsemu-img ${args.join(" ")}`);
    }
    assert.equal(fs.statSync(at("r.img")).size, 16 << 20, "r.img was not cut short");
    assert.equal(sha("a.qcow2"), before, "a.qcow2 untouched");
    // -U shares the image, as with qemu-img; a raw image's readers need no -U.
    for (const args of [["info", "-U", "a.qcow2"], ["map", "--force-share", "a.qcow2"], ["info", "r.img"], ["compare", "-U", "a.qcow2", "a.qcow2"]]) {
      assert.equal(run(QEMU_IMG as string, args).status, 0, `qemu-img ${args.join(" ")}`);
      assert.equal(run(TSEMU_IMG, args).status, 0, `tsemu-img ${args.join(" ")}`);
    }
    assert.equal(run(TSEMU_IMG, ["check", "-U", "-r", "leaks", "a.qcow2"]).stderr.trim(),
      "tsemu-img: Could not open 'a.qcow2': force-share=on can only be used with read-only images");
  } finally {
    await stop(qemu);
  }
});

test("images a tsemu machine writes: QEMU refuses them, a second tsemu too, and the locks go with the process", { skip: SKIP }, async () => {
  images();
  const tsemu = await holding(TSEMU_SYSTEM, ["file=a.qcow2,if=virtio", "file=r.img,if=virtio,format=raw", "file=o1.qcow2,if=virtio"], "a.qcow2");
  const before = sha("r.img");
  try {
    for (const drive of ["file=a.qcow2,if=virtio", "file=r.img,if=virtio,format=raw", "file=r.img,if=virtio,format=raw,readonly=on"]) {
      const q = dumpdtb(QEMU_SYSTEM as string, [drive]);
      assert.equal(q.status, 1, `QEMU opened ${drive}`);
      assert.match(q.stderr, /Failed to get (shared )?"write" lock/);
      assert.equal(dumpdtb(TSEMU_SYSTEM, [drive]).status, 1, `a second tsemu opened ${drive}`);
    }
    assert.equal(dumpdtb(QEMU_SYSTEM as string, ["file=o2.qcow2,if=virtio"]).status, 0, "QEMU shares the backing file");
    const info = run(QEMU_IMG as string, ["info", "a.qcow2"]);
    assert.equal(info.status, 1);
    assert.match(info.stderr, /Failed to get shared "write" lock/);
    assert.equal(run(QEMU_IMG as string, ["create", "-q", "-f", "raw", "r.img", "1M"]).status, 1);
    assert.equal(sha("r.img"), before, "r.img untouched");
  } finally {
    await stop(tsemu, "SIGKILL");
  }
  assert.equal(run(QEMU_IMG as string, ["info", "a.qcow2"]).status, 0, "the locks ended with the killed process");
  assert.equal(dumpdtb(QEMU_SYSTEM as string, ["file=r.img,if=virtio,format=raw"]).status, 0);
});
