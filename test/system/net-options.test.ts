/**
 * The network options without a guest (-S): `info network` is QEMU 7.2's
 * line for line for the same command line, the option errors are QEMU's
 * one line (status 1), a hostfwd port that cannot be bound fails the command
 * line as QEMU's does, and set_link / hostfwd_add answer as QEMU's monitor.
 * One test boots the default guest: the NIC_RX_FILTER_CHANGED events and
 * query-rx-filter replies while Linux drives four NICs' filters.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import * as fs from "node:fs";
import * as os from "node:os";
import { Console, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";
import { QmpClient, type Message } from "../monitor/qmp-client.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const PROMPT = "tsemu# ";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Run HMP commands on a stopped machine; returns each command's output (CR dropped, the echo line cut). */
async function hmp(emu: string, args: string[], commands: string[]): Promise<string[]> {
  const con = new Console([emu, "-M", "virt", "-S", "-display", "none", "-serial", "none", "-monitor", "stdio", ...args]);
  try {
    await con.expect("(qemu) ", STEP_MS);
    const out: string[] = [];
    for (const c of commands) {
      con.send(`${c}\n`);
      const reply = (await con.expect("(qemu) ", STEP_MS)).replace(/\r/g, "");
      out.push(reply.slice(reply.indexOf("\n") + 1, reply.length - "(qemu) ".length));
    }
    con.send("quit\n");
    await con.waitExit(STEP_MS);
    return out;
  } finally {
    con.kill();
  }
}

/** QEMU's virtio-net-pci and e1000e want option ROMs Debian's qemu-system-misc lacks: romfile= turns them off. */
const rom = (emu: string, device: string): string =>
  emu === QEMU && (device.startsWith("virtio-net-pci") || device.startsWith("e1000e")) ? `${device},romfile=` : device;

test("info network: QEMU's lines for NICs on PCI (virtio-net-pci, e1000e) and virtio-mmio, ids, MAC increments, and a netdev without a NIC", async (t) => {
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const [p1, p2, p3, u1, u2, u3, u4, p4, m1, m2] = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(() => freePort()));
  const args = (emu: string): string[] => [
    "-netdev", `socket,id=a,listen=127.0.0.1:${p1}`, "-device", rom(emu, "virtio-net-pci,netdev=a"),
    "-netdev", `stream,id=b,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=${p2}`,
    "-device", rom(emu, "virtio-net-pci,netdev=b,id=nic1"),
    "-netdev", `socket,id=c,listen=127.0.0.1:${p3}`, "-device", "virtio-net-device,netdev=c,mac=52:54:00:ab:cd:ef",
    "-netdev", `socket,id=d,udp=127.0.0.1:${u1},localaddr=127.0.0.1:${u2}`, "-device", "virtio-net-device,netdev=d",
    "-netdev", `dgram,id=e,local.type=inet,local.host=127.0.0.1,local.port=${u3},remote.type=inet,remote.host=127.0.0.1,remote.port=${u4}`,
    "-netdev", `socket,id=f,listen=127.0.0.1:${p4}`, "-device", rom(emu, "e1000e,netdev=f"),
    "-netdev", `socket,id=g,mcast=239.255.77.1:${m1}`,
    "-netdev", `dgram,id=h,remote.type=inet,remote.host=239.255.77.2,remote.port=${m2}`,
  ];
  const commands = ["info network", "set_link nic1 off", "set_link e1000e.0 off", "set_link nosuch off", "set_link a maybe", "hostfwd_add a tcp::5555-:22",
    "hostfwd_add nosuch tcp::5555-:22", "info network"];
  const q = await hmp(QEMU, args(QEMU), commands);
  const ts = await hmp(TSEMU, args(TSEMU), commands);
  assert.match(q[0], /^e: index=0,type=dgram,udp=127\.0\.0\.1:\d+\/127\.0\.0\.1:\d+\nh: index=0,type=dgram,mcast=239\.255\.77\.2:\d+\ng: index=0,type=socket,socket: mcast=239\.255\.77\.1:\d+\nvirtio-net-pci\.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56\n \\ a: index=0,type=socket,\n/);
  assert.deepEqual(ts, q);
});

