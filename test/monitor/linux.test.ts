/**
 * The monitor with Linux running (the default guest from guest/build-linux.sh
 * and guest/build-initramfs.sh, when built): stop and cont under a live
 * kernel, registers and memory of both harts through HMP, and the events of
 * a guest reboot (RESET, guest-reset) and power-off (SHUTDOWN, guest-shutdown).
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console, describeStatus } from "../util/console.js";
import { envInt } from "../util/env.js";
import { QmpClient } from "./qmp-client.js";
import { EMU, ROOT } from "./emulator.js";

const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const KERNEL = path.join(ROOT, ".cache/linux/current/Image");
const INITRD = path.join(ROOT, ".cache/initramfs/current/rootfs.cpio.gz");
const PROMPT = "tsemu# ";

test("Linux under the monitor: stop/cont, registers and memory, reboot and power-off events", async (t: TestContext) => {
  for (const f of [KERNEL, INITRD]) {
    if (!fs.existsSync(f)) return t.skip(`${f} is missing (guest/build-linux.sh, guest/build-initramfs.sh)`);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-linux-qmp-"));
  const sock = path.join(work, "qmp");
  const con = new Console([EMU, "-M", "virt", "-m", "256M", "-smp", "2", "-nographic", "-kernel", KERNEL, "-initrd", INITRD,
    "-append", "console=ttyS0", "-qmp", `unix:${sock},server=on,wait=off`]);
  try {
    const qmp = await QmpClient.connect({ path: sock });
    await qmp.negotiate();
    await con.expect(PROMPT, STEP_MS);
    const hmp = async (line: string): Promise<string> =>
      String((await qmp.execute("human-monitor-command", { "command-line": line })).reply.value.return);

    const stop = await qmp.execute("stop");
    assert.deepEqual(stop.events.map((e) => e.value.event), ["STOP"]);
    const regs = await hmp("info registers -a");
    assert.match(regs, /^\r\nCPU#0\r\n pc {7}[0-9a-f]{16}\r\n/);
    assert.match(regs, /\r\nCPU#1\r\n pc {7}[0-9a-f]{16}\r\n/);
    // Linux runs with paging on: satp holds Sv39 or Sv48 (mode 8 or 9).
    assert.match(await hmp("p /x $satp"), /^0x[89][0-9a-f]{15}\r\n$/);
    assert.equal((await hmp("x /3i $pc")).split("\r\n").filter((l) => /^0x[0-9a-f]{16}: {2}/.test(l)).length, 3);
    // The kernel's own mapping of its first page, and the same bytes physically.
    const virt = await hmp("x /4xw 0xffffffff80000000");
    const phys = await hmp("xp /4xw 0x80200000");
    assert.equal(virt.slice(virt.indexOf(":")), phys.slice(phys.indexOf(":")), `${virt} / ${phys}`);

    const cont = await qmp.execute("cont");
    assert.deepEqual(cont.events.map((e) => e.value.event), ["RESUME"]);
    con.send("echo alive\n");
    await con.expect(/alive\r?\n/, STEP_MS);
    await con.expect(PROMPT, STEP_MS);

    // The guest's clock stands still while it is stopped, as QEMU's virtual clock.
    const uptime = async (): Promise<number> => {
      con.send("cat /proc/uptime\n");
      const out = await con.expect(PROMPT, STEP_MS);
      return Number(/^(\d+\.\d+) /m.exec(out)?.[1]);
    };
    const hostBefore = performance.now();
    const guestBefore = await uptime();
    await qmp.execute("stop");
    await new Promise((r) => setTimeout(r, 2000));
    await qmp.execute("cont");
    const guestAfter = await uptime();
    const hostSeconds = (performance.now() - hostBefore) / 1000;
    assert.ok(guestAfter - guestBefore < hostSeconds - 1.5,
      `guest uptime went ${guestAfter - guestBefore} s in ${hostSeconds} s of host time, 2 s of them stopped`);

    con.send("reboot\n");
    const reset = await qmp.next(STEP_MS);
    assert.equal(reset.value.event, "RESET", reset.raw);
    assert.deepEqual(reset.value.data, { guest: true, reason: "guest-reset" });
    // (The old shell prints one more prompt on its way out: wait for the new system's.)
    await con.expect("Run /init as init process", STEP_MS);
    await con.expect(PROMPT, STEP_MS);

    con.send("poweroff\n");
    const shutdown = await qmp.next(STEP_MS);
    assert.equal(shutdown.value.event, "SHUTDOWN", shutdown.raw);
    assert.deepEqual(shutdown.value.data, { guest: true, reason: "guest-shutdown" });
    const status = await con.waitExit(STEP_MS);
    assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
  } finally {
    con.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
