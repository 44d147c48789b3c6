/**
 * The `-netdev user` scenario, for any emulator binary (qemu-system-riscv64
 * and tsemu-system-riscv64): the default guest gets its address by DHCP
 * (10.0.2.15), fetches a 16 MiB file from an HTTP server on the host's
 * loopback through 10.0.2.2 (sha256 equal), takes 4 MiB of random bytes
 * from a host TCP server with nc (md5 equal) and sends them back 16 times
 * over, 64 MiB, with nc (sha256 checked on the host), serves a file to the
 * host through hostfwd, pings the gateway; with restrict=on the outbound
 * fetch fails while hostfwd still works.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import * as net from "node:net";
import { Console, describeStatus, shell } from "./console.js";

export interface UserNetSetup {
  /** The emulator binary. */
  emu: string;
  /** Extra device properties this emulator needs (QEMU's virtio-net-pci: romfile=). */
  nicExtra: string;
  kernel: string;
  initrd: string;
  stepMs: number;
  log?: (text: string) => void;
}

const PROMPT = "tsemu# ";
export const BLOB_BYTES = 16 << 20;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** An HTTP server on 127.0.0.1 serving `blob` at /blob; closed by the returned function. */
export async function blobServer(blob: Uint8Array): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== "/blob") { res.writeHead(404).end(); return; }
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": blob.length });
    res.end(blob);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** GET http://127.0.0.1:port/path from the host; the body. */
