/**
 * The library (src/index.ts, src/node.ts): a virt machine built with
 * createMachine: the one-line errors a bad configuration gets (from files,
 * URLs, bytes, the device and netdev registries, and the portable host).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import { createMachine, ConfigError, webHost } from "../../src/node.js";


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
    // The portable host has no files and no default firmware.
    await rejectsWith({}, /^no default firmware here: /, webHost());
    await rejectsWith({ firmware: "/some/file.bin" }, /^-bios \/some\/file\.bin: this host has no files/, webHost());
    await rejectsWith({ firmware: "none", netdevs: ["user,id=n0"] }, /network backend 'user' is not supported/, webHost());
  } finally {
    server.close();
  }
});
