/**
 * The PCIe error-recovery scenario, run on any emulator with QEMU's command line:
 * Linux 6.12 (guest/build-linux.sh 6.12) on `-M virt,aia=aplic-imsic` with an
 * e1000e NIC behind a PCIe root port, errors injected at the root port through
 * QMP (`human-monitor-command` `pcie_aer_inject_error`), and what the guest makes
 * of them: the kernel's AER and e1000e messages, reduced to a list of events per
 * injection, and the MSI-X interrupt counts of the NIC and the port before and
 * after. qemu-system-riscv64 is the oracle; another emulator's run is compared
 * with its `summary`.
 *
 * The console is hvc0 (the SBI console): with aia=aplic-imsic QEMU 7.2 storms on
 * the UART's level-triggered line once ttyS0 is opened; with console=hvc0 nothing
 * opens it.
 */
import * as path from "node:path";
import { Console } from "./console.js";
import { parseInterrupts, total, type InterruptLine } from "./proc-interrupts.js";
import { QmpClient } from "../monitor/qmp-client.js";

/** The guest shell's prompt (guest/initramfs/etc/profile). */
export const PROMPT = "tsemu# ";
/** Where QEMU puts the root port (the first free slot of pcie.0) and the NIC behind it. */
export const ROOT_PORT = "0000:00:01.0";
export const NIC = "0000:01:00.0";

/** One error to inject: a name from QEMU's pcie_aer.c table, and its default severity there. */
export interface Injection {
  error: string;
  severity: "non-fatal" | "fatal";
}

/** An uncorrectable non-fatal error (completion timeout) and a fatal one (data link protocol). */
export const COMP_TIME: Injection = { error: "COMP_TIME", severity: "non-fatal" };
export const DLP: Injection = { error: "DLP", severity: "fatal" };

export interface AerRunOptions {
  /** The emulator's program (qemu-system-riscv64, tsemu-system-riscv64). */
  emulator: string;
  kernel: string;
  initrd: string;
  /** A folder for the QMP socket. */
  work: string;
  injections: readonly Injection[];
  /** The longest wait for one step (boot, one recovery), in ms. */
  stepMs: number;
  smp?: number;
  /** Called with the console output as it arrives. */
  onOutput?: (text: string) => void;
}

/** MSI-X and MSI interrupt totals by handler name ("eth0-rx-0", "aerdrv, pciehp"). */
export type VectorCounts = Record<string, number>;

export interface Round {
  injection: Injection;
  /** The human monitor's answer to pcie_aer_inject_error. */
  monitorReply: string;
  /** The kernel's messages from the injection until the NIC's link was up again. */
  kernelLog: string[];
  /** kernelLog reduced to what the recovery did (see `classify`). */
  events: string[];
  before: VectorCounts;
  /**
   * Right after the link came back. e1000e frees and requests its vectors again
   * while it recovers, so the NIC's counts start again from zero.
   */
  recovered: VectorCounts;
  /** Once the NIC's vectors counted past `recovered` (the NIC interrupts again). */
  later: VectorCounts;
}

export interface AerRun {
  argv: string[];
  /** The console from power-on to the first prompt. */
  bootLog: string;
  /** The kernel's messages at boot that name the port, the NIC or AER. */
  bootKernelLog: string[];
  /** /proc/interrupts once eth0 is up (e1000e requests its MSI-X vectors when opened). */
  interruptsAtLinkUp: InterruptLine[];
  /** The kernel's messages from `ip link set eth0 up` until the link was up. */
  linkUpLog: string[];
  rounds: Round[];
  /** Everything the console showed. */
  transcript: string;
}

/** The emulator's command line for the scenario. */
export function aerArgv(o: Pick<AerRunOptions, "emulator" | "kernel" | "initrd" | "smp">, qmpSocket: string): string[] {
  return [o.emulator, "-M", "virt,aia=aplic-imsic", "-m", "256M", "-smp", String(o.smp ?? 1), "-nographic",
    "-kernel", o.kernel, "-initrd", o.initrd, "-append", "console=hvc0",
    "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1",
    "-device", "e1000e,bus=rp0,romfile=",
    "-qmp", `unix:${qmpSocket},server=on,wait=off`];
}