export function hostGet(port: number, path: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks)));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** A TCP server on 127.0.0.1 that sends `data` to each client and closes. */
async function tcpSender(data: Uint8Array): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((s) => { s.on("error", () => undefined); s.end(data); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/**
 * A TCP server on 127.0.0.1 taking one stream of `expected` bytes: it hashes
 * what comes, closes the connection once `expected` bytes are in (so that a
 * sender that does not close on its own ends too), and resolves with the
 * byte count and sha256.
 */
async function tcpSink(expected: number): Promise<{ port: number; result: Promise<{ bytes: number; sha256: string }>; close: () => void }> {
  let resolveResult!: (r: { bytes: number; sha256: string }) => void;
  const result = new Promise<{ bytes: number; sha256: string }>((r) => { resolveResult = r; });
  const server = net.createServer((s) => {
    const hash = createHash("sha256");
    let bytes = 0;
    s.on("data", (b: Buffer) => {
      hash.update(b);
      bytes += b.length;
      if (bytes >= expected) s.end();
    });
    s.on("close", () => resolveResult({ bytes, sha256: hash.digest("hex") }));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, result, close: () => server.close() };
}

/** The guest sends the 4 MiB it received this many times over: 64 MiB. */
const UP_COPIES = 16;

/** TCP both ways with BusyBox's nc: 4 MiB of random bytes from the host, then 64 MiB to it. */
async function ncBothWays(con: Console, s: UserNetSetup, diag: (m: string) => void): Promise<void> {
  const down = randomBytes(4 << 20);
  const sender = await tcpSender(down);
  const up = createHash("sha256");
  for (let i = 0; i < UP_COPIES; i++) up.update(down);
  const expected = { bytes: down.length * UP_COPIES, sha256: up.digest("hex") };
  const sink = await tcpSink(expected.bytes);
  try {
    const md5 = createHash("md5").update(down).digest("hex");
    const got = await shell(con, `nc 10.0.2.2 ${sender.port} < /dev/null > /tmp/down; md5sum /tmp/down`, PROMPT, s.stepMs);
    assert.match(got, new RegExp(`^${md5}\\s`, "m"), `nc from the host gave other bytes:\n${got}`);
    const start = Date.now();
    // 64 MiB take about a minute on an idle host and several times that beside other boots:
    // this step gets four steps' time (a transfer that stalls still fails).
    await shell(con, `for i in $(seq ${UP_COPIES}); do cat /tmp/down; done | nc 10.0.2.2 ${sink.port}; rm /tmp/down`, PROMPT, 4 * s.stepMs);
    assert.deepEqual(await sink.result, expected, "the host received other bytes than the guest sent");
    diag(`${(expected.bytes / 2 ** 20).toFixed(1)} MiB to the host with nc in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  } finally {
    sender.close();
    sink.close();
  }
}

/** Boot the default guest with netdev n0 on a virtio-net-pci (or the NIC given: `virtio-net-device,netdev=n0`). */
async function bootUser(s: UserNetSetup, netdev: string, nic = `virtio-net-pci,netdev=n0${s.nicExtra}`): Promise<Console> {
  const con = new Console([s.emu, "-M", "virt", "-m", "256M", "-nographic", "-kernel", s.kernel, "-initrd", s.initrd,
    "-append", "console=ttyS0", "-netdev", netdev, "-device", nic], { onOutput: s.log });
  await con.expect(PROMPT, s.stepMs);
  return con;
}

/** With restrict=on the DHCP server names no router and no DNS server (QEMU 7.2's slirp), so only the address is checked then. */
async function dhcp(con: Console, s: UserNetSetup, restricted = false): Promise<void> {
  const out = await shell(con, "udhcpc -i eth0 -n -q -t 5 2>&1; ip -4 addr show eth0; cat /etc/resolv.conf; ip route", PROMPT, s.stepMs);
  assert.match(out, /inet 10\.0\.2\.15\/24/, `no DHCP lease of 10.0.2.15:\n${out}`);
  if (restricted) return;
  assert.match(out, /default via 10\.0\.2\.2 dev eth0/, `no default route:\n${out}`);
  assert.match(out, /nameserver 10\.0\.2\.3/, `no resolv.conf:\n${out}`);
}

async function powerOff(con: Console, s: UserNetSetup): Promise<void> {
  con.send("poweroff\n");
  const status = await con.waitExit(s.stepMs);
  assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
}

/** Serve a small file from the guest's httpd on port 8080 and fetch it from the host through hostfwd. */
async function hostfwdFetch(con: Console, s: UserNetSetup, hostPort: number): Promise<void> {
  const out = await shell(con, "mkdir -p /tmp/www && echo hello-from-the-guest > /tmp/www/hi.txt && httpd -p 8080 -h /tmp/www && echo UP",
    PROMPT, s.stepMs);
  assert.match(out, /UP/);
  const body = await hostGet(hostPort, "/hi.txt", s.stepMs);
  assert.equal(body.toString(), "hello-from-the-guest\n");
}

export async function userNetScenario(s: UserNetSetup, diag: (m: string) => void): Promise<void> {
  const blob = randomBytes(BLOB_BYTES);
  const server = await blobServer(blob);
  try {
    // Open: DHCP, a 16 MiB download from the host, hostfwd to the guest, ping the gateway.
    let fwd = await freePort();
    let con = await bootUser(s, `user,id=n0,hostfwd=tcp:127.0.0.1:${fwd}-:8080`);
    try {
      await dhcp(con, s);
      const start = Date.now();
      const got = await shell(con, `wget -q -O - http://10.0.2.2:${server.port}/blob | sha256sum`, PROMPT, s.stepMs);
      assert.match(got, new RegExp(`^${sha256(blob)}\\s`, "m"), `the download differs:\n${got}`);
      diag(`16 MiB from the host in ${((Date.now() - start) / 1000).toFixed(1)} s`);
      await ncBothWays(con, s, diag);
      await hostfwdFetch(con, s, fwd);
      const ping = await shell(con, "ping -c 2 -W 5 10.0.2.2", PROMPT, s.stepMs);
      assert.match(ping, /2 packets transmitted, 2 packets received/, ping);
      await powerOff(con, s);
    } finally {
      con.kill();
    }
    // restrict=on: nothing leaves the virtual network, hostfwd still comes in.
    fwd = await freePort();
    con = await bootUser(s, `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${fwd}-:8080`);
    try {
      await dhcp(con, s, true);
      const out = await shell(con, `wget -q -T 5 -O /dev/null http://10.0.2.2:${server.port}/blob; echo rc=$?`, PROMPT, s.stepMs);
      assert.doesNotMatch(out, /rc=0/, `restrict=on let the download through:\n${out}`);
      await hostfwdFetch(con, s, fwd);
      await powerOff(con, s);
    } finally {
      con.kill();
    }
  } finally {
    await server.close();
  }
}

/** The size of the download through virtio-net-device: enough for many full receive rings. */
export const MMIO_BLOB_BYTES = 4 << 20;

/**
 * The NIC in a virtio-mmio slot (`-device virtio-net-device`): the guest's
 * virtio-mmio driver finds it, udhcpc gets 10.0.2.15 through it, and a file
 * from an HTTP server on the host arrives whole (sha256 equal).
 */
export async function virtioMmioNetScenario(s: UserNetSetup, diag: (m: string) => void): Promise<void> {
  const blob = randomBytes(MMIO_BLOB_BYTES);
  const server = await blobServer(blob);
  try {
    const con = await bootUser(s, "user,id=n0", "virtio-net-device,netdev=n0");
    try {
      // eth0 hangs off a virtio-mmio platform device (not PCI), with the machine's first MAC.
      const where = await shell(con, "readlink -f /sys/class/net/eth0/device; cat /sys/class/net/eth0/address", PROMPT, s.stepMs);
      assert.match(where, /^\/sys\/devices\/platform\/soc\/[0-9a-f]+\.virtio_mmio\/virtio\d+\r?$/m, `eth0 is not on virtio-mmio:\n${where}`);
      assert.match(where, /^52:54:00:12:34:56\r?$/m, `eth0 has another MAC:\n${where}`);
      diag(`eth0: ${/\/sys\/devices\/\S+/.exec(where)?.[0] ?? "?"}`);
      await dhcp(con, s);
      const start = Date.now();
      const got = await shell(con, `wget -q -O - http://10.0.2.2:${server.port}/blob | sha256sum`, PROMPT, s.stepMs);
      assert.match(got, new RegExp(`^${sha256(blob)}\\s`, "m"), `the download differs:\n${got}`);
      diag(`${MMIO_BLOB_BYTES >> 20} MiB from the host through virtio-net-device in ${((Date.now() - start) / 1000).toFixed(1)} s`);
      await powerOff(con, s);
    } finally {
      con.kill();
    }
  } finally {
    await server.close();
  }
}
