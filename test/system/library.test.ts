/**
 * The library (src/index.ts, src/node.ts): a virt machine built with
 * createMachine: the one-line errors a bad configuration gets (from files,
 * URLs, bytes, the device and netdev registries, and the portable host).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { repoRoot } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";
import { createMachine, ConfigError, webHost } from "../../src/node.js";

const ROOT = repoRoot(import.meta.url);
const PROMPT = "tsemu# ";


/** An HTTP server on the loopback serving `files` by name (404 for anything else). */
async function serve(files: Record<string, string>): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    const file = files[(req.url ?? "").slice(1)];
    if (file === undefined) { res.writeHead(404, "Not Found"); res.end(); return; }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

async function rejectsWith(config: Parameters<typeof createMachine>[0], pattern: RegExp, host?: Parameters<typeof createMachine>[1]): Promise<void> {
  await assert.rejects(createMachine(config, host), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n/, "one line");
    return true;
  });
}

test("a bad configuration is refused with one line saying what is wrong", async () => {
  const server = await serve({});
  try {
    await rejectsWith({ memory: "8M", firmware: "none" }, /^-m: \d+ bytes of RAM is too little \(at least 16M\)$/);
    await rejectsWith({ memory: "3G", firmware: "none" }, /^-m: at most 2047M of RAM is supported$/);
    await rejectsWith({ cpus: 9, firmware: "none" }, /^-smp 9: virt supports at most 8 CPUs$/);
    await rejectsWith({ firmware: "none", kernel: "/nonexistent/Image" }, /^-kernel \/nonexistent\/Image: no such file$/);
    await rejectsWith({ firmware: `${server.url}/missing.bin` }, /^-bios http:\/\/127\.0\.0\.1:\d+\/missing\.bin: HTTP 404 Not Found$/);
    await rejectsWith({ firmware: "none", initrd: new Uint8Array(16) }, /^-initrd: requires -kernel$/);
    await rejectsWith({ firmware: "none", devices: ["no-such-device"] }, /^-device no-such-device: 'no-such-device' is not a valid device model name$/);
    await rejectsWith({ firmware: "none", devices: ["virtio-blk-pci,drive=d9"] }, /^-device virtio-blk-pci,drive=d9: /);
    await rejectsWith({ firmware: "none", netdevs: ["tap,id=t0"] }, /^-netdev tap,id=t0: network backend 'tap' is not supported/);
    await rejectsWith({ firmware: "none", drives: [{ image: new Uint8Array(4096), interface: "none" }] }, /needs id=NAME/);
    // -accel as the command line takes it, and nothing else.
    await rejectsWith({ firmware: "none", accel: "kvm" as "tcg" }, /^-accel kvm: unknown accelerator 'kvm' \(expected one of: tcg, interp\)$/);
    await rejectsWith({ firmware: "none", accel: "tcg,threshold=0" }, /^-accel tcg,threshold=0: threshold must be at least 1$/);
    await rejectsWith({ firmware: "none", accel: "tcg,speed=11" }, /^-accel tcg,speed=11: unknown or malformed property 'speed=11' of accelerator 'tcg'/);
    await rejectsWith({ firmware: "none", accel: 1 as unknown as "tcg" }, /^-accel: expected a string such as "tcg" or "interp", not number$/);
    // The portable host has no files and no default firmware.
    await rejectsWith({}, /^no default firmware here: /, webHost());
    await rejectsWith({ firmware: "/some/file.bin" }, /^-bios \/some\/file\.bin: this host has no files/, webHost());
    await rejectsWith({ firmware: "none", netdevs: ["user,id=n0"] }, /network backend 'user' is not supported/, webHost());
  } finally {
    server.close();
  }
});

