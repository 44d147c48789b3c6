/**
 * The socket backends over real loopback sockets (src/host/net-sockets.ts):
 * QEMU's length-prefixed stream framing with split and coalesced reads, a
 * malformed length closing the connection, one peer at a time, datagrams,
 * and holding frames while the frontend has no buffers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FrameReader, frameWithLength, MAX_STREAM_FRAME } from "../../src/net/frame-stream.js";
import { netdevTypes } from "../../src/system/netdevs.js";
import { nodeNetHost } from "../../src/host/net-sockets.js";
import { NetdevError, type NetBackend } from "../../src/net/net-client.js";

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A frontend that takes frames while `open`, else refuses. */
function frontend(): { frames: Uint8Array[]; open: boolean; deliver(f: Uint8Array): boolean } {
  return {
    frames: [], open: true,
    deliver(f) {
      if (!this.open) return false;
      this.frames.push(f.slice());
      return true;
    },
  };
}

test("FrameReader: frames split at every byte, several in one read, and bad lengths", () => {
  const frames = [Uint8Array.of(1, 2, 3), new Uint8Array(1500).fill(7), Uint8Array.of(9)];
  const wire = new Uint8Array(frames.reduce((n, f) => n + 4 + f.length, 0));
  let at = 0;
  for (const f of frames) { wire.set(frameWithLength(f), at); at += 4 + f.length; }
  const out: Uint8Array[] = [];
  const r = new FrameReader();
  for (let i = 0; i < wire.length; i++) assert.equal(r.push(wire.subarray(i, i + 1), (f) => out.push(f)), undefined);
  assert.deepEqual(out, frames);
  const all: Uint8Array[] = [];
  assert.equal(new FrameReader().push(wire, (f) => all.push(f)), undefined);
  assert.deepEqual(all, frames);
  assert.match(new FrameReader().push(Uint8Array.of(0, 0, 0, 0), () => {}) ?? "", /frame length 0/);
  const big = new Uint8Array(4);
  new DataView(big.buffer).setUint32(0, MAX_STREAM_FRAME + 1);
  assert.match(new FrameReader().push(big, () => {}) ?? "", /frame length 69633/);
});

test("-netdev socket,listen: length-prefixed frames both ways, split and coalesced; a bad length closes only that peer", async () => {
  const port = await freePort();
  const logs: string[] = [];
  const host = nodeNetHost((m) => logs.push(m));
  const be = await netdevTypes().create("socket", "n0", new Map([["id", "n0"], ["listen", `127.0.0.1:${port}`]]), host);
  try {
    const fe = frontend();
    be.attach(fe);
    assert.equal(be.info(), "");
    be.send(Uint8Array.of(1, 2, 3)); // no peer yet: dropped
    const peer = net.connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    peer.on("data", (d: Buffer) => received.push(d));
    await new Promise((r) => peer.once("connect", r));
    await until(() => be.info().startsWith("socket: connection from 127.0.0.1:"), "the connection");
    // Two frames in one write, then one split over three writes.
    const a = new Uint8Array(60).fill(0xa);
    const b = new Uint8Array(70).fill(0xb);
    const c = new Uint8Array(2000).fill(0xc);
    peer.write(Buffer.concat([frameWithLength(a), frameWithLength(b)]));
    const cw = frameWithLength(c);
    peer.write(cw.subarray(0, 2));
    await wait(20);
    peer.write(cw.subarray(2, 1000));
    await wait(20);
    peer.write(cw.subarray(1000));
    await until(() => fe.frames.length === 3, "three frames");
    assert.deepEqual(fe.frames, [a, b, c]);
    // Guest to peer.
    be.send(Uint8Array.of(5, 6, 7, 8));
    await until(() => Buffer.concat(received).length === 8, "the framed frame");
    assert.deepEqual([...Buffer.concat(received)], [0, 0, 0, 4, 5, 6, 7, 8]);
    // A second peer is turned away while the first is there.
    const second = net.connect(port, "127.0.0.1");
    await new Promise((r) => second.once("close", r));
    // A length of 0 closes the connection with a log line.
    peer.write(Uint8Array.of(0, 0, 0, 0));
    await new Promise((r) => peer.once("close", r));
    assert.ok(logs.some((l) => /netdev n0: 127\.0\.0\.1:\d+ sent frame length 0/.test(l)), logs.join("\n"));
    await until(() => be.info() === "", "the backend to forget the peer");
    // A new peer is taken after that.
    const third = net.connect(port, "127.0.0.1");
    await new Promise((r) => third.once("connect", r));
    await until(() => be.info().startsWith("socket: connection from"), "the new connection");
    third.write(frameWithLength(a));
    await until(() => fe.frames.length === 4, "a frame from the new peer");
    third.destroy();
  } finally {
    be.close();
  }
});

