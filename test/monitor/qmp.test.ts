/** QMP sessions over a fake machine: negotiation, dispatch errors, ids, events, run states. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeMachine, exchange, RAM_BASE, waitingNetwork } from "./fake-machine.js";

test("greeting, then only qmp_capabilities until negotiated, and no events before", () => {
  const f = fakeMachine();
  const s = f.openQmp();
  s.session.start();
  assert.equal(s.output[0], "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n");
  assert.deepEqual(exchange(s, "{\"execute\": \"stop\", \"id\": 1}"), [
    { id: 1, error: { class: "CommandNotFound", desc: "Expecting capabilities negotiation with 'qmp_capabilities'" } },
  ]);
  // An event while not negotiated: not sent.
  s.output.length = 0;
  f.run.stop();
  assert.deepEqual(s.output, []);
  assert.deepEqual(exchange(s, "{\"execute\": \"qmp_capabilities\"}"), [{ return: {} }]);
  assert.deepEqual(exchange(s, "{\"execute\": \"qmp_capabilities\"}"), [
    { error: { class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored" } },
  ]);
});

function ready(pretty = false): ReturnType<typeof fakeMachine> & { s: ReturnType<ReturnType<typeof fakeMachine>["openQmp"]> } {
  const f = fakeMachine();
  const s = f.openQmp(pretty);
  s.session.start();
  exchange(s, "{\"execute\": \"qmp_capabilities\"}");
  return { ...f, s };
}

test("ids of any type come back; key order as QEMU's", () => {
  const { s } = ready();
  s.output.length = 0;
  s.session.input(new TextEncoder().encode("{\"execute\": \"query-name\", \"id\": {\"x\": [1, 12345678901234567890]}}"));
  assert.equal(s.output[0], "{\"return\": {\"name\": \"fake\"}, \"id\": {\"x\": [1, 12345678901234567890]}}\r\n");
  s.output.length = 0;
  s.session.input(new TextEncoder().encode("{\"execute\": \"nope\", \"id\": \"a\"}"));
  assert.equal(s.output[0], "{\"id\": \"a\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}\r\n");
});

test("request errors: members checked before the command is looked up", () => {
  const { s } = ready();
  const cases: [string, string][] = [
    ["[]", "QMP input must be a JSON object"],
    ["{\"execute\": 1}", "QMP input member 'execute' must be a string"],
    ["{\"id\": 1}", "QMP input lacks member 'execute'"],
    ["{\"execute\": \"nope\", \"x\": 1}", "QMP input member 'x' is unexpected"],
    ["{\"execute\": \"stop\", \"arguments\": 1}", "QMP input member 'arguments' must be an object"],
    ["{\"exec-oob\": \"stop\"}", "QMP input member 'exec-oob' is unexpected"],
  ];
  for (const [input, desc] of cases) {
    const [reply] = exchange(s, input);
    assert.deepEqual((reply.error as { desc: string }).desc, desc, input);
  }
});

test("argument checking: schema order, then leftovers; types; enums", () => {
  const { s } = ready();
  const desc = (text: string): string => ((exchange(s, text)[0].error as { desc: string }).desc);
  assert.equal(desc("{\"execute\": \"memsave\", \"arguments\": {\"zz\": 1}}"), "Parameter 'val' is missing");
  assert.equal(desc("{\"execute\": \"memsave\", \"arguments\": {\"val\": 1, \"size\": 2, \"filename\": \"f\", \"zz\": 1}}"),
    "Parameter 'zz' is unexpected");
  assert.equal(desc("{\"execute\": \"memsave\", \"arguments\": {\"val\": 1, \"size\": true, \"filename\": \"f\"}}"),
    "Invalid parameter type for 'size', expected: integer");
  assert.equal(desc("{\"execute\": \"memsave\", \"arguments\": {\"val\": 18446744073709551615, \"size\": 1, \"filename\": \"f\"}}"),
    "Invalid parameter type for 'val', expected: integer");
  assert.equal(desc("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": 5}}"),
    "Invalid parameter type for 'command-line', expected: string");
  assert.equal(desc("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"f\", \"format\": \"bmp\"}}"),
    "Parameter 'format' does not accept value 'bmp'");
  assert.equal(desc("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"f\"}}"),
    "There is no console to take a screendump from");
});

test("stop, cont, system_reset, system_powerdown: QEMU's events before the reply", () => {
  const f = ready();
  const { s } = f;
  const stop = exchange(s, "{\"execute\": \"stop\"}");
  assert.deepEqual(stop, [{ timestamp: { seconds: 1700000000, microseconds: 123456 }, event: "STOP" }, { return: {} }]);
  assert.deepEqual(exchange(s, "{\"execute\": \"stop\"}"), [{ return: {} }], "stopping a stopped machine: no event");
  assert.deepEqual(exchange(s, "{\"execute\": \"query-status\"}"), [{ return: { status: "paused", singlestep: false, running: false } }]);
  const reset = exchange(s, "{\"execute\": \"system_reset\"}");
  assert.deepEqual(reset[0].data, { guest: false, reason: "host-qmp-system-reset" });
  assert.deepEqual(exchange(s, "{\"execute\": \"query-status\"}")[0].return, { status: "prelaunch", singlestep: false, running: false });
  assert.deepEqual(exchange(s, "{\"execute\": \"cont\"}").map((m) => m.event ?? "reply"), ["RESUME", "reply"]);
  assert.deepEqual(exchange(s, "{\"execute\": \"cont\"}").map((m) => m.event ?? "reply"), ["reply"]);
  assert.deepEqual(exchange(s, "{\"execute\": \"system_powerdown\"}").map((m) => m.event ?? "reply"), ["POWERDOWN", "reply"]);
  assert.deepEqual(f.actions, ["pause", "reset", "resume"]);
});

test("events reach every negotiated session; quit sends SHUTDOWN then its reply, then exits", () => {
  const f = ready();
  const other = f.openQmp();
  other.session.start();
  exchange(other, "{\"execute\": \"qmp_capabilities\"}");
  other.output.length = 0;
  const quit = exchange(f.s, "{\"execute\": \"quit\", \"id\": 9}");
  assert.deepEqual(quit.map((m) => m.event ?? m.id), ["SHUTDOWN", 9]);
  assert.deepEqual(quit[0].data, { guest: false, reason: "host-qmp-quit" });
  assert.match(other.output[0], /"event": "SHUTDOWN"/);
  assert.deepEqual(f.actions, ["pause", "exit 0"]);
});

test("guest shutdown with -no-shutdown: SHUTDOWN, STOP, state shutdown; cont refuses until a reset", () => {
  const f = fakeMachine({ noShutdown: true });
  const s = f.openQmp();
  s.session.start();
  exchange(s, "{\"execute\": \"qmp_capabilities\"}");
  s.output.length = 0;
  f.run.guestShutdown(0);
  assert.deepEqual(s.output.map((l) => (JSON.parse(l) as { event: string }).event), ["SHUTDOWN", "STOP"]);
  assert.match(s.output[0], /"data": \{"guest": true, "reason": "guest-shutdown"\}/);
  assert.deepEqual(exchange(s, "{\"execute\": \"cont\"}"), [{ error: { class: "GenericError", desc: "Resetting the Virtual Machine is required" } }]);
  exchange(s, "{\"execute\": \"system_reset\"}");
  assert.deepEqual(exchange(s, "{\"execute\": \"cont\"}").map((m) => m.event ?? "reply"), ["RESUME", "reply"]);
  f.run.guestReset();
  assert.match(s.output.join(""), /"data": \{"guest": true, "reason": "guest-reset"\}/);
});

test("queries: cpus, kvm, target, version, chardev, block", () => {
  const { s } = ready();
  const ret = (name: string): unknown => exchange(s, `{"execute": "${name}"}`)[0].return;
  assert.deepEqual(ret("query-cpus-fast"), [0, 1].map((i) => ({
    "thread-id": 1000 + i, props: { "core-id": i }, "qom-path": `/machine/soc0/harts[${i}]`, "cpu-index": i, target: "riscv64",
  })));
  assert.deepEqual(ret("query-kvm"), { enabled: false, present: false });
  assert.deepEqual(ret("query-target"), { arch: "riscv64" });
  assert.deepEqual(ret("query-chardev"), [{ "frontend-open": true, filename: "stdio", label: "serial0" }]);
  const block = ret("query-block") as Record<string, unknown>[];
  assert.equal(block[0].device, "virtio0");
  assert.equal((block[0].inserted as { image: { "virtual-size": number } }).image["virtual-size"], 1048576);
  assert.deepEqual(ret("query-pci"), [{
    bus: 0, devices: [
      { irq_pin: 0, bus: 0, qdev_id: "", slot: 0, class_info: { class: 1536, desc: "Host bridge" },
        id: { device: 8, "subsystem-vendor": 6900, vendor: 6966, subsystem: 4352 }, function: 0, regions: [] },
      { irq_pin: 1, bus: 0, qdev_id: "rng0", irq: 0, slot: 1, class_info: { class: 255 },
        id: { device: 4101, "subsystem-vendor": 6900, vendor: 6900, subsystem: 4 }, function: 0,
        regions: [{ bar: 0, size: 32, address: -1, type: "io" },
          { prefetch: true, mem_type_64: true, bar: 4, size: 16384, address: 17179869184, type: "memory" }] },
    ],
  }]);
  const names = (ret("query-commands") as { name: string }[]).map((c) => c.name);
  for (const n of ["qmp_capabilities", "query-status", "human-monitor-command", "memsave", "pmemsave", "screendump"]) {
    assert.ok(names.includes(n), n);
  }
});

test("memsave reads through the hart's mapping; pmemsave reads physical memory, zeros where nothing is", () => {
  const f = ready();
  f.ram.set([1, 2, 3, 4], 0x10);
  exchange(f.s, "{\"execute\": \"memsave\", \"arguments\": {\"val\": 18446744071562067984, \"size\": 4, \"filename\": \"/v\"}}");
  // 18446744071562067984 = 0xffffffff80000010 does not fit int64: QEMU's answer, an error.
  assert.equal(f.files.get("/v"), undefined);
  exchange(f.s, "{\"execute\": \"memsave\", \"arguments\": {\"val\": -2147483632, \"size\": 4, \"filename\": \"/v\"}}");
  assert.deepEqual([...(f.files.get("/v") ?? [])], [1, 2, 3, 4]);
  exchange(f.s, `{"execute": "pmemsave", "arguments": {"val": ${RAM_BASE + 0x10n}, "size": 4, "filename": "/p"}}`);
  assert.deepEqual([...(f.files.get("/p") ?? [])], [1, 2, 3, 4]);
  exchange(f.s, "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": 8, \"filename\": \"/z\"}}");
  assert.deepEqual([...(f.files.get("/z") ?? [])], [0, 0, 0, 0, 0, 0, 0, 0]);
  const [err] = exchange(f.s, "{\"execute\": \"memsave\", \"arguments\": {\"val\": -4096, \"size\": 4, \"filename\": \"/v\"}}");
  assert.deepEqual(err.error, { class: "GenericError", desc: "Invalid addr 0xfffffffffffff000/size 4 specified" });
  const [open] = exchange(f.s, "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": 1, \"filename\": \"/missing/x\"}}");
  assert.deepEqual(open.error, { class: "GenericError", desc: "Could not open '/missing/x': No such file or directory" });
});

test("human-monitor-command: HMP output with CRLF line ends; cpu-index picks the hart", () => {
  const { s } = ready();
  const hmp = (line: string, cpu?: number): unknown => exchange(s, JSON.stringify({
    execute: "human-monitor-command", arguments: { "command-line": line, ...(cpu === undefined ? {} : { "cpu-index": cpu }) },
  }))[0].return;
  assert.equal(hmp("info status"), "VM status: running\r\n");
  assert.equal(hmp("p $a0"), "0\r\n"); // "%#x" of 0
  assert.equal(hmp("p /x $a0", 1), "0x1\r\n");
  assert.equal(hmp("info cpus", 1), "  CPU #0: thread_id=1000\r\n* CPU #1: thread_id=1001\r\n");
  assert.equal(hmp("info registers -a"), "\r\nCPU#0\r\n pc       0000000000001000\r\n\r\nCPU#1\r\n pc       0000000000001000\r\n");
});

test("a command that waits on the host: later requests wait their turn, replies stay in order", async () => {
  const net = waitingNetwork();
  const f = fakeMachine({ network: net.network });
  const s = f.openQmp();
  s.session.start();
  exchange(s, "{\"execute\": \"qmp_capabilities\"}");
  const hostfwd = (id: number): string => JSON.stringify({ execute: "human-monitor-command", arguments: { "command-line": "hostfwd_add tcp::5555-:22" }, id });
  assert.deepEqual(exchange(s, `${hostfwd(1)}{"execute": "query-status", "id": 2}${hostfwd(3)}{"execute": "query-kvm", "id": 4}`), []);
  net.settle("Could not set up host forwarding rule 'tcp::5555-:22'");
  await new Promise((r) => setImmediate(r));
  const parse = (): Record<string, unknown>[] => s.output.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(parse(), [
    { return: "Could not set up host forwarding rule 'tcp::5555-:22'\r\n", id: 1 },
    { return: { status: "running", singlestep: false, running: true }, id: 2 },
  ]);
  net.settle();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(parse().slice(2), [{ return: "", id: 3 }, { return: { enabled: false, present: false }, id: 4 }]);
});

test("-qmp-pretty: indented JSON, CRLF line ends", () => {
  const { s } = ready(true);
  s.output.length = 0;
  s.session.input(new TextEncoder().encode("{\"execute\": \"query-kvm\", \"id\": 1}"));
  assert.equal(s.output[0], "{\r\n    \"return\": {\r\n        \"enabled\": false,\r\n        \"present\": false\r\n    },\r\n    \"id\": 1\r\n}\r\n");
});

test("a closed session gets nothing more, and its input is ignored", () => {
  const f = ready();
  f.s.session.close();
  f.s.output.length = 0;
  f.run.stop();
  f.s.session.input(new TextEncoder().encode("{\"execute\": \"query-status\"}"));
  assert.deepEqual(f.s.output, []);
});
