/**
 * Linux's /proc/interrupts as data. Each numbered line reads
 * `IRQ: COUNT... CHIP HWIRQ TRIGGER [-FLOW] ACTIONS`, one count per online CPU; the
 * chip's name may hold spaces ("RISC-V INTC"), the flow handler's name shows when
 * the chip names it ("-fasteoi" on the APLIC's MSI domain), the actions are the
 * handlers' names ("eth0-rx-0", "aerdrv, pciehp"). Lines without an IRQ number
 * (IPI0:, ...) are left out.
 */

export interface InterruptLine {
  irq: number;
  /** Per CPU, in column order. */
  counts: number[];
  chip: string;
  hwirq: number;
  trigger: string;
  /** The flow handler's name ("fasteoi"), or "" when the line does not show it. */
  flow: string;
  actions: string;
}

/** The numbered lines of a /proc/interrupts text; throws on a numbered line it cannot read. */
export function parseInterrupts(text: string): InterruptLine[] {
  const lines = text.replace(/\r/g, "").split("\n");
  const header = lines.find((l) => /^\s*CPU\d+/.test(l));
  if (header === undefined) throw new Error(`no CPU header in /proc/interrupts:\n${text}`);
  const cpus = header.trim().split(/\s+/).length;
  const out: InterruptLine[] = [];
  for (const line of lines) {
    const m = /^\s*(\d+):\s+(.*)$/.exec(line);
    if (m === null) continue;
    const fields = m[2].split(/\s+/);
    const counts = fields.slice(0, cpus).map(Number);
    const rest = /^(.*?)\s+(\d+)\s+(Edge|Level)(?:\s+-(\S+))?\s*(.*)$/.exec(m[2].split(/\s+/).slice(cpus).join(" "));
    if (counts.length !== cpus || counts.some((c) => !Number.isInteger(c)) || rest === null) {
      throw new Error(`cannot read this /proc/interrupts line: ${line}`);
    }
    out.push({ irq: Number(m[1]), counts, chip: rest[1], hwirq: Number(rest[2]), trigger: rest[3], flow: rest[4] ?? "", actions: rest[5] });
  }
  return out;
}

/** The total of a line's counts over all CPUs. */
export function total(line: InterruptLine): number {
  return line.counts.reduce((a, b) => a + b, 0);
}

/** A PCI-MSIX line: its count summed over the harts, and its description ("PCI-MSIX-0000:00:01.0 1 Edge virtio0-req.0"). */
export interface MsixLine {
  count: number;
  text: string;
}

/** The PCI-MSIX lines of `grep PCI-MSIX /proc/interrupts` output (no header; other lines, such as the echo, are skipped). */
export function msixLines(table: string): MsixLine[] {
  return table.split("\n").filter((l) => l.includes("PCI-MSIX")).map((l) => {
    const f = l.trim().split(/\s+/);
    const at = f.findIndex((x) => x.startsWith("PCI-MSIX"));
    return { count: f.slice(1, at).reduce((n, x) => n + Number(x), 0), text: f.slice(at).join(" ") };
  });
}
