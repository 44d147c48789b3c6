/**
 * e1000e end to end: Linux 6.12 on `-M virt,aia=aplic-imsic` (console hvc0)
 * with `-device e1000e,romfile=` on the root bus and no netdev.  The guest's
 * e1000e driver probes the NIC (NVM, MAC, PHY), brings the link up, and
 * takes three MSI-X vectors through the IMSIC; a link cycle raises the
 * "other" vector again; an ARP request goes out (and is dropped: there is no
 * backend).  Under qemu-system-riscv64 7.2, in the same run, the kernel
 * prints the same probe and link lines and /proc/interrupts lists the same
 * PCI-MSIX lines.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Console, describeStatus, shell } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";
import { linux612Guest } from "../util/guest-images.js";
import { msixLines, type MsixLine } from "../util/proc-interrupts.js";

const ROOT = repoRoot(import.meta.url);
const TSEMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";
const PROMPT = "tsemu# ";
const NIC = "0000:00:01.0";


interface Observed {
  probe: string[];
  linkUp: string[];
  atLinkUp: MsixLine[];
  afterCycle: MsixLine[];
  txPackets: number;
  /** /proc/interrupts after the frames went out. */
  afterTx: MsixLine[];
  console: Console;
}

function boot(emu: string, guest: { kernel: string; initrd: string }): Console {
  return new Console([emu, "-M", "virt,aia=aplic-imsic", "-smp", "1", "-m", "256M", "-nographic",
    "-kernel", guest.kernel, "-initrd", guest.initrd, "-append", "console=hvc0", "-device", "e1000e,romfile="],
  { onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
}

/** The PCI-MSIX lines of /proc/interrupts: count summed over the harts, and the description. */

/**
 * Kernel lines without their timestamps, each once: a message the kernel
 * prints while a command runs reaches the console as well as dmesg.
 */
function kernelLines(text: string, re: RegExp): string[] {
  const lines = text.split("\n").map((l) => l.replace(/^\[\s*\d+\.\d+\]\s*/, "").trim()).filter((l) => re.test(l));
  return [...new Set(lines)];
}

async function observe(emu: string, guest: { kernel: string; initrd: string }): Promise<Observed> {
  const con = boot(emu, guest);
  const sh = (command: string): Promise<string> => shell(con, command, PROMPT, STEP_MS);
  await con.expect(PROMPT, STEP_MS);
  const probe = kernelLines(await sh("dmesg | grep e1000e"), /e1000e/);
  // The link comes up from the driver's watchdog after open; wait for its line.
  await sh("ip link set eth0 up");
  let linkUp: string[] = [];
  for (let i = 0; i < 20 && linkUp.length === 0; i++) {
    linkUp = kernelLines(await sh("sleep 0.5; dmesg | grep 'Link is Up'"), /Link is Up/);
  }
  const atLinkUp = msixLines(await sh("grep PCI-MSIX /proc/interrupts"));
  await sh("ip link set eth0 down; sleep 1; ip link set eth0 up");
  for (let i = 0; i < 20; i++) {
    if (kernelLines(await sh("sleep 0.5; dmesg | grep 'Link is Up'"), /Link is Up/).length >= 2) break;
  }
  const afterCycle = msixLines(await sh("grep PCI-MSIX /proc/interrupts"));
  // An ARP request for a host nobody answers (the ping itself waits; it is stopped after a moment).
  await sh("ip addr add 10.0.2.15/24 dev eth0; ping -c 1 10.0.2.2 >/dev/null 2>&1 & sleep 2; kill $! 2>/dev/null; true");
  const tx = await sh("cat /sys/class/net/eth0/statistics/tx_packets");
  const txPackets = Number(/^(\d+)\s*$/m.exec(tx)?.[1] ?? NaN);
  const afterTx = msixLines(await sh("grep PCI-MSIX /proc/interrupts"));
  return { probe, linkUp, atLinkUp, afterCycle, txPackets, afterTx, console: con };
}

async function powerOff(con: Console): Promise<void> {
  con.send("poweroff\n");
  const status = await con.waitExit(STEP_MS);
  assert.deepEqual(status, { code: 0, signal: null }, `the emulator ended with ${describeStatus(status)}\n${con.tail()}`);
}

test("e1000e: Linux 6.12 probes it, the link comes up, MSI-X vectors as QEMU's, frames go out", async (t: TestContext) => {
  let guest: { kernel: string; initrd: string };
  try {
    guest = linux612Guest(ROOT);
  } catch (err) {
    return t.skip(`the Linux 6.12 guest is not built: ${(err as Error).message}`);
  }
  let oracle: Observed | undefined;
  if (QEMU !== undefined) {
    oracle = await observe(QEMU, guest);
    try {
      await powerOff(oracle.console);
    } finally {
      oracle.console.kill();
    }
  } else {
    t.diagnostic("qemu-system-riscv64 is not installed: tsemu is checked alone");
  }

  const got = await observe(TSEMU, guest);
  try {
    const mac = oracle === undefined ? "52:54:00:12:34:57" : /eth0: \(PCI Express[^)]*\) (\S+)/.exec(oracle.probe.join("\n"))?.[1];
    for (const line of [
      "e1000e: Intel(R) PRO/1000 Network Driver",
      `e1000e ${NIC} eth0: (PCI Express:2.5GT/s:Width x1) ${mac ?? "?"}`,
      `e1000e ${NIC} eth0: Intel(R) PRO/1000 Network Connection`,
      `e1000e ${NIC} eth0: MAC: 3, PHY: 8, PBA No: 000000-000`,
    ]) {
      assert.ok(got.probe.includes(line), `the probe printed ${JSON.stringify(line)}:\n${got.probe.join("\n")}`);
    }
    if (oracle !== undefined) assert.deepEqual(got.probe, oracle.probe, "the same e1000e lines as under QEMU");
    assert.deepEqual(got.linkUp, [`e1000e ${NIC} eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx`]);
    if (oracle !== undefined) assert.deepEqual(got.linkUp, oracle.linkUp);

    const names = got.atLinkUp.map((l) => l.text);
    assert.deepEqual(names, [`PCI-MSIX-${NIC} 0 Edge eth0-rx-0`, `PCI-MSIX-${NIC} 1 Edge eth0-tx-0`, `PCI-MSIX-${NIC} 2 Edge eth0`]);
    if (oracle !== undefined) assert.deepEqual(names, oracle.atLinkUp.map((l) => l.text));
    // The "other" vector carried the link change the driver raised on open, and again after the cycle.
    assert.ok(got.atLinkUp[2].count >= 1, `eth0 (other) fired at link up: ${JSON.stringify(got.atLinkUp)}`);
    assert.ok(got.afterCycle[2].count > got.atLinkUp[2].count, `eth0 (other) fired again after the link cycle: ${JSON.stringify(got.afterCycle)}`);
    if (oracle !== undefined) {
      assert.equal(got.atLinkUp[2].count, oracle.atLinkUp[2].count, "as many link interrupts as under QEMU");
      assert.equal(got.afterCycle[2].count, oracle.afterCycle[2].count, "as many link interrupts after the cycle as under QEMU");
    }
    // The watchdog's software interrupt reaches the receive vector.
    assert.ok(got.afterCycle[0].count > 0, "eth0-rx-0 fired");
    assert.ok(got.txPackets >= 1, `frames were transmitted (tx_packets ${got.txPackets})`);
    assert.ok(got.afterTx[1].count > got.afterCycle[1].count, `eth0-tx-0 fired for the transmitted frames: ${JSON.stringify(got.afterTx)}`);
    if (oracle !== undefined) assert.ok(oracle.afterTx[1].count > 0, "as it does under QEMU");
    await powerOff(got.console);
  } finally {
    got.console.kill();
  }
});
