/** -netdev user options and monitor hostfwd commands: QEMU 7.2's accepted forms and messages, info network's text. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NetdevError } from "../../../src/net/net-client.js";
import { formatIPv4 } from "../../../src/net/user/bytes.js";
import { parseUserOptions } from "../../../src/net/user/config.js";
import { createUserNetdev, openUserNetdev } from "../../../src/net/user/user-netdev.js";
import { FakeHost } from "./fake-host.js";

function opts(text: string): [string, string][] {
  if (text === "") return [];
  return text.split(",").map((kv) => {
    const i = kv.indexOf("=");
    return [kv.slice(0, i), kv.slice(i + 1)];
  });
}

/** The netdev's error once its hostfwd ports are bound, or "accepted". */
async function message(text: string): Promise<string> {
  try {
    (await openUserNetdev("n0", opts(text), new FakeHost())).close();
  } catch (e) {
    assert.ok(e instanceof NetdevError, `not a NetdevError: ${String(e)}`);
    return e.message;
  }
  return "accepted";
}

// Recorded from qemu-system-riscv64 7.2 (-netdev user,id=n0,OPTIONS): the text after "OPTIONS: ".
const QEMU_MESSAGES: [string, string][] = [
  ["hostfwd=bogus", "Invalid host forwarding rule 'bogus' (No : separators)"],
  ["hostfwd=tcp::5555", "Invalid host forwarding rule 'tcp::5555' (Bad host port separator)"],
  ["hostfwd=tcp::x-:22", "Invalid host forwarding rule 'tcp::x-:22' (Bad host port)"],
  ["hostfwd=tcp::5555-:y", "Invalid host forwarding rule 'tcp::5555-:y' (Bad guest port)"],
  ["hostfwd=foo::5555-:22", "Invalid host forwarding rule 'foo::5555-:22' (Bad protocol name)"],
  ["hostfwd=tcp::70000-:22", "Invalid host forwarding rule 'tcp::70000-:22' (Bad host port)"],
  ["hostfwd=tcp::5555-:0", "Invalid host forwarding rule 'tcp::5555-:0' (Bad guest port)"],
  ["hostfwd=tcp:localhost:5555-:22", "Invalid host forwarding rule 'tcp:localhost:5555-:22' (Bad host address)"],
  ["hostfwd=tcp:5555-:22", "Invalid host forwarding rule 'tcp:5555-:22' (Bad host address)"],
  ["hostfwd=tcp::5555:22", "Invalid host forwarding rule 'tcp::5555:22' (Bad host port separator)"],
  ["hostfwd=tcp::5555-x:22", "Invalid host forwarding rule 'tcp::5555-x:22' (Bad guest address)"],
  ["hostfwd=udp::5555-:70000", "Invalid host forwarding rule 'udp::5555-:70000' (Bad guest port)"],
  ["hostfwd=tcp::5555-:22,hostfwd=tcp::5555-:23", "Could not set up host forwarding rule 'tcp::5555-:22'"],
  ["hostfwd=tcp::5555-:21,hostfwd=tcp::5556-:22,hostfwd=tcp::5555-:23", "Could not set up host forwarding rule 'tcp::5555-:21'"],
  ["net=bogus", "Failed to parse netmask"],
  ["net=x/24", "Failed to parse netmask"],
  ["net=10.0.2.0/33", "Invalid netmask provided (must be in range 4-32)"],
  ["net=10.0.2.0/3", "Invalid netmask provided (must be in range 4-32)"],
  ["net=10.0.2.0/8x", "Failed to parse netmask (trailing chars)"],
  ["net=10.0.2.0/x", "Failed to parse netmask (trailing chars)"],
  ["host=10.0.3.2", "Host doesn't belong to network"],
  ["host=x", "Failed to parse host"],
  ["dns=x", "Failed to parse DNS"],
  ["dns=10.0.2.2", "DNS must be different from host"],
  ["dhcpstart=x", "Failed to parse DHCP start address"],
  ["dhcpstart=10.0.3.15", "DHCP doesn't belong to network"],
  ["dhcpstart=10.0.2.2", "DHCP must be different from host and DNS"],
  ["dhcpstart=10.0.2.3", "DHCP must be different from host and DNS"],
  ["restrict=maybe", "Parameter 'restrict' expects 'on' or 'off'"],
  ["ipv6=x", "Parameter 'ipv6' expects 'on' or 'off'"],
  ["ipv4=off,ipv6=off", "IPv4 and IPv6 disabled"],
  ["bogus=1", "Invalid parameter 'bogus'"],
  ["hostname=" + "a".repeat(256), "'vhostname' parameter cannot exceed 255 bytes"],
];

test("bad options give QEMU 7.2's messages", async () => {
  for (const [o, want] of QEMU_MESSAGES) assert.equal(await message(o), want, o);
});

