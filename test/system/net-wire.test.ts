/**
 * Two machines on one wire, each booting the default guest (Linux 6.1 and
 * BusyBox on the PLIC board) with a virtio-net-pci NIC and a static address:
 *
 * - a tsemu guest and a qemu-system-riscv64 guest joined by `-netdev socket`
 *   (tsemu listens, QEMU connects): QEMU's framing is tsemu's;
 * - two tsemu guests joined by `-netdev stream` (server=on / server=off);
 * - a tsemu guest (`-netdev socket,mcast=`) and a QEMU guest (`-netdev dgram`
 *   with a multicast remote) on one multicast group;
 * - a tsemu guest and a QEMU guest joined by `-netdev dgram` over Unix sockets.
 *
 * On each wire the guests ping each other and send 256 KiB of random bytes
 * both ways with nc; the receiver's md5sum must be the sender's.
 *
 * Settings as in boot.test.ts: TSEMU_SYSTEM_TIMEOUT_S, TSEMU_SYSTEM_LOG=1.
 */
import { before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";
const KIB = 256;

let images: { kernel: string; initrd: string } | undefined;
let imagesMissing = "";

before(() => {
  try {
    images = defaultGuest(ROOT);
  } catch (err) {
    imagesMissing = `the guest images are not built: ${(err as Error).message}`;
  }
});

const sh = (con: Console, command: string): Promise<string> => shell(con, command, PROMPT, STEP_MS);

/** A free TCP port on loopback (closed again before the emulator takes it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function boot(emu: string, name: string, netArgs: string[]): Console {
  if (images === undefined) throw new Error(imagesMissing);
  return new Console([emu, "-M", "virt", "-m", "256M", "-nographic",
    "-kernel", images.kernel, "-initrd", images.initrd, "-append", "console=ttyS0", ...netArgs],
  { onOutput: LOG ? (s) => process.stderr.write(`[${name}] ${s}`) : undefined });
}

/** QEMU's virtio-net-pci loads an option ROM unless told not to (Debian's qemu-system-misc does not ship it). */
const nic = (emu: string, netdev: string, mac: string): string =>
  `virtio-net-pci,netdev=${netdev},mac=${mac}${emu === QEMU ? ",romfile=" : ""}`;

async function up(con: Console, addr: string): Promise<void> {
  const out = await sh(con, `ip addr add ${addr}/24 dev eth0 && ip link set eth0 up && cat /sys/class/net/eth0/address && echo OK`);
  assert.match(out, /OK/, `eth0 did not come up:\n${out}`);
}

/**
 * `to` listens, `from` sends KIB KiB of random bytes; the sums must agree.  The
 * listener runs in the background with its stdin from /dev/null (reading the
 * console from the background would stop it with SIGTTIN).
 */
async function transfer(from: Console, to: Console, toAddr: string, port: number): Promise<number> {
  await sh(to, `rm -f /tmp/r; (nc -l -p ${port} < /dev/null > /tmp/r; echo DONE-${port}) &`);
  const start = Date.now();
  const sent = await sh(from, `dd if=/dev/urandom of=/tmp/d bs=1024 count=${KIB} 2>/dev/null; md5sum /tmp/d; `
    + `nc -w 5 ${toAddr} ${port} < /tmp/d; echo rc=$?`);
  const sum = /^([0-9a-f]{32})\s/m.exec(sent)?.[1];
  assert.ok(sum !== undefined, `no md5sum from the sender:\n${sent}`);
  await to.expect(`DONE-${port}`, STEP_MS);
  const ms = Date.now() - start;
  const got = await sh(to, "md5sum /tmp/r; wc -c < /tmp/r");
  assert.match(got, new RegExp(`^${sum}\\s`, "m"), `the receiver has other bytes:\n${got}\nsender:\n${sent}`);
  return ms;
}

async function ping(from: Console, to: string): Promise<void> {
  const out = await sh(from, `ping -c 3 -W 5 ${to}`);
  assert.match(out, /3 packets transmitted, 3 packets received/, `ping ${to}:\n${out}`);
}

async function powerOff(con: Console): Promise<void> {
  con.send("poweroff\n");
  const status = await con.waitExit(STEP_MS);
  assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
}

/** HMP `info network` through Ctrl-A c on the multiplexed console, and back to the shell. */
async function infoNetwork(con: Console): Promise<string> {
  con.send("\x01c");
  await con.expect("(qemu) ", STEP_MS);
  con.send("info network\n");
  const reply = (await con.expect("(qemu) ", STEP_MS)).replace(/\r/g, "");
  con.send("\x01c\n");
  await con.expect(PROMPT, STEP_MS);
  return reply.slice(reply.indexOf("\n") + 1, reply.length - "(qemu) ".length);
}

/** Boot the listener, then the connector once the listener runs; both to a shell with an address. */
async function wire(t: TestContext, a: { emu: string; args: string[]; info: RegExp }, b: { emu: string; args: string[] }): Promise<void> {
  const ca = boot(a.emu, "a", a.args);
  let cb: Console | undefined;
  try {
    await ca.expect("OpenSBI", STEP_MS);
    cb = boot(b.emu, "b", b.args);
    await Promise.all([ca.expect(PROMPT, STEP_MS), cb.expect(PROMPT, STEP_MS)]);
    const info = await infoNetwork(ca);
    assert.match(info, a.info, "the listener's info network");
    await up(ca, "10.0.9.1");
    await up(cb, "10.0.9.2");
    await ping(ca, "10.0.9.2");
    await ping(cb, "10.0.9.1");
    const ab = await transfer(ca, cb, "10.0.9.2", 5001);
    const ba = await transfer(cb, ca, "10.0.9.1", 5002);
    t.diagnostic(`${KIB} KiB each way, md5sums equal: a to b in ${ab} ms, b to a in ${ba} ms (dd, md5sum and nc)`);
    await powerOff(ca);
    await powerOff(cb);
  } finally {
    ca.kill();
    cb?.kill();
  }
}

test("a tsemu guest and a QEMU guest on one -netdev socket wire: ping and nc both ways", async (t) => {
  if (images === undefined) return t.skip(imagesMissing);
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const port = await freePort();
  await wire(t,
    {
      emu: TSEMU, args: ["-netdev", `socket,id=n0,listen=127.0.0.1:${port}`, "-device", nic(TSEMU, "n0", "52:54:00:aa:00:01")],
      info: /^virtio-net-pci\.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:aa:00:01\n \\ n0: index=0,type=socket,socket: connection from 127\.0\.0\.1:\d+\n$/,
    },
    { emu: QEMU, args: ["-netdev", `socket,id=n0,connect=127.0.0.1:${port}`, "-device", nic(QEMU, "n0", "52:54:00:aa:00:02")] });
});

test("two tsemu guests on one -netdev stream wire: ping and nc both ways", async (t) => {
  if (images === undefined) return t.skip(imagesMissing);
  const port = await freePort();
  const addr = `addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`;
  await wire(t,
    {
      emu: TSEMU, args: ["-netdev", `stream,id=n0,server=on,${addr}`, "-device", nic(TSEMU, "n0", "52:54:00:aa:00:03")],
      info: /^virtio-net-pci\.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:aa:00:03\n \\ n0: index=0,type=stream,tcp:127\.0\.0\.1:\d+\n$/,
    },
    { emu: TSEMU, args: ["-netdev", `stream,id=n0,server=off,${addr}`, "-device", nic(TSEMU, "n0", "52:54:00:aa:00:04")] });
});

test("a tsemu guest and a QEMU guest on one multicast group (socket mcast= and dgram): ping and nc both ways", async (t) => {
  if (images === undefined) return t.skip(imagesMissing);
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const port = await freePort();
  // A group of its own, so that parallel runs do not hear each other.
  const group = `239.255.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
  await wire(t,
    {
      emu: TSEMU, args: ["-netdev", `socket,id=n0,mcast=${group}:${port}`, "-device", nic(TSEMU, "n0", "52:54:00:aa:00:05")],
      info: new RegExp(`^virtio-net-pci\\.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:aa:00:05\\n \\\\ n0: index=0,type=socket,socket: mcast=${group.replaceAll(".", "\\.")}:${port}\\n$`),
    },
    { emu: QEMU, args: ["-netdev", `dgram,id=n0,remote.type=inet,remote.host=${group},remote.port=${port}`, "-device", nic(QEMU, "n0", "52:54:00:aa:00:06")] });
});

test("a tsemu guest and a QEMU guest on one -netdev dgram wire over Unix sockets: ping and nc both ways", async (t) => {
  if (images === undefined) return t.skip(imagesMissing);
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-wire-"));
  const [pa, pb] = [path.join(dir, "a.sock"), path.join(dir, "b.sock")];
  const dgram = (local: string, remote: string): string =>
    `dgram,id=n0,local.type=unix,local.path=${local},remote.type=unix,remote.path=${remote}`;
  try {
    await wire(t,
      {
        emu: TSEMU, args: ["-netdev", dgram(pa, pb), "-device", nic(TSEMU, "n0", "52:54:00:aa:00:07")],
        info: new RegExp(`^virtio-net-pci\\.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:aa:00:07\\n \\\\ n0: index=0,type=dgram,udp=${pa.replaceAll(".", "\\.")}:${pb.replaceAll(".", "\\.")}\\n$`),
      },
      { emu: QEMU, args: ["-netdev", dgram(pb, pa), "-device", nic(QEMU, "n0", "52:54:00:aa:00:08")] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
