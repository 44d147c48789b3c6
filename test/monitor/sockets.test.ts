/**
 * Monitors on sockets, end to end with tsemu-system-riscv64: bad input
 * (garbage bytes, a message of megabytes, clients that vanish mid-message or
 * mid-command) harms neither the guest nor the next client; one client at a
 * time per socket, as QEMU; several monitors at once, QMP and HMP, UNIX and
 * TCP; -chardev/-mon; -qmp-pretty; a server that waits for its first client.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { QmpClient } from "./qmp-client.js";
import { Emulator, RawClient, counterFirmware, freePort } from "./emulator.js";

let work = "";
let firmware = "";

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-monitor-"));
  firmware = counterFirmware(work);
});

after(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

const BASE = (): string[] => ["-M", "virt", "-m", "64M", "-display", "none", "-serial", "none", "-bios", firmware];

async function hmp(client: QmpClient, line: string): Promise<string> {
  const r = await client.execute("human-monitor-command", { "command-line": line });
  return String(r.reply.value.return);
}

/** The guest's counter, through HMP. */
async function counter(client: QmpClient): Promise<bigint> {
  const out = await hmp(client, "p /u $a0");
  return BigInt(out.trim());
}

async function assertRunning(client: QmpClient): Promise<void> {
  const before = await counter(client);
  await new Promise((r) => setTimeout(r, 100));
  const now = await counter(client);
  assert.ok(now > before, `the guest's counter should move: ${before} then ${now}`);
  assert.deepEqual((await client.execute("query-status")).reply.value.return, { status: "running", singlestep: false, running: true });
}

test("garbage, megabytes, vanishing clients: the guest runs on and the next client is served", async () => {
  const sock = path.join(work, "robust.qmp");
  const emu = new Emulator([...BASE(), "-qmp", `unix:${sock},server=on,wait=off`]);
  try {
    let c = await QmpClient.connect({ path: sock });
    await c.negotiate();

    // Random bytes without brackets or quotes (which would open a message that never ends).
    const garbage = Buffer.from([...randomBytes(65536)].filter((b) => !"{}[]\"'".includes(String.fromCharCode(b))));
    c.send(garbage);
    c.send(" {\"execute\": \"query-status\", \"id\": \"after-garbage\"}");
    let errors = 0;
    for (;;) {
      const m = await c.next();
      if (m.value.id === "after-garbage") break;
      assert.equal((m.value.error as { class: string }).class, "GenericError", m.raw);
      assert.ok(!("id" in m.value), "garbage errors carry no id");
      errors++;
    }
    assert.ok(errors > 0, "garbage answered with errors");

    // A message of 8 MiB (an id), echoed whole.
    const id = "x".repeat(8 * 1024 * 1024);
    c.send(JSON.stringify({ execute: "query-name", id }));
    const big = await c.untilReply(60_000); // 8 MiB each way: slow on a loaded machine
    assert.equal(big.reply.value.id, id);

    // Gone in the middle of a message, then in the middle of a command.
    c.send("{\"execute\": \"query-sta");
    c.close();
    c = await QmpClient.connect({ path: sock });
    await c.negotiate();
    c.send(JSON.stringify({ execute: "human-monitor-command", arguments: { "command-line": "info registers" } }));
    c.close();
    for (let i = 0; i < 20; i++) (await QmpClient.connect({ path: sock })).close();

    c = await QmpClient.connect({ path: sock });
    await c.negotiate();
    await assertRunning(c);
    await c.execute("quit");
    assert.equal(await emu.exit(), 0);
    assert.ok(!fs.existsSync(sock), "the socket file is removed at exit");
  } finally {
    emu.kill();
  }
});