test("what QEMU 7.2 accepts is accepted", async () => {
  for (const o of [
    "",
    "hostfwd=tcp::5555-1.2.3:22",
    "net=10.0.2.0/255.255.0.0",
    "dns=10.0.3.3",
    "hostfwd=tcp::5555-10.0.3.5:22",
    "hostfwd=:127.0.0.1:5555-:22",
    "restrict=on,restrict=off",
    "restrict=yes",
    "ipv6=off",
    "ipv4=on,ipv6=off",
    "hostname=",
    "net=1.2.3",
    "hostfwd=tcp::5555-:22,restrict=on,hostname=foo,net=10.0.0.0/8",
  ]) {
    assert.equal(await message(o), "accepted", o);
  }
});

test("what this stack does not provide is refused by name", async () => {
  assert.match(await message("ipv6=on"), /ipv6=on is not supported/);
  assert.match(await message("tftp=/srv"), /'tftp=' is not supported/);
  assert.match(await message("guestfwd=tcp:10.0.2.100:1-cmd:x"), /'guestfwd=' is not supported/);
});

test("addresses: QEMU's defaults under other networks", () => {
  const c = parseUserOptions(opts("net=10.0.0.0/8"));
  assert.equal(formatIPv4(c.host), "10.0.2.2");
  assert.equal(formatIPv4(c.dns), "10.0.2.3");
  assert.equal(formatIPv4(c.dhcpStart), "10.0.2.15");
  const d = parseUserOptions(opts("net=192.168.76.9/24,hostfwd=tcp::1-:2"));
  assert.equal(formatIPv4(d.net), "192.168.76.0");
  assert.equal(formatIPv4(d.host), "192.168.76.2");
  assert.equal(formatIPv4(d.hostfwd[0].guestAddr), "192.168.76.15");
  const e = parseUserOptions(opts("net=10.9.8.7/255.255.0.0"));
  assert.equal(formatIPv4(e.net), "10.9.0.0");
  assert.equal(formatIPv4(e.mask), "255.255.0.0");
  // inet_aton forms: "1.2.3" is 1.2.0.3.
  assert.equal(formatIPv4(parseUserOptions(opts("hostfwd=tcp::5555-1.2.3:22")).hostfwd[0].guestAddr), "1.2.0.3");
});

test("info network text and hostfwd_add/hostfwd_remove messages match QEMU 7.2", async () => {
  const host = new FakeHost();
  assert.equal(createUserNetdev("n0", [], host).info(), "net=10.0.2.0,restrict=off");
  assert.equal(createUserNetdev("n1", opts("net=10.9.8.7/255.255.0.0,restrict=on"), host).info(), "net=10.9.0.0,restrict=on");
  const nd = createUserNetdev("n2", opts("hostfwd=tcp::5555-:22"), host);
  await nd.ready;
  await nd.hostfwdAdd("tcp::5556-:23");
  await assert.rejects(nd.hostfwdAdd("tcp::5556-:23"), { message: "Could not set up host forwarding rule 'tcp::5556-:23'" });
  await assert.rejects(nd.hostfwdAdd("bogus"), { message: "Invalid host forwarding rule 'bogus' (No : separators)" });
  nd.hostfwdRemove("tcp::5555");
  assert.throws(() => nd.hostfwdRemove("tcp::5555"), { message: "host forwarding rule for tcp::5555 not found" });
  assert.throws(() => nd.hostfwdRemove("udp::1"), { message: "host forwarding rule for udp::1 not found" });
  assert.throws(() => nd.hostfwdRemove("bogus"), { message: "invalid format" });
  // The listener of the removed rule is closed; the added one is open.
  const l5555 = host.listeners.find((l) => l.port === 5555);
  const l5556 = host.listeners.find((l) => l.port === 5556);
  assert.equal(l5555?.closed, true);
  assert.equal(l5556?.closed, false);
  nd.close();
  assert.equal(l5556?.closed, true);
});

test("a hostfwd port the host cannot bind fails the netdev, or hostfwd_add, as QEMU words it", async () => {
  const host = new FakeHost();
  host.busyPorts.add(80);
  host.busyPorts.add(81);
  // QEMU sets the rules up last first: the last busy one written is the one reported.
  await assert.rejects(openUserNetdev("n0", opts("hostfwd=tcp:127.0.0.1:80-:80,hostfwd=udp::81-:81,hostfwd=tcp::82-:82"), host),
    { message: "Could not set up host forwarding rule 'udp::81-:81'" });
  // Every rule's socket is closed again.
  assert.ok(host.listeners.every((l) => l.closed));
  assert.ok(host.udps.every((u) => u.closed));
  const nd = await openUserNetdev("n1", opts("hostfwd=tcp::82-:82"), host);
  await assert.rejects(nd.hostfwdAdd("tcp:127.0.0.1:80-:22"), { message: "Could not set up host forwarding rule 'tcp:127.0.0.1:80-:22'" });
  // The refused rule is gone: there is nothing to remove, and a free port takes the place.
  assert.throws(() => nd.hostfwdRemove("tcp:127.0.0.1:80"), { message: "host forwarding rule for tcp:127.0.0.1:80 not found" });
  await nd.hostfwdAdd("tcp:127.0.0.1:83-:22");
  // A socket that fails after it was bound drops its rule with a warning.
  host.listeners[host.listeners.length - 1].failed("accept EMFILE");
  assert.deepEqual(host.warnings, ["Could not set up host forwarding rule 'tcp:127.0.0.1:83-:22'"]);
  nd.close();
});
