/**
 * tsemu-system-riscv64's command line: bad input gets one clear line and
 * status 1; -machine dumpdtb writes a device tree that dtc decodes, with the
 * nodes and compatible strings of qemu-system-riscv64's for the same options;
 * -icount makes boot-log timestamps repeatable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Console } from "../util/console.js";
import { envInt, repoRoot, which } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const EMU = path.join(ROOT, "bin/tsemu-system-riscv64");
const QEMU = which("qemu-system-riscv64");
const DTC = which("dtc");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(EMU, args, { encoding: "utf8", input: "", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BAD: [string, string[], RegExp][] = [
  ["no machine", ["-m", "128M"], /no machine given: use -M virt/],
  ["unknown machine", ["-M", "sifive_u"], /-M sifive_u: unsupported machine type/],
  ["unknown option", ["-M", "virt", "-frobnicate"], /-frobnicate: invalid option/],
  ["missing argument", ["-M", "virt", "-kernel"], /-kernel: requires an argument/],
  ["bad RAM size", ["-M", "virt", "-m", "lots"], /-m lots: invalid RAM size/],
  ["too much RAM", ["-M", "virt", "-m", "4G"], /at most 2047M/],
  ["too many harts", ["-M", "virt", "-smp", "64"], /-smp 64: virt supports at most 8 CPUs/],
  ["missing kernel", ["-M", "virt", "-kernel", "/nonexistent/Image"], /-kernel \/nonexistent\/Image: no such file/],
  ["missing firmware", ["-M", "virt", "-bios", "/nonexistent/fw.bin"], /-bios \/nonexistent\/fw.bin: no such file/],
  ["kernel is a directory", ["-M", "virt", "-kernel", "/"], /-kernel \/: is a directory/],
  ["missing disk", ["-M", "virt", "-drive", "file=/nonexistent.img,format=raw,if=virtio"], /nonexistent\.img/],
  ["unsupported format", ["-M", "virt", "-drive", "file=x.vmdk,format=vmdk"], /Unknown driver 'vmdk'/],
  ["unknown device", ["-M", "virt", "-device", "nosuch"], /-device nosuch: 'nosuch' is not a valid device model name/],
  ["device without drive", ["-M", "virt", "-device", "virtio-blk-device,drive=d0"],
    /-device virtio-blk-device,drive=d0: Property 'virtio-blk-device.drive' can't find value 'd0'/],
  ["drive property missing", ["-M", "virt", "-device", "virtio-blk-pci"], /-device virtio-blk-pci: drive property not set/],
  ["unknown device property", ["-M", "virt", "-device", "virtio-rng-pci,foo=1"], /Property 'virtio-rng-pci\.foo' not found/],
  ["bad PCI address", ["-M", "virt", "-device", "virtio-rng-pci,addr=zz"], /Property 'virtio-rng-pci\.addr' doesn't take value 'zz'/],
  ["bad bool", ["-M", "virt", "-device", "virtio-rng-pci,disable-legacy=maybe"], /Parameter 'disable-legacy' does not accept value 'maybe'/],
  ["e1000e: unknown netdev", ["-M", "virt", "-device", "e1000e,netdev=n0"], /Property 'e1000e\.netdev' can't find value 'n0'/],
  ["e1000e: bad MAC", ["-M", "virt", "-device", "e1000e,mac=52:54:00:12:34"], /Property 'e1000e\.mac' doesn't take value '52:54:00:12:34'/],
  ["e1000e: option ROM", ["-M", "virt", "-device", "e1000e,romfile=efi-e1000e.rom"], /option ROMs are not supported/],
  ["PCI slot of the host bridge", ["-M", "virt", "-device", "virtio-rng-pci,addr=0"],
    /-device virtio-rng-pci,addr=0: PCI: slot 0 function 0 not available for virtio-rng-pci, in use by gpex-root,id=\(null\)/],
  ["PCI slot taken", ["-M", "virt", "-device", "virtio-rng-pci,addr=3", "-device", "virtio-rng-pci,addr=3"],
    /PCI: slot 3 function 0 not available for virtio-rng-pci, in use by virtio-rng-pci,id=\(null\)/],
  ["drive used twice", ["-M", "virt", "-drive", "file=/etc/hostname,format=raw,if=none,id=d0",
    "-device", "virtio-blk-pci,drive=d0", "-device", "virtio-blk-pci,drive=d0"], /Drive 'd0' is already in use by another device/],
  ["initrd without kernel", ["-M", "virt", "-initrd", "/etc/hostname"], /-initrd: requires -kernel/],
  ["bad icount", ["-M", "virt", "-icount", "shift=99"], /shift must be a whole number from 0 to 10/],
  ["bad log item", ["-M", "virt", "-d", "everything"], /-d everything: unknown log item/],
  ["bad aia", ["-M", "virt,aia=imsic"], /aia=imsic: invalid AIA interrupt controller type 'imsic'; valid values are none, aplic, and aplic-imsic/],
  ["unknown accelerator", ["-M", "virt", "-accel", "kvm"], /-accel kvm: unknown accelerator 'kvm'/],
  ["bad translator property", ["-M", "virt", "-accel", "tcg,threshold=0"], /threshold must be at least 1/],
  ["root ports on one chassis and slot", ["-M", "virt", "-device", "pcie-root-port,id=a", "-device", "pcie-root-port,id=b"],
    /-device pcie-root-port,id=b: Can't add chassis slot, error -16/],
  ["bus not created yet", ["-M", "virt", "-device", "virtio-rng-pci,bus=rp0", "-device", "pcie-root-port,id=rp0"],
    /-device virtio-rng-pci,bus=rp0: Bus 'rp0' not found/],
  ["virtio-mmio device on a root port", ["-M", "virt", "-device", "pcie-root-port,id=rp0,chassis=1", "-device", "virtio-rng-device,bus=rp0"],
    /-device virtio-rng-device,bus=rp0: Device 'virtio-rng-device' can't go on PCIE bus/],
  ["chassis out of range", ["-M", "virt", "-device", "pcie-root-port,chassis=300"], /Parameter 'chassis' expects uint8_t/],
  // -object iothread: QEMU 7.2's lines.
  ["iothread without id", ["-M", "virt", "-object", "iothread"], /-object iothread: Parameter 'id' is missing/],
  ["iothread id twice", ["-M", "virt", "-object", "iothread,id=io0", "-object", "iothread,id=io0"],
    /-object iothread,id=io0: Duplicate ID 'io0' for object/],
  ["unknown object type", ["-M", "virt", "-object", "foo,id=x"], /-object foo,id=x: Parameter 'qom-type' does not accept value 'foo'/],
  ["unknown iothread property", ["-M", "virt", "-object", "iothread,id=io0,bogus=1"], /Invalid parameter 'bogus'/],
  ["iothread property not a number", ["-M", "virt", "-object", "iothread,id=io0,poll-max-ns=abc"],
    /Parameter 'poll-max-ns' expects an int64 value/],
  ["iothread id not an identifier", ["-M", "virt", "-object", "iothread,id=0io"], /Parameter 'id' expects an identifier/],
  ["device names no such iothread", ["-M", "virt", "-drive", "file=/etc/hostname,format=raw,if=none,id=d0",
    "-device", "virtio-blk-pci,drive=d0,iothread=io9"], /-device virtio-blk-pci,drive=d0,iothread=io9: Device 'io9' not found/],
  ["iothread on virtio-mmio", ["-M", "virt", "-object", "iothread,id=io0", "-drive", "file=/etc/hostname,format=raw,if=none,id=d0",
    "-device", "virtio-blk-device,drive=d0,iothread=io0"], /ioeventfd is required for iothread/],
  ["iothread on a device without one", ["-M", "virt", "-object", "iothread,id=io0", "-device", "virtio-rng-pci,iothread=io0"],
    /Property 'virtio-rng-pci\.iothread' not found/],
  ["iothread's disk missing", ["-M", "virt", "-object", "iothread,id=io0", "-drive", "file=/nonexistent.img,format=raw,if=none,id=d0",
    "-device", "virtio-blk-pci,drive=d0,iothread=io0"], /-drive file=\/nonexistent\.img: Could not open '\/nonexistent\.img'/],
];

for (const [name, args, message] of BAD) {
  test(`bad input: ${name}`, () => {
    const r = run(args);
    assert.equal(r.status, 1, `status for ${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
    assert.match(lines[0], /^tsemu-system-riscv64: /);
    assert.match(lines[0], message);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
  });
}

test("-device help and -device TYPE,help print QEMU 7.2's lines for the types and properties tsemu has", (t) => {
  if (QEMU === undefined) return t.skip("qemu-system-riscv64 is not installed");
  const qemu = (args: string[]): string => spawnSync(QEMU, ["-M", "virt", ...args], { encoding: "utf8", timeout: 60_000 }).stdout;
  const list = run(["-M", "virt", "-device", "help"]);
  assert.equal(list.status, 0);
  const qemuList = qemu(["-device", "help"]).split("\n");
  const types: string[] = [];
  for (const line of list.stdout.trimEnd().split("\n")) {
    if (line === "") continue;
    assert.ok(qemuList.includes(line), `QEMU's -device help has no line ${JSON.stringify(line)}`);
    const name = /^name "([^"]+)"/.exec(line);
    if (name !== null) types.push(name[1]);
  }
  assert.deepEqual(types.sort(), ["e1000e", "pcie-root-port", "virtio-blk-device", "virtio-blk-pci", "virtio-net-device",
    "virtio-net-pci", "virtio-rng-device", "virtio-rng-pci"]);
  for (const type of types) {
    const props = run(["-M", "virt", "-device", `${type},help`]);
    assert.equal(props.status, 0);
    const lines = props.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `${type} options:`);
    const qemuProps = qemu(["-device", `${type},help`]).split("\n");
    for (const line of lines.slice(1)) {
      assert.ok(qemuProps.includes(line), `QEMU's -device ${type},help has no line ${JSON.stringify(line)}`);
    }
  }
});

test("-version and -h", () => {
  assert.match(run(["-version"]).stdout, /^tsemu-system-riscv64 version \d+\.\d+\.\d+/);
  const help = run(["-h"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /-M virt/);
});

/** node path -> compatible (or "" when none), from dtc's dts output. */
function nodes(dts: string): Map<string, string> {
  const out = new Map<string, string>();
  const stack: string[] = [];
  for (const line of dts.split("\n")) {
    const open = /^\s*([^\s{]+) \{$/.exec(line);
    if (open !== null) {
      stack.push(open[1] === "/" ? "" : open[1]);
      out.set(stack.join("/") || "/", "");
      continue;
    }
    if (/^\s*\};$/.test(line)) { stack.pop(); continue; }
    const compat = /^\s*compatible = (.*);$/.exec(line);
    if (compat !== null) out.set(stack.join("/") || "/", compat[1]);
  }
  return out;
}

function dumpDts(emu: string, dir: string, name: string, extra: string[], machine = "virt"): string {
  const file = path.join(dir, name);
  const r = spawnSync(emu, ["-M", `${machine},dumpdtb=${file}`, "-m", "256M", "-smp", "2", "-nographic", ...extra],
    { encoding: "utf8", input: "", timeout: 60_000 });
  assert.equal(r.status, 0, `${emu}: ${r.stderr}`);
  const d = spawnSync(DTC as string, ["-I", "dtb", "-O", "dts", file], { encoding: "utf8" });
  assert.equal(d.status, 0, `dtc cannot decode ${emu}'s tree: ${d.stderr}`);
  return d.stdout;
}

/**
 * Nodes of QEMU 7.2's virt tree for devices tsemu does not have (yet): the
 * PMU (tsemu has no hpm counters to map events to) and the CFI flash banks.
 */
const ONLY_IN_QEMU = [/^pmu$/, /^flash@/];
/** Nodes whose every property must be QEMU's (the phandles they point to included). */
const SAME_AS_QEMU = ["soc/pci@30000000", "fw-cfg@10100000", "platform-bus@4000000", "soc/clint@2000000",
  "soc/serial@10000000", "soc/rtc@101000", "poweroff", "reboot"];
/** The same with aia= (the interrupt controllers' nodes, and the devices' 2-cell interrupts). */
const SAME_AS_QEMU_AIA: Record<string, string[]> = {
  "aplic": [...SAME_AS_QEMU, "soc/aplic@c000000", "soc/aplic@d000000"],
  "aplic-imsic": [...SAME_AS_QEMU, "soc/aplic@c000000", "soc/aplic@d000000", "soc/imsics@24000000", "soc/imsics@28000000"],
};

/** The text of the node at `nodePath` ("a/b@1") in dtc's dts output, children included. */
function nodeText(dts: string, nodePath: string): string | undefined {
  const lines = dts.split("\n");
  const stack: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*([^\s{]+) \{$/.exec(lines[i]);
    if (open !== null) {
      stack.push(open[1] === "/" ? "" : open[1]);
      if (stack.slice(1).join("/") === nodePath) {
        const depth = stack.length;
        const out: string[] = [];
        for (let j = i; j < lines.length; j++) {
          out.push(lines[j]);
          if (/\{$/.test(lines[j]) && j > i) stack.push("");
          if (/^\s*\};$/.test(lines[j])) {
            stack.pop();
            if (stack.length < depth) return out.join("\n");
          }
        }
      }
      continue;
    }
    if (/^\s*\};$/.test(lines[i])) stack.pop();
  }
  return undefined;
}

for (const aia of [undefined, "aplic", "aplic-imsic"]) {
  const machine = aia === undefined ? "virt" : `virt,aia=${aia}`;
  test(`-machine ${machine},dumpdtb: the nodes and compatible strings of qemu-system-riscv64's tree`, { skip: QEMU === undefined || DTC === undefined ? "needs qemu-system-riscv64 and dtc" : false }, () => {
    compareTrees(machine, aia === undefined ? SAME_AS_QEMU : SAME_AS_QEMU_AIA[aia]);
  });
}

function compareTrees(machine: string, sameAsQemu: string[]): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-dtb-"));
  try {
    // With a PCI device too: PCI functions are found by enumeration, and the tree stays QEMU's.
    const args = ["-append", "console=ttyS0", "-device", "virtio-rng-pci"];
    const ourDts = dumpDts(EMU, dir, "tsemu.dtb", ["-bios", "none", "-kernel", "/etc/hostname", ...args], machine);
    const theirDts = dumpDts(QEMU as string, dir, "qemu.dtb", ["-bios", "none", "-kernel", "/etc/hostname", ...args], machine);
    const ours = nodes(ourDts);
    const theirs = nodes(theirDts);
    for (const [p, compat] of theirs) {
      if (ONLY_IN_QEMU.some((r) => r.test(p.replace(/^\//, "")))) continue;
      if (ONLY_IN_QEMU.some((r) => r.test(p.split("/").slice(0, 2).join("/")))) continue;
      assert.ok(ours.has(p), `node ${p} is missing from tsemu's tree`);
      assert.equal(ours.get(p), compat, `compatible of ${p}`);
    }
    for (const p of ours.keys()) assert.ok(theirs.has(p), `tsemu has a node QEMU lacks: ${p}`);
    // Paths in the maps start with "/" ("/soc/rtc@101000").
    const under = (m: Map<string, string>, parent: string): string[] => [...m.keys()]
      .map((p) => p.replace(/^\//, ""))
      .filter((p) => p.startsWith(parent) && !p.slice(parent.length).includes("/") && !ONLY_IN_QEMU.some((r) => r.test(p)));
    assert.ok(under(theirs, "soc/").length > 10 && under(theirs, "").length > 5, "the paths were not understood");
    assert.deepEqual(under(ours, "soc/"), under(theirs, "soc/"), "order of /soc's nodes");
    assert.deepEqual(under(ours, ""), under(theirs, ""), "order of the root's nodes");
    for (const p of sameAsQemu) {
      const theirNode = nodeText(theirDts, p);
      assert.ok(theirNode !== undefined, `QEMU's tree has no ${p}`);
      assert.equal(nodeText(ourDts, p), theirNode, `${p}: properties differ from QEMU's`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function guestImages(): { kernel: string; initrd: string } | undefined {
  const kernel = path.join(ROOT, ".cache/linux/current/Image");
  const initrd = path.join(ROOT, ".cache/initramfs/current/rootfs.cpio.gz");
  return fs.existsSync(kernel) && fs.existsSync(initrd) ? { kernel, initrd } : undefined;
}

/** Boot with -icount and return the kernel log's timestamps up to the shell prompt. */
async function icountBoot(images: { kernel: string; initrd: string }): Promise<string[]> {
  const c = new Console([EMU, "-M", "virt", "-m", "256M", "-nographic", "-icount", "shift=4", "-rtc", "base=2026-01-01T00:00:00", "-kernel", images.kernel,
    "-initrd", images.initrd, "-append", "console=ttyS0"]);
  try {
    await c.expect("tsemu# ", STEP_MS);
    // Only the log up to the prompt is deterministic: when the typed command reaches the
    // guest depends on the host, so the timestamps after it (the power-down line) do too.
    const log = c.output.slice(0, c.output.indexOf("tsemu# ")).split("\n").filter((l) => /^\[\s*\d+\.\d+\] /.test(l));
    c.send("poweroff\n");
    await c.waitExit(STEP_MS);
    return log;
  } finally {
    c.kill();
  }
}

test("-icount (with a fixed -rtc base): two boots print the same boot log, timestamps included", { skip: guestImages() === undefined ? "the default guest is not built (guest/build-linux.sh, guest/build-initramfs.sh)" : false }, async () => {
  const images = guestImages() as { kernel: string; initrd: string };
  const first = await icountBoot(images);
  const second = await icountBoot(images);
  assert.ok(first.length > 50, `expected a kernel log, got ${first.length} lines`);
  assert.deepEqual(second, first);
});
