/**
 * The default guest boots with a qcow2 overlay (made by tsemu-img) over a raw
 * ext2 image, writes a file and powers off; qemu-img finds the overlay clean,
 * sees the file through it, and the raw base is untouched.  Then
 * qemu-system-riscv64 boots the same overlay and reads the file.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";

const ROOT = repoRoot(import.meta.url);
const EMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const IMG = path.join(ROOT, "bin/tsemu-img");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const PROMPT = "tsemu# ";
const TEXT = "written by the guest into a qcow2 overlay";
let work = "";

before(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-qcow2-boot-")); });
after(() => { if (work !== "") fs.rmSync(work, { recursive: true, force: true }); });

async function sh(con: Console, command: string): Promise<string> {
  con.send(command + "\n");
  const out = (await con.expect(PROMPT, STEP_MS)).replace(/\r/g, "");
  const body = out.slice(0, out.length - PROMPT.length);
  const echo = body.indexOf(command + "\n");
  return echo < 0 ? body : body.slice(echo + command.length + 1);
}

const sha = (file: string): string => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

async function bootAndRun(t: TestContext, emu: string, kernel: string, initrd: string, drive: string, commands: string[]): Promise<string[]> {
  const con = new Console([emu, "-M", "virt", "-m", "256M", "-nographic", "-kernel", kernel, "-initrd", initrd,
    "-append", "console=ttyS0", "-drive", drive], { cwd: work });
  try {
    await con.expect(PROMPT, STEP_MS);
    const outputs: string[] = [];
    for (const c of commands) outputs.push(await sh(con, c));
    con.send("poweroff\n");
    const status = await con.waitExit(STEP_MS);
    assert.deepEqual(status, { code: 0, signal: null }, `${path.basename(emu)} ended with ${describeStatus(status)}\n${con.tail()}`);
    t.diagnostic(`${path.basename(emu)} done`);
    return outputs;
  } finally {
    con.kill();
  }
}

test("Linux boots with a qcow2 overlay over raw ext2, writes a file; qemu-img and QEMU see it", async (t: TestContext) => {
  for (const tool of ["mke2fs", "debugfs", "qemu-img"]) if (which(tool) === undefined) return t.skip(`${tool} is not installed`);
  let guest: { kernel: string; initrd: string };
  try {
    guest = defaultGuest(ROOT);
  } catch (err) {
    return t.skip(`the guest images are not built: ${(err as Error).message}`);
  }
  const base = path.join(work, "base.img");
  assert.equal(spawnSync("mke2fs", ["-q", "-F", "-t", "ext2", base, "8M"]).status, 0);
  const baseHash = sha(base);
  const overlay = path.join(work, "overlay.qcow2");
  const mk = spawnSync(IMG, ["create", "-q", "-f", "qcow2", "-b", "base.img", "-F", "raw", overlay], { encoding: "utf8" });
  assert.equal(mk.status, 0, mk.stderr);

  await bootAndRun(t, EMU, guest.kernel, guest.initrd, `file=${overlay},format=qcow2,if=virtio`,
    ["mount -t ext2 /dev/vda /mnt", `echo '${TEXT}' > /mnt/newfile`, "umount /mnt", "sync"]);

  assert.equal(sha(base), baseHash, "the raw base image was written");
  const check = spawnSync("qemu-img", ["check", overlay], { encoding: "utf8" });
  assert.equal(check.status, 0, `qemu-img check: ${check.stdout}${check.stderr}`);
  const flat = path.join(work, "flat.img");
  assert.equal(spawnSync("qemu-img", ["convert", "-O", "raw", overlay, flat]).status, 0);
  const cat = spawnSync("debugfs", ["-R", "cat /newfile", flat], { encoding: "utf8" });
  assert.equal(cat.stdout, TEXT + "\n", `debugfs: ${cat.stderr}`);

  const qemu = which("qemu-system-riscv64");
  if (qemu === undefined) { t.diagnostic("qemu-system-riscv64 not installed: QEMU boot skipped"); return; }
  const [seen] = await bootAndRun(t, qemu, guest.kernel, guest.initrd, `file=${overlay},format=qcow2,if=virtio`,
    ["mount -t ext2 /dev/vda /mnt && cat /mnt/newfile; umount /mnt"]);
  assert.ok(seen.includes(TEXT), `QEMU did not see the file:\n${seen}`);
});

/**
 * `qemu-img map --output=json` without host offsets: which guest ranges hold data and which
 * read as zeros (neighbours alike merged, since where clusters lie in the file may differ).
 */
