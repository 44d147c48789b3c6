/**
 * One QMP conversation, run the same way against qemu-system-riscv64 and
 * tsemu-system-riscv64 (test/monitor/qemu-compare.test.ts), turned into a
 * transcript whose entries keep what must match exactly (event names and
 * data, error classes and texts, run states, HMP output where both print the
 * same) and reduce everything else to its shape: the keys and the JSON type
 * of each value.  Two emulators that answer alike give equal transcripts.
 *
 * The machine: -M virt -m 128M -bios none, one virtio disk: no guest code
 * runs (the harts spin on faults), so the answers do not depend on timing.
 */
import type { Message, QmpClient } from "./qmp-client.js";

export interface Step {
  label: string;
  /** A command, sent with an id; the step is the messages up to its reply. */
  command?: { name: string; args?: Record<string, unknown> };
  /** Raw input, in pieces sent 50 ms apart; the step is the messages before the next sync reply. */
  raw?: string[];
  /** Keep a human-monitor-command's text exactly (both print the same). */
  exactText?: boolean;
  /** For list replies: keep only the elements this picks. */
  pick?: (element: Record<string, unknown>) => boolean;
}

/** Members compared by value; the rest by type. */
const EXACT = new Set([
  "event", "class", "desc", "status", "running", "singlestep", "guest", "reason", "arch", "enabled", "present",
  "target", "cpu-index", "qom-path", "id", "core-id", "capabilities", "device", "ro", "drv", "format", "removable",
  "locked", "io-status", "type", "encrypted", "backing_file_depth", "detect_zeroes", "dirty-flag",
  "no-flush", "direct", "writeback",
]);

/** A value reduced to its shape; lists to their distinct element shapes. */
export function shape(v: unknown, key?: string): unknown {
  if (Array.isArray(v)) {
    if (key !== undefined && EXACT.has(key)) return v;
    const seen = new Map<string, unknown>();
    for (const item of v) {
      const s = shape(item);
      seen.set(JSON.stringify(s), s);
    }
    return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
  }
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = shape((v as Record<string, unknown>)[k], k);
    return out;
  }
  if (key !== undefined && EXACT.has(key)) return v;
  return typeof v;
}

const hmp = (line: string, exactText = true): Step => ({
  label: `hmp: ${line}`, command: { name: "human-monitor-command", args: { "command-line": line } }, exactText,
});

