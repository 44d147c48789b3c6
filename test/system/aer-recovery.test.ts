/**
 * PCIe error recovery, end to end: Linux 6.12 on `-M virt,aia=aplic-imsic` with an
 * e1000e behind a PCIe root port; errors injected at the port through QMP (an
 * uncorrectable non-fatal one, a fatal one, each twice); the kernel's AER driver
 * must report each, recover the NIC (a link reset for the fatal ones), bring its
 * link back up, and its MSI-X vectors must go on counting.
 *
 * qemu-system-riscv64 7.2 is the oracle; tsemu-system-riscv64 must give the same
 * `summary` (TSEMU_AER_EMU names another emulator to test instead).
 * TSEMU_AER_LOG=1 copies the guest console to stderr; TSEMU_SYSTEM_TIMEOUT_S is the
 * longest wait for one step (default 180 s).
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { envInt, repoRoot, which } from "../util/env.js";
import { linux612Guest } from "../util/guest-images.js";
import { COMP_TIME, DLP, NIC, ROOT_PORT, runAerRecovery, summary, type AerRun, type Injection } from "../util/aer-recovery.js";

const ROOT = repoRoot(import.meta.url);
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_AER_LOG === "1";
const ORACLE = "qemu-system-riscv64";
/** The emulators to run: the oracle, and tsemu (or the one named by TSEMU_AER_EMU). */
const EMULATORS = [ORACLE, process.env.TSEMU_AER_EMU !== undefined && process.env.TSEMU_AER_EMU !== ""
  ? process.env.TSEMU_AER_EMU : path.join(ROOT, "bin/tsemu-system-riscv64")];
const INJECTIONS: Injection[] = [COMP_TIME, DLP, COMP_TIME, DLP];

let work = "";
let images: { kernel: string; initrd: string } | undefined;
let imagesMissing = "";
const runs = new Map<string, AerRun>();

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-aer-"));
  try {
    images = linux612Guest(ROOT);
  } catch (err) {
    imagesMissing = `the Linux 6.12 guest is not built: ${(err as Error).message}`;
  }
});

after(() => {
  if (work !== "") fs.rmSync(work, { recursive: true, force: true });
});

/** What QEMU 7.2 shows, and what every emulator must show: checked on each run. */
function assertRecovery(run: AerRun): void {
  const boot = run.bootKernelLog.join("\n");
  assert.match(boot, new RegExp(`pcieport ${ROOT_PORT}: AER: enabled with IRQ \\d+`), `no AER service on the root port:\n${boot}`);
  const lines = run.interruptsAtLinkUp;
  const nic = lines.filter((l) => l.chip === `PCI-MSIX-${NIC}`).map((l) => l.actions);
  assert.deepEqual(nic, ["eth0-rx-0", "eth0-tx-0", "eth0"], `the NIC's MSI-X vectors in /proc/interrupts: ${JSON.stringify(lines)}`);
  assert.ok(lines.some((l) => l.chip.endsWith(ROOT_PORT) && /\baerdrv\b/.test(l.actions)), "no aerdrv interrupt for the root port");
  assert.ok(run.linkUpLog.some((l) => /eth0: NIC Link is Up/.test(l)), `eth0 did not come up:\n${run.linkUpLog.join("\n")}`);

  for (const [i, r] of run.rounds.entries()) {
    const where = `round ${i + 1} (${r.injection.error}):\n${r.kernelLog.join("\n")}`;
    assert.match(r.monitorReply, /^OK id: rp0 root bus: 0000:00, bus: 0 devfn: 1\.0\r?\n$/, where);
    // Linux's recovery (drivers/pci/pcie/err.c): a fatal error resets the link
    // below the port (the NIC comes back with its Command register clear and is
    // enabled again by e1000e's slot_reset); a non-fatal one goes through the
    // drivers' callbacks alone. Then resume brings the NIC up and its link back.
    const expected = r.injection.severity === "fatal"
      ? [`aer-report fatal from ${ROOT_PORT}`, "link-reset", "nic-enabled", "recovery-successful", "nic-link-up"]
      : [`aer-report non-fatal from ${ROOT_PORT}`, "recovery-successful", "nic-link-up"];
    assert.deepEqual(r.events, expected, where);
  }
  for (const [i, s] of summary(run).entries()) {
    assert.ok(s.portInterrupted, `round ${i + 1}: the root port's AER interrupt did not count`);
    assert.ok(s.nicInterruptsAgain, `round ${i + 1}: the NIC's MSI-X vectors stopped counting after recovery`);
  }
}

for (const emu of EMULATORS) {
  test(`PCIe AER recovery of an e1000e behind a root port: ${emu}`, async (t: TestContext) => {
    if (which(emu) === undefined) return t.skip(`${emu} is not installed`);
    if (images === undefined) return t.skip(imagesMissing);
    const run = await runAerRecovery({ emulator: emu, ...images, work, injections: INJECTIONS, stepMs: STEP_MS,
      onOutput: LOG ? (s) => process.stderr.write(s) : undefined });
    runs.set(emu, run);
    for (const [i, r] of run.rounds.entries()) t.diagnostic(`round ${i + 1} ${r.injection.error}: ${r.events.join(", ")}`);
    assertRecovery(run);
  });
}

for (const emu of EMULATORS.filter((e) => e !== ORACLE)) {
  test(`PCIe AER recovery: ${emu} as ${ORACLE}`, (t: TestContext) => {
    const oracle = runs.get(ORACLE);
    const run = runs.get(emu);
    if (oracle === undefined || run === undefined) return t.skip("a run above did not complete");
    assert.deepEqual(summary(run), summary(oracle));
  });
}