test("one client at a time: a second one waits, unread and without a greeting, until the first leaves", async () => {
  const sock = path.join(work, "single.qmp");
  const emu = new Emulator([...BASE(), "-qmp", `unix:${sock},server=on,wait=off`]);
  try {
    const first = await QmpClient.connect({ path: sock });
    await first.negotiate();
    const second = await RawClient.connect({ path: sock });
    second.socket.write("{\"execute\": \"qmp_capabilities\"}{\"execute\": \"query-status\", \"id\": \"queued\"}");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(second.text, "", "no greeting while the first client is served");
    await assertRunning(first);
    first.close();
    const text = await second.waitFor(/"id": "queued"/);
    assert.match(text, /^\{"QMP": /);
    assert.match(text, /\{"return": \{\}\}\r\n\{"return": \{"status": "running", "singlestep": false, "running": true\}, "id": "queued"\}\r\n$/);
    second.socket.destroy();
  } finally {
    emu.kill();
  }
});

test("several monitors at once: QMP on UNIX and TCP, pretty QMP on a -chardev, HMP on a socket", async () => {
  const a = path.join(work, "a.qmp");
  const h = path.join(work, "h.hmp");
  const p = path.join(work, "p.qmp");
  const port = await freePort();
  const emu = new Emulator([...BASE(), "-name", "several",
    "-qmp", `unix:${a},server=on,wait=off`, "-qmp", `tcp::${port},server=on,wait=off`,
    "-monitor", `unix:${h},server=on,wait=off`,
    "-chardev", `socket,id=pq,path=${p},server=on,wait=off`, "-mon", "chardev=pq,mode=control,pretty=on"]);
  try {
    const qa = await QmpClient.connect({ path: a });
    await qa.negotiate();
    const qt = await QmpClient.connect({ host: "127.0.0.1", port });
    await qt.negotiate();
    assert.deepEqual((await qt.execute("query-name")).reply.value.return, { name: "several" });

    const pretty = await RawClient.connect({ path: p });
    await pretty.waitFor(/^\{\r\n {4}"QMP": \{\r\n {8}"version": \{\r\n/);
    pretty.socket.write("{\"execute\": \"qmp_capabilities\"}");
    await pretty.waitFor(/"return": \{\r\n {4}\}\r\n\}\r\n$/);

    const human = await RawClient.connect({ path: h });
    await human.waitFor(/^QEMU 7\.2\.0 monitor - type 'help' for more information\r\n\(qemu\) $/);
    human.socket.write("stop\r\n");
    await human.waitFor(/stop\r\n\(qemu\) $/);
    for (const q of [qa, qt]) {
      const m = await q.next();
      assert.equal(m.value.event, "STOP");
    }
    await pretty.waitFor(/"event": "STOP"\r\n\}\r\n$/);
    human.socket.write("info status\r\n");
    await human.waitFor(/VM status: paused\r\n\(qemu\) $/);

    const chardevs = (await qa.execute("query-chardev")).reply.value.return as { label: string; filename: string }[];
    assert.deepEqual(chardevs.map((c) => c.label), ["compat_monitor0", "compat_monitor1", "compat_monitor2", "pq"]);
    assert.match(chardevs[1].filename, new RegExp(`^tcp:127\\.0\\.0\\.1:${port},server=on <-> 127\\.0\\.0\\.1:\\d+$`));

    human.socket.write("quit\r\n");
    for (const q of [qa, qt]) {
      const m = await q.next();
      assert.equal(m.value.event, "SHUTDOWN");
      assert.deepEqual(m.value.data, { guest: false, reason: "host-qmp-quit" });
    }
    assert.equal(await emu.exit(), 0);
  } finally {
    emu.kill();
  }
});

test("without wait=off the guest starts only once a client is there", async () => {
  const sock = path.join(work, "wait.qmp");
  const emu = new Emulator([...BASE(), "-qmp", `unix:${sock},server=on`]);
  try {
    const start = Date.now();
    while (!emu.stderr.includes("waiting for connection")) {
      if (Date.now() - start > 20_000) throw new Error(`no waiting message; stderr: ${emu.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(emu.stderr, `QEMU waiting for connection on: disconnected:unix:${sock},server=on\n`);
    const c = await QmpClient.connect({ path: sock });
    await c.negotiate();
    await assertRunning(c);
    c.send("{\"execute\": \"quit\"}");
    assert.equal(await emu.exit(), 0);
  } finally {
    emu.kill();
  }
});

test("bad monitor options get one clear line", async () => {
  const cases: [string[], RegExp][] = [
    [["-qmp", "tcp:127.0.0.1:4444"], /-qmp tcp:127\.0\.0\.1:4444: only listening sockets are supported: add server=on/],
    [["-qmp", "tcp:127.0.0.1:99999,server=on"], /invalid port '99999'/],
    [["-qmp", "pty"], /-qmp pty: unsupported character device/],
    [["-mon", "chardev=nope"], /-mon chardev=nope: no -chardev with id=nope/],
    [["-chardev", "socket,path=/tmp/x,server=on"], /-chardev socket,path=\/tmp\/x,server=on: id=ID is required/],
    [["-monitor", "stdio", "-qmp", "stdio"], /cannot use stdio by multiple character devices/],
    [["-qmp", `unix:${path.join(work, "no-such-dir", "x")},server=on,wait=off`], /Failed to bind socket: No such file or directory/],
  ];
  for (const [args, message] of cases) {
    const emu = new Emulator([...BASE(), ...args]);
    try {
      assert.equal(await emu.exit(), 1, args.join(" "));
      assert.match(emu.stderr, message);
      assert.equal(emu.stderr.trimEnd().split("\n").length, 1, emu.stderr);
    } finally {
      emu.kill();
    }
  }
});
