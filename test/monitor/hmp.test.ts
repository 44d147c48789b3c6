/** The human monitor over a fake machine: expressions, /fmt, x and xp, help, errors, the line editor. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeMachine, KERNEL_VA, waitingNetwork } from "./fake-machine.js";
import { runHmpCommand } from "../../src/monitor/hmp.js";

function hmp(): { run(line: string, cpu?: number): string; f: ReturnType<typeof fakeMachine> } {
  const f = fakeMachine();
  return {
    f,
    run(line, cpu = 0) {
      let out = "";
      runHmpCommand(line, { hub: f.hub, cpuIndex: cpu, print: (t) => { out += t; } });
      return out;
    },
  };
}

test("p: QEMU's operators, precedence, int64 wrap-around and formats", () => {
  const { run } = hmp();
  assert.equal(run("p /d 1+2*3"), "7\n");
  assert.equal(run("p (1+2)*3"), "9\n");
  assert.equal(run("p 7/2"), "3\n");
  assert.equal(run("p -7/2"), "-3\n");
  assert.equal(run("p 7%3"), "1\n");
  assert.equal(run("p 6&3|8^1"), "11\n");
  assert.equal(run("p ~0"), "-1\n");
  assert.equal(run("p 0x7fffffffffffffff+1"), "-9223372036854775808\n");
  assert.equal(run("p 010"), "8\n");
  assert.equal(run("p 'A'"), "65\n");
  assert.equal(run("p /x -1"), "0xffffffffffffffff\n");
  assert.equal(run("p 0"), "0\n", "format x is remembered; %#x of 0 has no prefix");
  assert.equal(run("p /o 8"), "010\n");
  assert.equal(run("p /u -1"), "18446744073709551615\n");
  assert.equal(run("p /c 10"), "'\\n'\n");
});

test("p: errors as QEMU words them, with the help hint", () => {
  const { run } = hmp();
  assert.equal(run("p 1/0"), "division by zero\nTry \"help p\" for more information\n");
  assert.equal(run("p (1"), "')' expected\nTry \"help p\" for more information\n");
  assert.equal(run("p 18446744073709551616"), "number too large\nTry \"help p\" for more information\n");
  assert.equal(run("p $nope"), "unknown register\nTry \"help p\" for more information\n");
  assert.equal(run("p @"), "invalid char '@' in expression\nTry \"help p\" for more information\n");
  assert.equal(run("print 1 2"), "print|p: extraneous characters at the end of line\nTry \"help print\" for more information\n");
  assert.equal(run("p /q 1"), "invalid char in format: 'q'\nTry \"help p\" for more information\n");
});

test("$registers of the monitor's current CPU", () => {
  const { run, f } = hmp();
  f.registers[1].set("t0", 0x1234n);
  assert.equal(run("p /x $a0"), "0\n");
  assert.equal(run("p /x $a0", 1), "0x1\n");
  assert.equal(run("p /x $t0 + 1", 1), "0x1235\n");
  assert.equal(run("cpu 1"), "");
  assert.equal(run("cpu 2"), "invalid CPU index\n");
});

test("x through the hart's page mapping, xp physical; sizes and formats; Cannot access memory", () => {
  const { run, f } = hmp();
  f.ram.set([0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff, 0x41, 0x0a, 0x27, 0x00], 0);
  const va = `0x${KERNEL_VA.toString(16)}`;
  assert.equal(run(`x /2xw ${va}`), "ffffffff80000000: 0x12345678 0xffffffff\n");
  assert.equal(run("xp /2xw 0x80000000"), "0000000080000000: 0x12345678 0xffffffff\n");
  assert.equal(run("xp /1xg 0x80000000"), "0000000080000000: 0xffffffff12345678\n");
  assert.equal(run("xp /1dg 0x80000000"), `0000000080000000: ${"-3989547400".padStart(20)}\n`);
  assert.equal(run("xp /2dw 0x80000000"), "0000000080000000:  305419896 4294967295\n", "d of a word is not sign-extended");
  assert.equal(run("xp /4cb 0x80000008"), "0000000080000008: 'A' '\\n' '\\'' '\\x00'\n");
  assert.equal(run("xp /3xb 0x80000000"), "0000000080000000: 0x78 0x56 0x34\n");
  assert.equal(run("xp 0x80000000"), "0000000080000000: 0x78\n", "count 1, last format and size");
  assert.equal(run("xp /x 0x90000000"), "0000000090000000: Cannot access memory\n");
  assert.equal(run("x /x 0x123456789000"), "0000123456789000: Cannot access memory\n");
});

test("x /i disassembles, at $pc too", () => {
  const { run } = hmp();
  const out = run("x /2i $pc");
  assert.match(out, /^0x0000000000001000: {2}00000297 {10}auipc\s+t0,/);
  assert.match(out, /\n0x0000000000001004: {2}02828613 {10}addi\s+a2,t0,40\n$/);
});

test("help, info, unknown commands", () => {
  const { run } = hmp();
  assert.equal(run("help xp"), "xp /fmt addr -- physical memory dump starting at 'addr'\n");
  assert.equal(run("help info status"), "info status  -- show the current VM status (running|paused)\n");
  assert.match(run("help"), /^cont\|c {2}-- resume emulation\n/);
  assert.match(run("info"), /^info block \[-n\] \[-v\] \[device\] -- show info of one block device/);
  assert.equal(run("frob"), "unknown command: 'frob'\n");
  assert.equal(run("info frob"), "unknown command: 'info frob'\n");
  assert.equal(run("info status"), "VM status: running\n");
  assert.equal(run("info name"), "fake\n");
  assert.equal(run("info version"), "7.2.0\n");
  assert.equal(run("info kvm"), "kvm support: not compiled\n");
  // As QEMU 7.2's riscv virt: no statistics, no PIC state, and no iothreads without -object iothread.
  assert.equal(run("info irq"), "");
  assert.equal(run("info pic"), "");
  assert.equal(run("info iothreads"), "");
  assert.equal(run("help info irq"), "info irq  -- show the interrupts statistics (if available)\n");
  assert.equal(run("info block"), "virtio0 (#block117): /images/disk.img (raw)\n    Attached to:      " +
    "/machine/peripheral-anon/device[0]/virtio-backend\n    Cache mode:       writeback\n");
  assert.equal(run("info chardev"), "serial0: filename=stdio\n");
  assert.equal(run("info registers 5"), "CPU#5 not available\n");
  assert.equal(run("info registers -x"), "registers: unsupported option -x\nTry \"help info registers\" for more information\n");
  assert.equal(run("info status now"), "status: extraneous characters at the end of line\nTry \"help info status\" for more information\n");
  assert.equal(run(""), "");
});

test("stop, cont, system_reset, system_powerdown, quit act on the machine", () => {
  const { run, f } = hmp();
  run("stop");
  assert.equal(run("info status"), "VM status: paused\n");
  run("system_reset");
  assert.equal(run("info status"), "VM status: paused (prelaunch)\n");
  run("c");
  assert.equal(run("info status"), "VM status: running\n");
  run("system_powerdown");
  run("q");
  assert.deepEqual(f.actions, ["pause", "reset", "resume", "pause", "exit 0"]);
});

test("memsave and pmemsave from HMP", () => {
  const { run, f } = hmp();
  f.ram.set([9, 8, 7], 0);
  // As in QEMU, a '/' after the size would divide: a path starting with one goes in quotes.
  assert.match(run(`memsave 0x${KERNEL_VA.toString(16)} 3 /out`), /^invalid char 'o' in expression\n/);
  assert.equal(run(`memsave 0x${KERNEL_VA.toString(16)} 3 "/out"`), "");
  assert.deepEqual([...(f.files.get("/out") ?? [])], [9, 8, 7]);
  assert.equal(run("pmemsave 0x80000000 2 \"/quoted name\""), "");
  assert.deepEqual([...(f.files.get("/quoted name") ?? [])], [9, 8]);
  assert.equal(run("pmemsave 0 1 \"/missing/f\""), "Error: Could not open '/missing/f': No such file or directory\n");
});

test("the line editor: banner, prompt, echo, backspace, Ctrl-U, history, CR LF as one Enter", () => {
  const f = fakeMachine();
  let out = "";
  const s = f.hub.openHmp({ write: (t) => { out += t; } });
  s.start();
  assert.equal(out, "QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ");
  out = "";
  const type = (text: string): void => s.input(new TextEncoder().encode(text));
  type("info statux\x7fs\r\n");
  assert.equal(out, "info statux\b \bs\r\nVM status: running\r\n(qemu) ");
  out = "";
  type("junk\x15p 1\n");
  assert.equal(out, "junk\b \b\b \b\b \b\b \bp 1\r\n0x1\r\n(qemu) ");
  out = "";
  type("\x1b[A\x1b[A\r");
  assert.match(out, /info status\r\nVM status: running\r\n\(qemu\) $/);
  out = "";
  s.focusOut();
  s.focusIn();
  assert.equal(out, "\r\n(qemu) ");
});

test("a command that waits on the host (hostfwd_add): its answer, then the prompt, then what was typed meanwhile", async () => {
  const net = waitingNetwork();
  const f = fakeMachine({ network: net.network });
  let out = "";
  const s = f.hub.openHmp({ write: (t) => { out += t; } });
  s.start();
  out = "";
  s.input(new TextEncoder().encode("hostfwd_add tcp::5555-:22\rp 1\r"));
  assert.equal(out, "hostfwd_add tcp::5555-:22\r\n", "nothing more until the host has answered");
  net.settle("Could not set up host forwarding rule 'tcp::5555-:22'");
  await new Promise((r) => setImmediate(r));
  assert.equal(out, "hostfwd_add tcp::5555-:22\r\nCould not set up host forwarding rule 'tcp::5555-:22'\r\n(qemu) p 1\r\n0x1\r\n(qemu) ");
  // A syntax error is answered as any, with the usage hint.
  out = "";
  s.input(new TextEncoder().encode("hostfwd_add\r"));
  await new Promise((r) => setImmediate(r));
  assert.equal(out, "hostfwd_add\r\nhostfwd_add: string expected\r\nTry \"help hostfwd_add\" for more information\r\n(qemu) ");
});

test("info pci: each function as QEMU 7.2 prints it; a BAR that does not decode shows as all ones", () => {
  const { run } = hmp();
  assert.equal(run("info pci"), [
    "  Bus  0, device   0, function 0:",
    "    Host bridge: PCI device 1b36:0008",
    "      PCI subsystem 1af4:1100",
    "      id \"\"",
    "  Bus  0, device   1, function 0:",
    "    Class 0255: PCI device 1af4:1005",
    "      PCI subsystem 1af4:0004",
    "      IRQ 0, pin A",
    "      BAR0: I/O at 0xffffffffffffffff [0x001e].",
    "      BAR4: 64 bit prefetchable memory at 0x400000000 [0x400003fff].",
    "      id \"rng0\"",
    "",
  ].join("\n"));
});

test("pcie_aer_inject_error: QEMU 7.2's replies, and the error lands in the port's AER registers", () => {
  const { run, f } = hmp();
  const cfg = f.rootPort.config;
  assert.equal(run("pcie_aer_inject_error rp0 COMP_TIME"), "OK id: rp0 root bus: 0000:00, bus: 0 devfn: 1.0\n");
  assert.equal(cfg.read(0x104, 4), 0x4000, "uncorrectable status: completion timeout");
  assert.equal(run("pcie_aer_inject_error -c rp0 0x40"), "OK id: rp0 root bus: 0000:00, bus: 0 devfn: 1.0\n");
  assert.equal(cfg.read(0x110, 4), 0x40, "correctable status: bad TLP");
  assert.equal(run("pcie_aer_inject_error rp0 RCVR"), "OK id: rp0 root bus: 0000:00, bus: 0 devfn: 1.0\n");
  assert.equal(cfg.read(0x110, 4), 0x41, "a correctable name needs no -c");
  assert.equal(run("pcie_aer_inject_error nosuch COMP_TIME"), "id or pci device path is invalid or device not found. nosuch\n");
  assert.equal(run("pcie_aer_inject_error rng0 COMP_TIME"), "the device doesn't support pci express. rng0\n");
  assert.equal(run("pcie_aer_inject_error rp0 BOGUS"), "invalid error status value. \"BOGUS\"");
  assert.equal(run("pcie_aer_inject_error rp0 TRAIN"), "invalid error status value. \"TRAIN\"");
  assert.equal(run("pcie_aer_inject_error rp0 0x3"), "failed to inject error: Invalid argument\n");
});
