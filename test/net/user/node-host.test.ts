/**
 * The stack on the real Node host: a hand-driven guest fetches a page from an
 * HTTP server on 127.0.0.1 through the gateway address, a hostfwd port on the
 * host reaches the guest, and DNS answers from the host's resolver.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { get16 } from "../../../src/net/user/bytes.js";
import { SYN } from "../../../src/net/user/tcp-segment.js";
import { createUserNetdev } from "../../../src/net/user/user-netdev.js";
import { createNodeNetHost } from "../../../src/host/net-host.js";
import { DNS, GATEWAY, GuestTcp, TestGuest } from "./guest.js";

async function until(what: string, cond: () => boolean, step: () => void = () => {}, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
    step();
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("a guest fetches from an HTTP server on the host's loopback through 10.0.2.2; hostfwd reaches the guest", async () => {
  const body = Buffer.alloc(300_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 0xff;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length, connection: "close" });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const httpPort = (server.address() as net.AddressInfo).port;
  const fwdPort = await freePort();
  const warnings: string[] = [];
  const nd = createUserNetdev("n0", [["hostfwd", `tcp:127.0.0.1:${fwdPort}-:22`]], createNodeNetHost((m) => warnings.push(m)));
  const guest = new TestGuest(nd);
  try {
    const c = new GuestTcp(guest, 40000, GATEWAY, httpPort);
    c.connect();
    await until("the handshake", () => c.state === "established", () => c.pump());
    c.write(new TextEncoder().encode("GET /data HTTP/1.0\r\nHost: x\r\n\r\n"));
    await until("the whole response", () => c.finReceived, () => c.pump());
    const got = Buffer.from(c.received);
    const head = got.subarray(0, got.indexOf("\r\n\r\n") + 4).toString();
    assert.match(head, /^HTTP\/1\.1 200 OK/);
    assert.ok(got.subarray(head.length).equals(body), "the body arrives intact");
    c.close();
    await until("our FIN acknowledged", () => c.finAcked, () => c.pump());

    // hostfwd: a host client reaches the guest's port 22.
    const client = net.connect(fwdPort, "127.0.0.1");
    const fromGuest: Buffer[] = [];
    client.on("data", (b) => fromGuest.push(b));
    let g: GuestTcp | undefined;
    await until("our SYN to the guest", () => {
      const i = guest.inbox.findIndex((r) => r.tcp && r.tcp.flags === SYN && r.tcp.dstPort === 22);
      if (i < 0) return false;
      const r = guest.inbox.splice(i, 1)[0];
      g = new GuestTcp(guest, 22, r.ip?.src ?? 0, r.tcp?.srcPort ?? 0);
      if (r.tcp) g.acceptSyn(r.tcp);
      return true;
    });
    assert.ok(g);
    const gc = g;
    await until("the forwarded connection", () => gc.state === "established", () => gc.pump());
    client.write("ping");
    await until("the client's bytes in the guest", () => gc.text() === "ping", () => gc.pump());
    gc.write(new TextEncoder().encode("pong"));
    await until("the guest's bytes at the client", () => Buffer.concat(fromGuest).toString() === "pong", () => gc.pump());
    client.end();
    await until("the client's FIN", () => gc.finReceived, () => gc.pump());
    gc.close();
    await new Promise((r) => client.once("close", r));

    // DNS through the host's resolver: localhost is in every hosts file.
    const q = Uint8Array.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, ...Buffer.from("localhost"), 0, 0, 1, 0, 1]);
    guest.sendFrame(guest.udpFrame(5000, DNS, 53, q));
    let answer: Uint8Array | undefined;
    await until("the DNS answer", () => {
      answer = guest.inbox.find((r) => r.udp && r.udp.srcPort === 53)?.udp?.data;
      return answer !== undefined;
    });
    assert.ok(answer);
    assert.equal(get16(answer, 0), 0xabcd);
    assert.equal(get16(answer, 2) & 0xf, 0);
    assert.ok(get16(answer, 6) >= 1);
    assert.deepEqual([...answer.subarray(answer.length - 4)], [127, 0, 0, 1]);
    assert.deepEqual(warnings, []);
  } finally {
    nd.close();
    await new Promise((r) => server.close(r));
  }
});