export const STEPS: Step[] = [
  { label: "a command before negotiation", command: { name: "query-status" } },
  { label: "qmp_capabilities with an unknown capability", command: { name: "qmp_capabilities", args: { enable: ["foo"] } } },
  { label: "qmp_capabilities with a wrong type", command: { name: "qmp_capabilities", args: { enable: "oob" } } },
  { label: "qmp_capabilities", command: { name: "qmp_capabilities" } },
  { label: "qmp_capabilities again", command: { name: "qmp_capabilities" } },
  { label: "query-version", command: { name: "query-version" } },
  { label: "query-status", command: { name: "query-status" } },
  { label: "query-name", command: { name: "query-name" } },
  { label: "query-target", command: { name: "query-target" } },
  { label: "query-kvm", command: { name: "query-kvm" } },
  { label: "query-cpus-fast", command: { name: "query-cpus-fast" } },
  { label: "query-commands", command: { name: "query-commands" } },
  { label: "query-chardev", command: { name: "query-chardev" } },
  { label: "query-block (the virtio disk)", command: { name: "query-block" }, pick: (e) => e.device === "virtio0" },
  { label: "an unknown command", command: { name: "no-such-command" } },

  { label: "garbage: a bare word", raw: ["garbage\n"] },
  { label: "garbage: a stray character", raw: ["@"] },
  { label: "garbage: a closing brace", raw: ["}"] },
  { label: "garbage: an array", raw: ["[1, 2]"] },
  { label: "garbage: a string", raw: ["\"str\""] },
  { label: "garbage: a number", raw: ["1 "] },
  { label: "garbage: a bad escape", raw: ["{\"execute\": \"query-status\", \"id\": \"\\q\"}"] },
  { label: "garbage: a leading zero", raw: ["{\"execute\": \"query-status\", \"id\": 01}"] },
  { label: "garbage: a duplicate key", raw: ["{\"execute\": \"query-status\", \"execute\": \"stop\"}"] },
  { label: "garbage: a missing colon", raw: ["{\"execute\" \"query-status\"}"] },
  { label: "garbage: a missing separator", raw: ["{\"execute\": \"query-status\", \"id\": [1 2]}"] },
  { label: "garbage between objects", raw: ["{\"execute\": \"query-name\", \"id\": 1} xyz {\"execute\": \"query-target\", \"id\": 2}"] },
  { label: "an object over several lines", raw: ["{\n  \"execute\":\n  \"query-status\",\n  \"id\": \"lines\"\n}\n"] },
  { label: "an object in pieces", raw: ["{\"exec", "ute\": \"query-", "status\", \"id\"", ": \"pieces\"}"] },
  { label: "two objects in one write", raw: ["{\"execute\": \"query-name\", \"id\": \"a\"}{\"execute\": \"query-target\", \"id\": \"b\"}"] },
  { label: "single-quoted strings", raw: ["{'execute': 'query-status', 'id': 'single'}"] },
  { label: "ids of every kind", raw: ["{\"execute\": \"query-name\", \"id\": [1, {\"a\": null}, true, \"x\", 2.5]}"] },
  { label: "execute is not a string", raw: ["{\"execute\": 1, \"id\": 3}"] },
  { label: "execute is missing", raw: ["{\"id\": 5}"] },
  { label: "an unexpected member", raw: ["{\"execute\": \"query-status\", \"argumentsx\": {}}"] },
  { label: "arguments is not an object", raw: ["{\"execute\": \"query-status\", \"arguments\": []}"] },
  { label: "exec-oob without the oob capability", raw: ["{\"exec-oob\": \"query-status\"}"] },

  { label: "an unexpected argument", command: { name: "query-status", args: { a: 1 } } },
  { label: "a missing argument", command: { name: "memsave", args: {} } },
  { label: "a wrong-typed argument", command: { name: "memsave", args: { val: "x", size: 1, filename: "/dev/null" } } },
  { label: "a float for an integer", command: { name: "pmemsave", args: { val: 1.5, size: 1, filename: "/dev/null" } } },
  { label: "a bad enum value", command: { name: "screendump", args: { filename: "/dev/null", format: "gif" } } },
  { label: "human-monitor-command without a command line", command: { name: "human-monitor-command", args: {} } },
  { label: "human-monitor-command on a missing CPU", command: { name: "human-monitor-command", args: { "command-line": "info cpus", "cpu-index": 7 } } },
  { label: "memsave on a missing CPU", command: { name: "memsave", args: { val: 0, size: 1, filename: "/dev/null", "cpu-index": 3 } } },
  // (QEMU 7.2 crashes on memsave of a negative size at a mapped address: not asked here.)
  { label: "memsave with a negative size", command: { name: "memsave", args: { val: -1, size: -1, filename: "/dev/null" } } },
  { label: "pmemsave to a missing directory", command: { name: "pmemsave", args: { val: 4096, size: 16, filename: "/nonexistent/dir/x" } } },

  hmp("info status"),
  hmp("p 1+2*3"),
  hmp("p /x 255"),
  hmp("p 10/3"),
  hmp("p /d -1"),
  hmp("p /u -1"),
  hmp("p /o 8"),
  hmp("p /c 65"),
  hmp("p (1+2)*3 - 0x10"),
  hmp("p 1/0"),
  hmp("p 0x10000000000000000"),
  hmp("p 1 2"),
  hmp("p"),
  hmp("xp /4xw 0x1000"),
  hmp("x /4xw 0x1000"),
  hmp("xp /2xg 0x1000"),
  hmp("xp /8xb 0x1000"),
  hmp("xp /3dh 0x1000"),
  hmp("xp /2uw 0x1000"),
  hmp("xp /2o 0x1000"),
  hmp("xp /4c 0x1000"),
  hmp("xp 0x1000"),
  hmp("xp /20xb 0x1000"),
  hmp("xp /2x 0x90000000"),
  hmp("xp /s 0x1000"),
  hmp("xp"),
  hmp("nosuch"),
  hmp("help x"),
  hmp("help nosuch"),
  hmp("cpu 0"),
  hmp("cpu 5"),
  hmp("info cpus", false),
  hmp("info registers", false),
  hmp("info mtree", false),
  hmp("info qtree", false),
  hmp("info block", false),

  { label: "pmemsave", command: { name: "pmemsave", args: { val: 4096, size: 40, filename: "@PMEM@" } } },
  { label: "memsave", command: { name: "memsave", args: { val: 4096, size: 40, filename: "@MEM@" } } },

  { label: "stop", command: { name: "stop" } },
  { label: "query-status (paused)", command: { name: "query-status" } },
  { label: "stop again: no event", command: { name: "stop" } },
  hmp("info status"),
  { label: "system_reset while paused", command: { name: "system_reset" } },
  { label: "query-status (prelaunch)", command: { name: "query-status" } },
  { label: "cont", command: { name: "cont" } },
  { label: "cont again: no event", command: { name: "cont" } },
  { label: "query-status (running)", command: { name: "query-status" } },
  { label: "system_reset while running", command: { name: "system_reset" } },
  { label: "query-status (still running)", command: { name: "query-status" } },
  { label: "system_powerdown: an event, nothing else on virt", command: { name: "system_powerdown" } },
  { label: "query-status after system_powerdown", command: { name: "query-status" } },
  hmp("stop"),
  hmp("cont"),
  hmp("system_reset"),
  hmp("system_powerdown"),
  { label: "quit", command: { name: "quit" } },
];