test("a hostfwd port that cannot be bound: createMachine rejects with QEMU's line, and hostfwd_add answers it", async () => {
  const holder = http.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const port = (holder.address() as { port: number }).port;
  try {
    const rule = `tcp:127.0.0.1:${port}-:22`;
    await rejectsWith({ firmware: "none", netdevs: [`user,id=n0,hostfwd=${rule}`], devices: ["virtio-net-pci,netdev=n0"] },
      new RegExp(`^-netdev user,id=n0,hostfwd=${rule}: Could not set up host forwarding rule '${rule}'$`));
    const m = await createMachine({ firmware: "none", startPaused: true, netdevs: ["user,id=n0"], devices: ["virtio-net-pci,netdev=n0"] });
    try {
      assert.equal(await m.hmp(`hostfwd_add n0 ${rule}`), `Could not set up host forwarding rule '${rule}'\r\n`);
      assert.equal(await m.hmp(`hostfwd_remove n0 tcp:127.0.0.1:${port}`), `host forwarding rule for tcp:127.0.0.1:${port} not found\r\n`);
    } finally {
      await m.powerOff();
    }
  } finally {
    holder.close();
  }
});

test("a machine boots Linux from a URL, bytes and an in-memory disk, and is driven through the API", async (t) => {
  if (spawnSync("mke2fs", ["-V"]).error !== undefined) { t.skip("mke2fs (e2fsprogs) is not installed"); return; }
  const images = defaultGuest(ROOT);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-library-"));
  const server = await serve({ Image: images.kernel });
  try {
    fs.mkdirSync(path.join(dir, "src"));
    fs.writeFileSync(path.join(dir, "src", "hello.txt"), "hello from bytes in memory\n");
    const disk = path.join(dir, "disk.img");
    const mk = spawnSync("mke2fs", ["-q", "-F", "-t", "ext2", "-d", path.join(dir, "src"), disk, "4M"], { encoding: "utf8" });
    assert.equal(mk.status, 0, mk.stderr);
    const m = await createMachine({
      memory: "256M", cpus: 2, kernel: `${server.url}/Image`, initrd: new Uint8Array(fs.readFileSync(images.initrd)),
      append: "console=ttyS0", drives: [{ image: new Uint8Array(fs.readFileSync(disk)), format: "raw" }],
      devices: ["virtio-rng-pci"],
      // -accel's properties (here the system emulator's default threshold, so the boot is the usual one).
      accel: "tcg,threshold=8192",
    });
    assert.equal(m.engine().accel, "tcg");
    const events: string[] = [];
    m.on("stop", () => events.push("stop"));
    m.on("resume", () => events.push("resume"));
    m.on("shutdown", (cause) => events.push(`shutdown:${cause.reason}`));
    let output = "";
    const decoder = new TextDecoder();
    m.console.onData((bytes) => { output += decoder.decode(bytes, { stream: true }); });
    assert.equal(m.status(), "running");
    m.start();
    await m.console.waitFor(PROMPT, { timeoutMs: 240_000 });
    m.console.write("uname -a\n");
    assert.match(await m.console.waitFor(PROMPT, { timeoutMs: 30_000 }), /Linux tsemu 6\.1\.\S+ .* riscv64 GNU\/Linux/);
    m.console.write("mount -t ext2 /dev/vda /mnt && cat /mnt/hello.txt\n");
    assert.match(await m.console.waitFor(PROMPT, { timeoutMs: 30_000 }), /hello from bytes in memory/);
    m.pause();
    assert.equal(m.status(), "paused");
    const stopped = m.instructions();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(m.instructions(), stopped, "no guest code runs while paused");
    m.resume();
    assert.equal(m.status(), "running");
    const status = await m.qmp.execute("query-status");
    assert.equal(status.status, "running");
    assert.match(await m.hmp("info pci"), /Bus\s+0, device\s+\d+, function 0:/);
    assert.equal(await m.powerOff(), 0);
    assert.deepEqual(events, ["stop", "resume", "shutdown:host-qmp-quit"]);
    assert.match(output, /Linux version 6\.1/);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