/**
 * A kernel message as an event of the recovery, or undefined when it says nothing
 * about it. Timestamps are gone already.
 */
export function classify(line: string): string | undefined {
  let m: RegExpExecArray | null;
  if ((m = /AER: (Multiple )?Uncorrect\w* \((Non-Fatal|Fatal)\) error (?:message )?received from (\S+)/.exec(line)) !== null) {
    return `aer-report ${m[2].toLowerCase()} from ${m[3]}`;
  }
  if ((m = /AER: (Multiple )?Correct\w* error (?:message )?received from (\S+)/.exec(line)) !== null) {
    return `aer-report correctable from ${m[2]}`;
  }
  if (/Root Port link has been reset/.test(line)) return "link-reset";
  if (/Downstream Port link has been reset/.test(line)) return "link-reset";
  if (/subordinate device reset failed/.test(line)) return "reset-failed";
  if (/device recovery successful/.test(line)) return "recovery-successful";
  if (/device recovery failed/.test(line)) return "recovery-failed";
  // After a link reset the NIC's Command register is clear again; slot_reset re-enables it.
  if (new RegExp(`e1000e ${NIC}: enabling device`).test(line)) return "nic-enabled";
  if (/eth0: NIC Link is Up/.test(line)) return "nic-link-up";
  if (/eth0: NIC Link is Down/.test(line)) return "nic-link-down";
  if (/e1000e .*(Cannot re-enable|can't bring device back up|Hardware Error|Reset adapter)/.test(line)) {
    return `e1000e: ${line.replace(/^.*?e1000e \S+( eth0)?: /, "")}`;
  }
  return undefined;
}

/** What another emulator's run must match: per round, the events and whether the interrupts went on. */
export function summary(run: AerRun): { error: string; events: string[]; portInterrupted: boolean; nicInterruptsAgain: boolean }[] {
  return run.rounds.map((r) => ({
    error: r.injection.error,
    events: r.events,
    portInterrupted: aerCount(r.recovered) > aerCount(r.before),
    nicInterruptsAgain: nicCount(r.later) > nicCount(r.recovered),
  }));
}

/** The root port's AER interrupts in a count table. */
export function aerCount(c: VectorCounts): number {
  return Object.entries(c).filter(([name]) => /\baerdrv\b/.test(name)).reduce((a, [, n]) => a + n, 0);
}

/** The NIC's MSI-X interrupts (every eth0 vector) in a count table. */
export function nicCount(c: VectorCounts): number {
  return Object.entries(c).filter(([name]) => /^eth0\b/.test(name)).reduce((a, [, n]) => a + n, 0);
}

/** The MSI and MSI-X lines of the port and the NIC, by handler name. */
export function vectorCounts(lines: readonly InterruptLine[]): VectorCounts {
  const out: VectorCounts = {};
  for (const l of lines) {
    if (/^PCI-MSI(X)?-/.test(l.chip) && (l.chip.endsWith(ROOT_PORT) || l.chip.endsWith(NIC))) out[l.actions] = total(l);
  }
  return out;
}

/** Kernel log lines without their timestamps. */
function kernelLines(text: string): string[] {
  return text.replace(/\r/g, "").split("\n").map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, "")).filter((l) => l.trim() !== "");
}