/** One step's messages, reduced. */
export interface Entry {
  label: string;
  messages: unknown[];
}

function reduce(step: Step, m: Message): unknown {
  const v = { ...m.value };
  if (typeof v.return === "string" && step.exactText) return v;
  if (step.pick !== undefined && Array.isArray(v.return)) {
    v.return = (v.return as Record<string, unknown>[]).filter(step.pick);
  }
  return shape(v);
}

/**
 * Run the conversation (after the greeting has been read); the transcript,
 * and the raw replies by step label for checks of their own.
 */
export async function converse(
  client: QmpClient, files: { pmem: string; mem: string },
): Promise<{ transcript: Entry[]; raw: Map<string, Message[]> }> {
  const transcript: Entry[] = [];
  const raw = new Map<string, Message[]>();
  let n = 0;
  for (const step of STEPS) {
    const messages: Message[] = [];
    try {
      await runStep(client, step, files, `${n++}`, messages);
    } catch (e) {
      throw new Error(`step "${step.label}": ${(e as Error).message}`);
    }
    raw.set(step.label, messages);
    transcript.push({ label: step.label, messages: messages.map((m) => reduce(step, m)) });
  }
  return { transcript, raw };
}

async function runStep(client: QmpClient, step: Step, files: { pmem: string; mem: string }, n: string, messages: Message[]): Promise<void> {
  {
    if (step.command !== undefined) {
      const args = step.command.args === undefined ? undefined : JSON.parse(JSON.stringify(step.command.args)
        .replace("@PMEM@", files.pmem).replace("@MEM@", files.mem)) as Record<string, unknown>;
      const id = `step-${n}`;
      const request: Record<string, unknown> = { execute: step.command.name, id };
      if (args !== undefined) request.arguments = args;
      client.send(JSON.stringify(request));
      for (;;) {
        const m = await client.next();
        messages.push(m);
        if (m.value.id === id) break;
      }
      if (step.command.name === "quit") await client.waitClosed();
    } else {
      for (const [i, piece] of (step.raw ?? []).entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        client.send(piece);
      }
      const sync = `sync-${n}`;
      // A space first: it ends a keyword or number the raw input left open.
      client.send(` {"execute": "query-status", "id": "${sync}"}`);
      for (;;) {
        const m = await client.next();
        if (m.value.id === sync) break;
        messages.push(m);
      }
    }
  }
}
