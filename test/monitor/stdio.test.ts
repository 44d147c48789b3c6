/**
 * The monitor on the terminal, driven through the console as a person would:
 * -nographic (and -serial mon:stdio) with Ctrl-A c switching between the
 * guest's console and the human monitor; -monitor stdio; -qmp stdio.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus } from "../util/console.js";
import { envInt } from "../util/env.js";
import { EMU, counterFirmware } from "./emulator.js";

const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 60) * 1000;
const UBOOT = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const BANNER = "QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ";

let work = "";
let firmware = "";

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-stdio-"));
  firmware = counterFirmware(work);
});

after(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

async function exitsCleanly(con: Console): Promise<void> {
  const status = await con.waitExit(STEP_MS);
  assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
}

test("-nographic: Ctrl-A c switches between U-Boot's console and the monitor", async (t: TestContext) => {
  if (!fs.existsSync(UBOOT)) return t.skip(`${UBOOT} is missing (Debian package u-boot-qemu)`);
  const con = new Console([EMU, "-M", "virt", "-m", "256M", "-nographic", "-kernel", UBOOT]);
  try {
    await con.expect("Hit any key to stop autoboot", STEP_MS);
    con.send(" ");
    await con.expect("=> ", STEP_MS);
    con.send("\x01c");
    await con.expect(BANNER, STEP_MS);
    con.send("info status\r");
    assert.equal(await con.expect("(qemu) ", STEP_MS), "info status\r\nVM status: running\r\n(qemu) ");
    // U-Boot waits for a key in S-mode: the pc is in RAM (where OpenSBI relocated it).
    con.send("p /x $pc\r");
    assert.match(await con.expect("(qemu) ", STEP_MS), /^p \/x \$pc\r\n0x[0-9a-f]{8,16}\r\n\(qemu\) $/);
    con.send("x /1i $pc\r");
    assert.match(await con.expect("(qemu) ", STEP_MS), /\r\n0x[0-9a-f]{16}: {2}[0-9a-f]{4,8} +\S+/);
    // Keys typed here stay with the monitor: the guest does not see them.
    con.send("stop\r");
    await con.expect("(qemu) ", STEP_MS);
    con.send("info status\r");
    assert.match(await con.expect("(qemu) ", STEP_MS), /VM status: paused\r\n/);
    con.send("cont\r");
    await con.expect("(qemu) ", STEP_MS);
    con.send("\x01c");
    await con.expect("\r\n", STEP_MS);
    // Back on the guest's console: U-Boot gets the keys.
    con.send("version\n");
    assert.match(await con.expect("=> ", STEP_MS), /U-Boot 2023\.01/);
    con.send("\x01c");
    await con.expect("(qemu) ", STEP_MS);
    con.send("quit\r");
    await exitsCleanly(con);
  } finally {
    con.kill();
  }
});

test("-serial mon:stdio: the same multiplexer without -nographic; Ctrl-A x still quits", async () => {
  const con = new Console([EMU, "-M", "virt", "-m", "64M", "-display", "none", "-bios", firmware, "-serial", "mon:stdio"]);
  try {
    await new Promise((r) => setTimeout(r, 300));
    con.send("\x01c");
    await con.expect(BANNER, STEP_MS);
    con.send("info cpus\r");
    assert.match(await con.expect("(qemu) ", STEP_MS), /\* CPU #0: thread_id=\d+\r\n/);
    con.send("\x01x");
    await exitsCleanly(con);
  } finally {
    con.kill();
  }
});

test("-monitor stdio: the human monitor owns the terminal", async () => {
  const con = new Console([EMU, "-M", "virt", "-m", "64M", "-display", "none", "-bios", firmware, "-monitor", "stdio"]);
  try {
    await con.expect(BANNER, STEP_MS);
    con.send("info status\n");
    assert.equal(await con.expect("(qemu) ", STEP_MS), "info status\r\nVM status: running\r\n(qemu) ");
    con.send("stop\n");
    await con.expect("(qemu) ", STEP_MS);
    con.send("p /u $a0\n");
    const first = /\r\n(\d+)\r\n/.exec(await con.expect("(qemu) ", STEP_MS))?.[1];
    await new Promise((r) => setTimeout(r, 200));
    con.send("p /u $a0\n");
    const second = /\r\n(\d+)\r\n/.exec(await con.expect("(qemu) ", STEP_MS))?.[1];
    assert.equal(first, second, "a stopped guest's counter stands still");
    con.send("system_reset\n");
    await con.expect("(qemu) ", STEP_MS);
    con.send("info status\n");
    assert.match(await con.expect("(qemu) ", STEP_MS), /VM status: paused \(prelaunch\)\r\n/);
    con.send("quit\n");
    await exitsCleanly(con);
  } finally {
    con.kill();
  }
});

test("-qmp stdio: QMP on the terminal", async () => {
  const con = new Console([EMU, "-M", "virt", "-m", "64M", "-display", "none", "-bios", firmware, "-qmp", "stdio"]);
  try {
    await con.expect(/\{"QMP": \{"version": \{"qemu": \{"micro": 0, "minor": 2, "major": 7\}, "package": ""\}, "capabilities": \["oob"\]\}\}\r\n/, STEP_MS);
    con.send("{\"execute\": \"qmp_capabilities\"}\n");
    await con.expect("{\"return\": {}}\r\n", STEP_MS);
    con.send("{\"execute\": \"quit\", \"id\": 1}\n");
    await con.expect(/"event": "SHUTDOWN", "data": \{"guest": false, "reason": "host-qmp-quit"\}\}\r\n\{"return": \{\}, "id": 1\}\r\n/, STEP_MS);
    await exitsCleanly(con);
  } finally {
    con.kill();
  }
});