test("frames are held while the frontend has no buffers, and delivered in order on resume", async () => {
  const port = await freePort();
  const host = nodeNetHost(() => {});
  const types = netdevTypes();
  const server = await types.create("stream", "s", new Map([["server", "on"], ["addr.type", "inet"], ["addr.host", "127.0.0.1"], ["addr.port", `${port}`]]), host);
  const client = await types.create("stream", "c", new Map([["server", "off"], ["addr.type", "inet"], ["addr.host", "127.0.0.1"], ["addr.port", `${port}`]]), host);
  try {
    const fs = frontend();
    const fc = frontend();
    server.attach(fs);
    client.attach(fc);
    assert.equal(client.info(), `tcp:127.0.0.1:${port}`);
    await until(() => server.info().startsWith("tcp:127.0.0.1:"), "the server's peer");
    fs.open = false;
    for (let i = 0; i < 5; i++) client.send(new Uint8Array(64).fill(i));
    await wait(100);
    assert.equal(fs.frames.length, 0);
    fs.open = true;
    server.resume();
    assert.deepEqual(fs.frames.map((f) => f[0]), [0, 1, 2, 3, 4]);
    server.send(Uint8Array.of(42));
    await until(() => fc.frames.length === 1, "server to client");
  } finally {
    client.close();
    server.close();
  }
});