test("set_link through the NIC or its netdev; hostfwd on a socket netdev is refused; -nic model=help", async () => {
  const port = await freePort();
  const out = await hmp(TSEMU, ["-netdev", `socket,id=n0,listen=127.0.0.1:${port}`, "-device", "virtio-net-pci,netdev=n0"],
    ["set_link virtio-net-pci.0 off", "set_link n0 on", "hostfwd_add tcp::5555-:22", "hostfwd_remove n0 tcp::5555"]);
  assert.deepEqual(out, ["", "", "invalid device specified\n", "invalid device specified\n"]);
  const help = spawnSync(TSEMU, ["-M", "virt", "-nic", "model=help"], { encoding: "utf8" });
  assert.equal(help.status, 0);
  assert.equal(help.stdout, "Supported NIC models:\nvirtio-net-device\nvirtio-net-pci\n");
});

test("a hostfwd port that cannot be bound: QEMU's line and status 1 before the guest starts; hostfwd_add answers it and the monitor goes on", async (t) => {
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const busy = (holder.address() as net.AddressInfo).port;
  try {
    const start = (emu: string, netdev: string): { status: number | null; stderr: string } => {
      const r = spawnSync(emu, ["-M", "virt", "-nographic", "-netdev", netdev, "-device", rom(emu, "virtio-net-pci,netdev=n")],
        { encoding: "utf8", input: "", timeout: 60_000 });
      return { status: r.status, stderr: r.stderr.replace(/^[^:]*: /, "PROG: ") };
    };
    for (const netdev of [`user,id=n,hostfwd=tcp:127.0.0.1:${busy}-:22`, `user,id=n,hostfwd=tcp::${busy}-:22,hostfwd=udp::${busy}-:53`]) {
      const q = start(QEMU, netdev);
      const ts = start(TSEMU, netdev);
      assert.equal(q.status, 1, q.stderr);
      assert.deepEqual(ts, q);
    }
    assert.equal(start(TSEMU, `user,id=n,hostfwd=tcp:127.0.0.1:${busy}-:22`).stderr,
      `PROG: -netdev user,id=n,hostfwd=tcp:127.0.0.1:${busy}-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:${busy}-:22'\n`);
    const free = await freePort();
    const commands = [`hostfwd_add tcp:127.0.0.1:${busy}-:22`, `hostfwd_add n tcp::${busy}-:22`, `hostfwd_remove n tcp::${busy}`,
      `hostfwd_add n tcp:127.0.0.1:${free}-:22`, `hostfwd_add n tcp:127.0.0.1:${free}-:23`, `hostfwd_remove n tcp:127.0.0.1:${free}`, "info network"];
    const args = (emu: string): string[] => ["-netdev", "user,id=n", "-device", rom(emu, "virtio-net-pci,netdev=n")];
    const q = await hmp(QEMU, args(QEMU), commands);
    const ts = await hmp(TSEMU, args(TSEMU), commands);
    assert.equal(q[0], `Could not set up host forwarding rule 'tcp:127.0.0.1:${busy}-:22'\n`);
    assert.deepEqual(ts, q);
  } finally {
    holder.close();
  }
});