function allocation(image: string): string[] {
  const r = spawnSync("qemu-img", ["map", "--output=json", image], { encoding: "utf8" });
  assert.equal(r.status, 0, `qemu-img map: ${r.stderr}`);
  const entries = JSON.parse(r.stdout) as { start: number; length: number; data: boolean; zero: boolean }[];
  const merged: { start: number; length: number; data: boolean; zero: boolean }[] = [];
  for (const e of entries) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.data === e.data && last.zero === e.zero && last.start + last.length === e.start) last.length += e.length;
    else merged.push({ ...e });
  }
  return merged.map((e) => `${e.start}+${e.length} data=${e.data} zero=${e.zero}`);
}

test("a guest's blkdiscard reaches a qcow2 image with discard=unmap: the range reads as zeros, the image stays clean, the clusters are freed", async (t: TestContext) => {
  if (which("qemu-img") === undefined) return t.skip("qemu-img is not installed");
  let guest: { kernel: string; initrd: string };
  try {
    guest = defaultGuest(ROOT);
  } catch (err) {
    return t.skip(`the guest images are not built: ${(err as Error).message}`);
  }
  const MIB = 1 << 20;
  const zeros = createHash("md5").update(new Uint8Array(2 * MIB)).digest("hex");
  const emulators = [EMU, which("qemu-system-riscv64")].filter((e): e is string => e !== undefined);
  if (emulators.length === 1) t.diagnostic("qemu-system-riscv64 not installed: the QEMU run was skipped");
  for (const emu of emulators) {
    const name = path.basename(emu);
    const image = path.join(work, `discard-${name}.qcow2`);
    const mk = spawnSync(IMG, ["create", "-q", "-f", "qcow2", image, "16M"], { encoding: "utf8" });
    assert.equal(mk.status, 0, mk.stderr);
    // 4 MiB of data, then the second and third MiB discarded and read back.
    const [, discarded, readBack] = await bootAndRun(t, emu, guest.kernel, guest.initrd, `file=${image},format=qcow2,if=virtio,discard=unmap`, [
      "dd if=/dev/urandom of=/dev/vda bs=1M count=4 conv=fsync 2>/dev/null",
      `blkdiscard -o ${MIB} -l ${2 * MIB} /dev/vda; echo status=$?`,
      "dd if=/dev/vda bs=1M skip=1 count=2 2>/dev/null | md5sum",
    ]);
    assert.ok(discarded.includes("status=0"), `${name}: blkdiscard failed: ${discarded}`);
    assert.ok(readBack.startsWith(zeros), `${name}: the discarded range does not read as zeros: ${readBack}`);
    const check = spawnSync("qemu-img", ["check", image], { encoding: "utf8" });
    assert.equal(check.status, 0, `qemu-img check after ${name}: ${check.stdout}${check.stderr}`);
    const map = allocation(image);
    t.diagnostic(`${name}: ${map.join("; ")}`);
    // QEMU 7.2 keeps the clusters and punches a hole in the file under them (data=true zero=true);
    // tsemu cannot punch holes from Node, so it frees the clusters (zero flag, as qemu-io's discard does).
    if (emu === EMU) {
      assert.deepEqual(map, [`0+${MIB} data=true zero=false`, `${MIB}+${2 * MIB} data=false zero=true`,
        `${3 * MIB}+${MIB} data=true zero=false`, `${4 * MIB}+${12 * MIB} data=false zero=true`]);
    }
  }
});