test("-netdev stream over a Unix socket: addr.type=unix, QEMU's info text", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-net-"));
  const sock = path.join(dir, "wire.sock");
  const host = nodeNetHost(() => {});
  const types = netdevTypes();
  const opts = (server: string): Map<string, string> => new Map([["server", server], ["addr.type", "unix"], ["addr.path", sock]]);
  const server = await types.create("stream", "s", opts("on"), host);
  const client = await types.create("stream", "c", opts("off"), host);
  try {
    const fs1 = frontend();
    server.attach(fs1);
    client.attach(frontend());
    await until(() => server.info() === `unix:${sock}`, "the server's peer");
    assert.equal(client.info(), `unix:${sock}`);
    client.send(new Uint8Array(1514).fill(9));
    await until(() => fs1.frames.length === 1, "a frame over the Unix socket");
    assert.equal(fs1.frames[0].length, 1514);
  } finally {
    client.close();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("-netdev dgram and socket,udp: one frame per datagram", async () => {
  const host = nodeNetHost(() => {});
  const [p1, p2] = [await freePort(), await freePort()];
  const peer = dgram.createSocket("udp4");
  await new Promise<void>((r) => peer.bind(p2, "127.0.0.1", r));
  const got: Buffer[] = [];
  peer.on("message", (m) => got.push(m));
  const be = await netdevTypes().create("dgram", "d", new Map([["local.type", "inet"], ["local.host", "127.0.0.1"],
    ["local.port", `${p1}`], ["remote.type", "inet"], ["remote.host", "127.0.0.1"], ["remote.port", `${p2}`]]), host);
  try {
    assert.equal(be.info(), `udp=127.0.0.1:${p1}/127.0.0.1:${p2}`);
    const fe = frontend();
    be.attach(fe);
    be.send(new Uint8Array(100).fill(3));
    await until(() => got.length === 1, "a datagram");
    assert.equal(got[0].length, 100);
    peer.send(new Uint8Array(60).fill(4), p1, "127.0.0.1");
    await until(() => fe.frames.length === 1, "a frame");
    assert.equal(fe.frames[0].length, 60);
  } finally {
    be.close();
    peer.close();
  }
});

test("-netdev socket,mcast= and dgram with a multicast remote: every member hears every frame, its own too", async () => {
  const host = nodeNetHost(() => {});
  const port = await freePort();
  const group = `239.255.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
  const a = await netdevTypes().create("socket", "a", new Map([["mcast", `${group}:${port}`]]), host);
  const b = await netdevTypes().create("dgram", "b", new Map([["remote.type", "inet"], ["remote.host", group], ["remote.port", `${port}`]]), host);
  try {
    assert.equal(a.info(), `socket: mcast=${group}:${port}`);
    assert.equal(b.info(), `mcast=${group}:${port}`);
    const fa = frontend();
    const fb = frontend();
    a.attach(fa);
    b.attach(fb);
    a.send(new Uint8Array(90).fill(7));
    await until(() => fa.frames.length === 1 && fb.frames.length === 1, "the frame at both members");
    b.send(new Uint8Array(70).fill(8));
    await until(() => fa.frames.length === 2 && fb.frames.length === 2, "the second frame at both members");
    assert.deepEqual(fa.frames.map((f) => f.length), [90, 70]);
    assert.deepEqual(fb.frames.map((f) => f.length), [90, 70]);
  } finally {
    a.close();
    b.close();
  }
});

test("-netdev dgram over Unix sockets: QEMU's info text, one frame per datagram both ways, a stale socket file replaced", async () => {
  const host = nodeNetHost(() => {});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-udgram-"));
  const [pa, pb] = [path.join(dir, "a.sock"), path.join(dir, "b.sock")];
  fs.writeFileSync(pa, ""); // a stale file where a's socket goes
  const opts = (local: string, remote: string): Map<string, string> => new Map([["local.type", "unix"], ["local.path", local],
    ["remote.type", "unix"], ["remote.path", remote]]);
  const a = await netdevTypes().create("dgram", "a", opts(pa, pb), host);
  try {
    assert.equal(a.info(), `udp=${pa}:${pb}`);
    const fa = frontend();
    a.attach(fa);
    a.send(new Uint8Array(64).fill(1)); // nobody at b yet: lost, as on a wire
    const b = await netdevTypes().create("dgram", "b", opts(pb, pa), host);
    try {
      const fb = frontend();
      b.attach(fb);
      a.send(new Uint8Array(1514).fill(2));
      await until(() => fb.frames.length === 1, "a's frame at b");
      b.send(new Uint8Array(60).fill(3));
      await until(() => fa.frames.length === 1, "b's frame at a");
      assert.deepEqual([fb.frames[0].length, fb.frames[0][0], fa.frames[0].length, fa.frames[0][0]], [1514, 2, 60, 3]);
    } finally {
      b.close();
    }
  } finally {
    a.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("option errors are one line, as QEMU's", async () => {
  const host = nodeNetHost(() => {});
  const types = netdevTypes();
  const err = async (type: string, opts: [string, string][]): Promise<string> => {
    try {
      const b: NetBackend = await types.create(type, "x", new Map(opts), host);
      b.close();
      return "no error";
    } catch (e) {
      assert.ok(e instanceof NetdevError, String(e));
      return e.message;
    }
  };
  assert.equal(await err("socket", []), "exactly one of listen=, connect=, mcast= or udp= is required");
  assert.equal(await err("socket", [["listen", ":1"], ["foo", "1"]]), "Invalid parameter 'foo'");
  assert.equal(await err("stream", []), "Parameter 'addr' is missing");
  assert.equal(await err("dgram", []), "dgram requires local= parameter");
  assert.equal(await err("socket", [["mcast", "10.0.0.1:5000"]]), "specified mcastaddr 10.0.0.1 (0x0a000001) does not contain a multicast address");
  assert.equal(await err("dgram", [["remote.type", "inet"], ["remote.host", "239.1.2.3"], ["remote.port", "5000"], ["local.type", "unix"], ["local.path", "/x"]]),
    "only support inet or fd type for local");
  const unix = (local: string): [string, string][] => [["local.type", "unix"], ["local.path", local], ["remote.type", "unix"], ["remote.path", "/tmp/x.sock"]];
  assert.equal(await err("dgram", unix("/nonexistent-dir/a.sock")), "can't bind unix=/nonexistent-dir/a.sock to socket: No such file or directory");
  assert.equal(await err("dgram", [["local.type", "unix"], ["local.path", "/tmp/a.sock"]]), "type=inet or type=unix requires remote parameter");
  assert.equal(await err("dgram", [["local.type", "inet"], ["local.host", "127.0.0.1"], ["local.port", "5555"], ["remote.type", "unix"], ["remote.path", "/tmp/x.sock"]]),
    "remote and local types must be the same");
  assert.equal(await err("bogus", []), "Parameter 'type' does not accept value 'bogus'");
  assert.match(await err("user", []), /network backend 'user' is not supported by tsemu/);
  const port = await freePort();
  assert.match(await err("socket", [["connect", `127.0.0.1:${port}`]]), /Failed to connect to '127\.0\.0\.1:\d+': Connection refused/);
});