/** Boots, brings eth0 up, injects each error in turn and watches the recovery. */
export async function runAerRecovery(o: AerRunOptions): Promise<AerRun> {
  const sock = path.join(o.work, `qmp-${process.pid}-${Date.now()}.sock`);
  const argv = aerArgv(o, sock);
  const con = new Console(argv, { cwd: o.work, onOutput: o.onOutput });
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect({ path: sock }, o.stepMs);
    await qmp.negotiate();
    const bootLog = await con.expect(PROMPT, o.stepMs);

    /** Runs a shell command; what it printed, without the echo and the prompt. */
    const sh = async (command: string): Promise<string> => {
      con.send(command + "\n");
      const out = (await con.expect(PROMPT, o.stepMs)).replace(/\r/g, "");
      const body = out.slice(0, out.length - PROMPT.length);
      const echo = body.indexOf(command + "\n");
      return echo < 0 ? body : body.slice(echo + command.length + 1);
    };
    const counts = async (): Promise<VectorCounts> => vectorCounts(parseInterrupts(await sh("cat /proc/interrupts")));
    /** The kernel's new messages, polled (a second apart) until `done` says the step is over. */
    const kernelUntil = async (what: string, done: (lines: string[]) => boolean): Promise<string[]> => {
      const deadline = Date.now() + o.stepMs;
      const lines: string[] = [];
      for (;;) {
        lines.push(...kernelLines(await sh("dmesg -c")));
        if (done(lines)) return lines;
        if (Date.now() > deadline) throw new Error(`no ${what} within ${o.stepMs} ms; the kernel said:\n${lines.join("\n")}`);
        await sh("sleep 1");
      }
    };

    // From here on the kernel's messages are read with dmesg, not mixed into the shell's output.
    await sh("dmesg -n 1");
    const bootKernelLog = kernelLines(await sh("dmesg -c")).filter((l) => /pcieport|e1000e|AER|PCI-MSI|aer|pci 0000:0[01]/.test(l));

    // QEMU 7.2 forwards an uncorrectable error from a port only when SERR# Enable is
    // set in its Command register (QEMU 8.0 also takes the Device Control enables,
    // as the PCIe spec does); Linux 6.12 sets only the latter. Set SERR# as a
    // guest could, through the port's config space in sysfs.
    // (Short commands: the console wraps long ones, and the echo is looked for whole.)
    await sh(`cfg=/sys/bus/pci/devices/${ROOT_PORT}/config`);
    await sh("b=$(od -An -tu1 -j5 -N1 $cfg)");
    await sh(`printf "\\\\$(printf %o $((b | 1)))" | dd of=$cfg bs=1 seek=5 count=1 conv=notrunc`);
    const command = (await sh("od -An -tx1 -j4 -N2 $cfg")).trim();
    if (!/^[0-9a-f]{2} [0-9a-f][13579bdf]$/.test(command)) throw new Error(`SERR# Enable did not stick on ${ROOT_PORT}: command bytes ${command}`);

    await sh("ip link set eth0 up");
    const linkUpLog = await kernelUntil("NIC Link is Up", (ls) => ls.some((l) => classify(l) === "nic-link-up"));
    const interruptsAtLinkUp = parseInterrupts(await sh("cat /proc/interrupts"));

    const rounds: Round[] = [];
    for (const injection of o.injections) {
      const before = await counts();
      const r = await qmp.execute("human-monitor-command", { "command-line": `pcie_aer_inject_error rp0 ${injection.error}` });
      const monitorReply = String(r.reply.value.return ?? JSON.stringify(r.reply.value));
      // Over once recovery has failed, or succeeded and the NIC's link is back.
      const kernelLog = await kernelUntil(`recovery from ${injection.error}`, (ls) => {
        const ev = ls.map(classify);
        const ok = ev.indexOf("recovery-successful");
        return ev.includes("recovery-failed") || ev.includes("reset-failed") || (ok >= 0 && ev.slice(ok).includes("nic-link-up"));
      });
      const recovered = await counts();
      let later = recovered;
      const deadline = Date.now() + o.stepMs;
      while (nicCount(later) <= nicCount(recovered) && Date.now() < deadline) {
        await sh("sleep 1");
        later = await counts();
      }
      const events = kernelLog.map(classify).filter((e): e is string => e !== undefined);
      rounds.push({ injection, monitorReply, kernelLog, events, before, recovered, later });
    }
    return { argv, bootLog, bootKernelLog, interruptsAtLinkUp, linkUpLog, rounds, transcript: con.output };
  } finally {
    qmp?.close();
    con.kill();
  }
}