const BAD: [string[], RegExp][] = [
  [["-netdev", "bogus,id=x"], /^tsemu-system-riscv64: -netdev bogus,id=x: Parameter 'type' does not accept value 'bogus'\n$/],
  [["-netdev", "socket,listen=:5000"], /-netdev socket,listen=:5000: Parameter 'id' is missing\n$/],
  [["-netdev", "socket,id=a,listen=127.0.0.1:0", "-netdev", "socket,id=a,listen=127.0.0.1:0"],
    /-netdev socket,id=a,listen=127\.0\.0\.1:0: Duplicate ID 'a' for netdev\n$/],
  [["-netdev", "socket,id=a,listen=127.0.0.1:0", "-device", "virtio-net-pci,netdev=a", "-device", "virtio-net-pci,netdev=a"],
    /-device virtio-net-pci,netdev=a: Property 'virtio-net-device\.netdev' can't take value 'a', it's in use\n$/],
  [["-device", "virtio-net-pci,netdev=x"], /-device virtio-net-pci,netdev=x: Property 'virtio-net-device\.netdev' can't find value 'x'\n$/],
  [["-device", "virtio-net-device,mac=zz"], /Property 'virtio-net-device\.mac' doesn't take value 'zz'\n$/],
  [["-netdev", "socket,id=a2"], /exactly one of listen=, connect=, mcast= or udp= is required\n$/],
  [["-netdev", "socket,id=a,listen=:5000,foo=1"], /Invalid parameter 'foo'\n$/],
  [["-netdev", "stream,id=a"], /Parameter 'addr' is missing\n$/],
  [["-netdev", "dgram,id=a"], /dgram requires local= parameter\n$/],
  [["-netdev", "tap,id=t"], /-netdev tap,id=t: network backend 'tap' is not supported by tsemu \(it has: dgram, socket, stream, user\)\n$/],
  [["-netdev", "user,id=u,restrict=maybe"], /-netdev user,id=u,restrict=maybe: Parameter 'restrict' expects 'on' or 'off'\n$/],
  [["-nic", "bogus"], /-nic bogus: Parameter 'type' does not accept value 'bogus'\n$/],
];

test("network option errors: one line, status 1, QEMU's words", () => {
  for (const [args, want] of BAD) {
    const r = spawnSync(TSEMU, ["-M", "virt", "-S", "-display", "none", ...args], { encoding: "utf8", input: "", timeout: 60_000 });
    assert.equal(r.status, 1, `${args.join(" ")}: status ${String(r.status)}\n${r.stderr}`);
    assert.match(r.stderr, want, args.join(" "));
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
});

/** QMP commands on a stopped machine over stdio; the parsed replies (events skipped). */
async function qmp(emu: string, args: string[], commands: object[]): Promise<unknown[]> {
  const con = new Console([emu, "-M", "virt", "-S", "-display", "none", "-serial", "none", "-qmp", "stdio", ...args]);
  try {
    await con.expect(/"QMP"[^\n]*\n/, STEP_MS);
    const replies: unknown[] = [];
    for (const c of [{ execute: "qmp_capabilities" }, ...commands]) {
      con.send(`${JSON.stringify(c)}\n`);
      for (;;) {
        const line = (await con.expect("\n", STEP_MS)).trim();
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (!("event" in msg)) { replies.push(msg); break; }
      }
    }
    con.send(`${JSON.stringify({ execute: "quit" })}\n`);
    await con.waitExit(STEP_MS);
    return replies.slice(1);
  } finally {
    con.kill();
  }
}

test("QMP query-rx-filter and set_link answer as QEMU's (e1000e has no rx-filter query)", async (t) => {
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const [port, port2] = await Promise.all([freePort(), freePort()]);
  const args = (emu: string): string[] => ["-netdev", `socket,id=n0,listen=127.0.0.1:${port}`,
    "-device", rom(emu, "virtio-net-pci,netdev=n0,id=nic0,mac=52:54:00:01:02:03"),
    "-netdev", `socket,id=n1,listen=127.0.0.1:${port2}`, "-device", rom(emu, "e1000e,netdev=n1,id=nic1")];
  const commands = [{ execute: "query-rx-filter" }, { execute: "query-rx-filter", arguments: { name: "n0" } },
    { execute: "query-rx-filter", arguments: { name: "nic1" } }, { execute: "set_link", arguments: { name: "nic1", up: false } },
    { execute: "query-rx-filter", arguments: { name: "nosuch" } }, { execute: "set_link", arguments: { name: "nic0", up: false } },
    { execute: "set_link", arguments: { name: "nosuch", up: false } }];
  const q = await qmp(QEMU, args(QEMU), commands);
  const ts = await qmp(TSEMU, args(TSEMU), commands);
  assert.deepEqual(ts, q);
});

/**
 * NIC_RX_FILTER_CHANGED with Linux driving the filters: four NICs (virtio-net-pci and
 * virtio-net-device, each with and without an id), each brought up, set promiscuous and
 * back, with query-rx-filter in between; the transcript of events (timestamps dropped)
 * and replies at each step.
 */
async function rxFilterTranscript(emu: string, images: { kernel: string; initrd: string }): Promise<unknown[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-rxfilter-"));
  const sock = path.join(dir, "qmp");
  const nics = [
    ["n0", rom(emu, "virtio-net-pci,netdev=n0,id=nic0,mac=52:54:00:00:00:01")],
    ["n1", "virtio-net-device,netdev=n1,mac=52:54:00:00:00:02"],
    ["n2", "virtio-net-device,netdev=n2,id=nic2,mac=52:54:00:00:00:03"],
    ["n3", rom(emu, "virtio-net-pci,netdev=n3,mac=52:54:00:00:00:04")],
  ];
  const con = new Console([emu, "-M", "virt", "-m", "256M", "-nographic", "-kernel", images.kernel, "-initrd", images.initrd,
    "-append", "console=ttyS0", "-qmp", `unix:${sock},server=on,wait=off`,
    ...nics.flatMap(([id, dev]) => ["-netdev", `user,id=${id}`, "-device", dev])]);
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect({ path: sock }, STEP_MS);
    await qmp.negotiate();
    const q = qmp;
    await con.expect(PROMPT, STEP_MS);
    const transcript: unknown[] = [];
    const events = (list: Message[]): void => {
      for (const e of list) transcript.push({ event: e.value.event, data: e.value.data });
    };
    // A round trip: the events the guest's last command caused arrive before its reply.
    const settle = async (): Promise<void> => events((await q.execute("query-status")).events);
    const command = async (name: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const r = await q.execute(name, args);
      events(r.events);
      transcript.push(`${name} ${JSON.stringify(args ?? {})}`);
      return r.reply.value;
    };
    const guest = async (cmd: string): Promise<void> => {
      const out = await shell(con, `${cmd}; echo rc=$?`, PROMPT, STEP_MS);
      assert.match(out, /rc=0/, `${cmd}:\n${out}`);
      transcript.push(`guest ${cmd}`);
      await settle();
    };
    // The interface with each MAC (the probe order of PCI and virtio-mmio may differ).
    const ifname = async (mac: string): Promise<string> => {
      const out = await shell(con, `grep -l ${mac} /sys/class/net/*/address`, PROMPT, STEP_MS);
      const m = /\/sys\/class\/net\/(\w+)\/address/.exec(out);
      assert.ok(m, `no interface with ${mac}:\n${out}`);
      return m[1];
    };
    const [if0, if1, if2, if3] = [await ifname("52:54:00:00:00:01"), await ifname("52:54:00:00:00:02"),
      await ifname("52:54:00:00:00:03"), await ifname("52:54:00:00:00:04")];
    // IPv6 joins multicast groups on its own timers after a link comes up (solicited-node
    // groups once addresses are configured), which changes filters at moments no command
    // marks; with it off, every filter change in the transcript is one a command made.
    await shell(con, "for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do echo 1 > $f; done 2>/dev/null; true", PROMPT, STEP_MS);
    await settle();
    transcript.push("booted");
    // Bringing each up sets the filter (promiscuous off, the multicast list): one event per NIC, then quiet.
    for (const i of [if0, if1, if2, if3]) await guest(`ip link set ${i} up`);
    await guest(`ip link set ${if0} promisc on`);
    // A query turns the event back on for the NIC it reports.
    const one = await command("query-rx-filter", { name: "nic0" });
    assert.ok("return" in one, JSON.stringify(one));
    transcript.push(one.return);
    await guest(`ip link set ${if0} promisc off`);
    await guest(`ip link set ${if2} promisc on`);
    await guest(`ifconfig ${if0} allmulti`);
    // Without a name it turns it back on for every NIC.
    const all = await command("query-rx-filter");
    transcript.push(all.return);
    for (const i of [if0, if1, if2, if3]) await guest(`ip link set ${i} promisc on`);
    await guest(`ip link set ${if3} address 52:54:00:00:00:44`);
    await command("query-rx-filter", { name: "virtio-net-pci.1" });
    await guest(`ip link set ${if3} address 52:54:00:00:00:45`);
    con.send("poweroff\n");
    await con.waitExit(STEP_MS);
    return transcript;
  } finally {
    qmp?.close();
    con.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("NIC_RX_FILTER_CHANGED: sent when Linux changes a NIC's filter or MAC, then not until query-rx-filter, as QEMU's", async (t) => {
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  let images: { kernel: string; initrd: string };
  try {
    images = defaultGuest(ROOT);
  } catch (err) {
    return t.skip(`the guest images are not built: ${(err as Error).message}`);
  }
  const q = await rxFilterTranscript(QEMU, images);
  const ts = await rxFilterTranscript(TSEMU, images);
  // The oracle does send the events this test is about.
  assert.deepEqual(q.filter((x) => typeof x === "object" && x !== null && "event" in x).length, 9, JSON.stringify(q));
  assert.deepEqual(ts, q);
});
