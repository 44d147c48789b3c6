/** The ns16550a UART, driven the way Linux's 8250 driver and OpenSBI drive it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Serial, UartReg as R, IER, IIR, FCR, LCR, MCR, LSR, MSR } from "../../../src/hw/char/serial.js";
import { IrqLevel } from "../../../src/hw/core/irq.js";
import { TimerList } from "../../../src/hw/core/clock.js";

const FIFO_ON = IIR.FIFO_ENABLED;

function uart() {
  const clock = { now: 0, ticks(): number { return this.now; } };
  const timers = new TimerList(clock);
  const irq = new IrqLevel();
  const out: number[] = [];
  let accepted = 0;
  const dev = new Serial({
    base: 0x10000000, irq, timers,
    backend: { write: (b) => out.push(...b), acceptInput: () => accepted++ },
  });
  return {
    dev, irq, out,
    accepted: () => accepted,
    rd: (reg: number): number => dev.region.ops.read(reg, 1),
    wr: (reg: number, v: number): void => dev.region.ops.write(reg, 1, v),
    advance: (ticks: number): void => {
      clock.now += ticks;
      timers.runDue();
    },
    text: (s: string): number => dev.receive(new TextEncoder().encode(s)),
  };
}

/** 115200 baud, 8N1: 10 bits at 3686400/16/2 baud, in 10 MHz ticks. */
const CHAR_TICKS = Math.ceil(10 * 10_000_000 / 115200);

test("reset values match QEMU's", () => {
  const u = uart();
  assert.equal(u.dev.region.base, 0x10000000);
  assert.equal(u.dev.region.size, 0x100);
  assert.deepEqual([R.IER, R.IIR, R.LCR, R.MCR, R.LSR, R.MSR, R.SCR].map(u.rd),
    [0, IIR.NO_INT, 0, MCR.OUT2, LSR.THRE | LSR.TEMT, MSR.DCD | MSR.DSR | MSR.CTS, 0]);
  u.wr(R.LCR, LCR.DLAB);
  assert.deepEqual([u.rd(R.DLL), u.rd(R.DLM)], [0x0c, 0]);
  assert.equal(u.irq.level, false);
});

test("divisor latch: DLAB switches offsets 0 and 1 to DLL/DLM", () => {
  const u = uart();
  u.wr(R.LCR, LCR.DLAB | 0x03);
  u.wr(R.DLL, 0x02);
  u.wr(R.DLM, 0x01);
  assert.deepEqual([u.rd(R.DLL), u.rd(R.DLM), u.rd(R.LCR)], [0x02, 0x01, 0x83]);
  assert.deepEqual(u.out, [], "a DLL write is not a transmit");
  u.wr(R.LCR, 0x03);
  assert.equal(u.rd(R.IER), 0, "IER is untouched by the DLM write");
  u.wr(R.THR, 0x41);
  assert.deepEqual(u.out, [0x41]);
  u.wr(R.LCR, LCR.DLAB);
  assert.deepEqual([u.rd(R.DLL), u.rd(R.DLM)], [0x02, 0x01], "THR write left the divisor alone");
});

test("Linux 8250 startup: FIFO clear, THRE re-assert test, TX-enable test, termios, receive", () => {
  const u = uart();
  // serial8250_clear_fifos
  u.wr(R.FCR, FCR.FE);
  u.wr(R.FCR, FCR.FE | FCR.RFR | FCR.XFR);
  u.wr(R.FCR, 0);
  for (const r of [R.LSR, R.RBR, R.IIR, R.MSR]) u.rd(r);
  assert.notEqual(u.rd(R.LSR), 0xff);

  // The THRE test: the UART must re-assert THRE after IER.THRI toggles.
  assert.ok(u.rd(R.LSR) & LSR.THRE);
  u.wr(R.IER, IER.THRI);
  assert.equal(u.irq.level, true);
  const iir1 = u.rd(R.IIR);
  assert.equal(u.irq.level, false, "reading IIR reporting THRE clears it");
  u.wr(R.IER, 0);
  u.wr(R.IER, IER.THRI);
  const iir = u.rd(R.IIR);
  u.wr(R.IER, 0);
  assert.equal(iir1, IIR.THRI);
  assert.equal(iir, IIR.THRI, "no UART_BUG_THRE");

  u.wr(R.LCR, 0x03);
  u.wr(R.MCR, MCR.OUT2 | MCR.RTS | MCR.DTR);
  // The TX-enable test.
  u.wr(R.IER, IER.THRI);
  const lsr = u.rd(R.LSR);
  const iir2 = u.rd(R.IIR);
  u.wr(R.IER, 0);
  assert.ok(!(lsr & LSR.TEMT && iir2 & IIR.NO_INT), "no UART_BUG_TXEN");
  for (const r of [R.LSR, R.RBR, R.IIR, R.MSR]) u.rd(r);
  assert.equal(u.irq.level, false);

  // serial8250_do_set_termios at 115200 8N1 with the 16550A's FIFO setting.
  u.wr(R.LCR, LCR.DLAB | 0x03);
  u.wr(R.DLL, 2);
  u.wr(R.DLM, 0);
  u.wr(R.LCR, 0x03);
  u.wr(R.FCR, FCR.FE | 0x80);
  assert.equal(u.rd(R.IIR), FIFO_ON | IIR.NO_INT);
  u.wr(R.IER, IER.RDI | IER.RLSI);

  // A keypress below the trigger level (8) is reported by the character timeout.
  assert.equal(u.text("ls\n"), 3);
  assert.equal(u.irq.level, false);
  u.advance(4 * CHAR_TICKS - 1);
  assert.equal(u.irq.level, false);
  u.advance(1);
  assert.equal(u.irq.level, true);
  assert.equal(u.rd(R.IIR), FIFO_ON | IIR.CTI);
  const got: number[] = [];
  while (u.rd(R.LSR) & LSR.DR) got.push(u.rd(R.RBR));
  assert.equal(String.fromCharCode(...got), "ls\n");
  assert.equal(u.rd(R.IIR), FIFO_ON | IIR.NO_INT);
  assert.equal(u.irq.level, false);
  assert.ok(u.accepted() >= 3, "each read offers held-back input again");

  // Transmit path: start_tx sets THRI, the handler refills THR until the buffer is empty.
  const msg = new TextEncoder().encode("login: ");
  let sent = 0;
  u.wr(R.IER, IER.RDI | IER.RLSI | IER.THRI);
  while (u.irq.level) {
    const id = u.rd(R.IIR) & 0x0f;
    assert.equal(id, IIR.THRI);
    if (sent === msg.length) u.wr(R.IER, IER.RDI | IER.RLSI); // __stop_tx
    for (let n = 0; n < 16 && sent < msg.length; n++) u.wr(R.THR, msg[sent++]);
  }
  assert.equal(new TextDecoder().decode(Uint8Array.from(u.out)), "login: ");
});

test("THRE interrupt: raised by enabling THRI, cleared by IIR read and THR write, back once the byte is gone", () => {
  const u = uart();
  u.wr(R.IER, IER.THRI);
  assert.equal(u.irq.level, true);
  assert.equal(u.rd(R.IIR), IIR.THRI);
  assert.equal(u.irq.level, false);
  assert.equal(u.rd(R.IIR), IIR.NO_INT, "stays cleared while IER is unchanged");
  u.wr(R.IER, IER.THRI);
  assert.equal(u.irq.level, false, "writing the same IER does not re-arm it");
  u.wr(R.THR, 0x58);
  assert.deepEqual(u.out, [0x58]);
  assert.equal(u.rd(R.LSR) & (LSR.THRE | LSR.TEMT), LSR.THRE | LSR.TEMT);
  assert.equal(u.irq.level, true, "the byte is gone, THR is empty again");
  assert.equal(u.rd(R.IIR), IIR.THRI);
  u.wr(R.IER, 0);
  u.wr(R.THR, 0x59);
  assert.equal(u.irq.level, false, "masked by IER");
  u.wr(R.IER, IER.THRI);
  assert.equal(u.irq.level, true);
});

test("receive FIFO: fill to the trigger level, drain in order", () => {
  const u = uart();
  u.wr(R.FCR, FCR.FE | 0xc0);
  u.wr(R.IER, IER.RDI);
  assert.equal(u.dev.canReceive(), 14);
  const data = Uint8Array.from({ length: 20 }, (_, i) => 0x61 + i);
  assert.equal(u.dev.receive(data), 14, "input beyond the trigger level waits");
  assert.equal(u.dev.canReceive(), 0);
  assert.equal(u.rd(R.IIR), FIFO_ON | IIR.RDI);
  assert.equal(u.irq.level, true);
  for (let i = 0; i < 14; i++) {
    assert.ok(u.rd(R.LSR) & LSR.DR);
    assert.equal(u.rd(R.RBR), 0x61 + i);
    if (i === 0) assert.equal(u.irq.level, false, "below the trigger level again");
  }
  assert.equal(u.rd(R.LSR) & LSR.DR, 0);
  assert.equal(u.rd(R.RBR), 0, "an empty FIFO reads 0");
  assert.equal(u.dev.canReceive(), 14);
});

test("receive trigger levels 1, 4, 8, 14", () => {
  const u = uart();
  u.wr(R.IER, IER.RDI);
  for (const [itl, level] of [[0x00, 1], [0x40, 4], [0x80, 8], [0xc0, 14]]) {
    u.wr(R.FCR, FCR.FE | FCR.RFR | itl);
    assert.equal(u.dev.canReceive(), level);
    if (level > 1) {
      u.dev.receive(new Uint8Array(level - 1));
      assert.equal(u.irq.level, false, `level ${level}: below`);
    }
    u.dev.receive(new Uint8Array(1));
    assert.equal(u.irq.level, true, `level ${level}: reached`);
    assert.equal(u.rd(R.IIR), FIFO_ON | IIR.RDI);
  }
});

test("character timeout: re-armed by each read, cleared when drained", () => {
  const u = uart();
  u.wr(R.LCR, LCR.DLAB | 0x03);
  u.wr(R.DLL, 2);
  u.wr(R.LCR, 0x03);
  u.wr(R.FCR, FCR.FE | 0xc0);
  u.text("abc");
  u.advance(4 * CHAR_TICKS);
  assert.equal(u.irq.level, false, "IER.RDI masks the timeout too");
  u.wr(R.IER, IER.RDI);
  assert.equal(u.rd(R.IIR), FIFO_ON | IIR.CTI);
  assert.equal(u.rd(R.RBR), 0x61);
  assert.equal(u.irq.level, false, "a read clears the timeout");
  u.advance(4 * CHAR_TICKS);
  assert.equal(u.rd(R.IIR), FIFO_ON | IIR.CTI, "and re-arms it while data remains");
  u.rd(R.RBR);
  u.rd(R.RBR);
  u.advance(100 * CHAR_TICKS);
  assert.equal(u.irq.level, false);
  assert.equal(u.rd(R.IIR), FIFO_ON | IIR.NO_INT);
});

test("FIFO reset bits flush the receive FIFO; toggling FCR.FE flushes too", () => {
  const u = uart();
  u.wr(R.FCR, FCR.FE | 0xc0);
  u.text("hello");
  u.wr(R.FCR, FCR.FE | 0xc0 | FCR.RFR);
  assert.equal(u.rd(R.LSR) & LSR.DR, 0);
  assert.equal(u.rd(R.RBR), 0);
  assert.equal(u.rd(R.FCR), FIFO_ON | IIR.NO_INT, "the reset bits do not stick");
  u.text("hi");
  u.wr(R.FCR, 0);
  assert.equal(u.rd(R.LSR) & LSR.DR, 0);
  assert.equal(u.rd(R.IIR), IIR.NO_INT);
});

test("without FIFO: one byte holding register, a second byte is refused", () => {
  const u = uart();
  u.wr(R.IER, IER.RDI);
  assert.equal(u.dev.canReceive(), 1);
  assert.equal(u.text("xy"), 1);
  assert.equal(u.dev.canReceive(), 0);
  assert.equal(u.rd(R.IIR), IIR.RDI);
  assert.equal(u.rd(R.RBR), 0x78);
  assert.equal(u.irq.level, false);
  assert.equal(u.accepted(), 1);
});

test("interrupt identification order: line status, data, THR empty", () => {
  const u = uart();
  u.wr(R.MCR, MCR.LOOP);
  u.wr(R.THR, 0x31);
  u.wr(R.THR, 0x32); // overruns the holding register
  u.wr(R.IER, IER.RLSI | IER.RDI | IER.THRI | IER.MSI);
  assert.equal(u.rd(R.IIR), IIR.RLSI);
  assert.equal(u.rd(R.LSR), LSR.OE | LSR.DR | LSR.THRE | LSR.TEMT);
  assert.equal(u.rd(R.IIR), IIR.RDI, "reading LSR cleared the overrun");
  assert.equal(u.rd(R.RBR), 0x32);
  assert.equal(u.rd(R.IIR), IIR.THRI);
  assert.equal(u.rd(R.IIR), IIR.NO_INT);
  assert.equal(u.irq.level, false);
});

test("loopback: modem outputs read back on MSR, bytes come back on RBR, nothing leaves", () => {
  const u = uart();
  // autoconfig's existence test on IER.
  u.wr(R.IER, 0);
  assert.equal(u.rd(R.IER), 0);
  u.wr(R.IER, 0x0f);
  assert.equal(u.rd(R.IER), 0x0f);
  u.wr(R.IER, 0);
  // autoconfig's loopback test: LOOP | OUT2 | RTS must read DCD | CTS.
  u.wr(R.MCR, MCR.LOOP | MCR.OUT2 | MCR.RTS);
  assert.equal(u.rd(R.MSR) & 0xf0, MSR.DCD | MSR.CTS);
  u.wr(R.MCR, MCR.LOOP | MCR.OUT1 | MCR.DTR);
  assert.equal(u.rd(R.MSR) & 0xf0, MSR.RI | MSR.DSR);
  assert.equal(u.dev.canReceive(), 0, "the serial input is cut off");

  u.wr(R.FCR, FCR.FE);
  for (let i = 0; i < 17; i++) u.wr(R.THR, i);
  assert.deepEqual(u.out, []);
  assert.equal(u.rd(R.LSR) & (LSR.OE | LSR.DR), LSR.OE | LSR.DR, "the 17th byte overran the FIFO");
  const got: number[] = [];
  while (u.rd(R.LSR) & LSR.DR) got.push(u.rd(R.RBR));
  assert.deepEqual(got, Array.from({ length: 16 }, (_, i) => i), "an overrun keeps the FIFO's contents");

  const before = u.accepted();
  u.wr(R.MCR, MCR.OUT2);
  assert.equal(u.accepted(), before + 1, "leaving loopback offers input again");
  assert.equal(u.rd(R.MSR), MSR.DCD | MSR.DSR | MSR.CTS);
  u.wr(R.THR, 0x21);
  assert.deepEqual(u.out, [0x21]);
});

test("scratch register, read-only LSR/MSR, wider accesses reach one register", () => {
  const u = uart();
  u.wr(R.SCR, 0x5a);
  assert.equal(u.rd(R.SCR), 0x5a);
  u.wr(R.LSR, 0);
  u.wr(R.MSR, 0);
  assert.equal(u.rd(R.LSR), LSR.THRE | LSR.TEMT);
  assert.equal(u.rd(R.MSR), MSR.DCD | MSR.DSR | MSR.CTS);
  u.dev.region.ops.write(R.SCR, 4, 0x1234_56a5);
  assert.equal(u.dev.region.ops.read(R.SCR, 4), 0xa5);
  assert.equal(u.rd(0x40), 0, "outside QEMU's 8 registers");
});

test("reset() returns to power-on state and lowers the line", () => {
  const u = uart();
  u.wr(R.FCR, FCR.FE);
  u.wr(R.IER, IER.THRI | IER.RDI);
  u.wr(R.LCR, 0x1b);
  u.wr(R.SCR, 7);
  u.text("q");
  assert.equal(u.irq.level, true);
  u.dev.reset();
  assert.equal(u.irq.level, false);
  assert.deepEqual([R.IER, R.IIR, R.LCR, R.MCR, R.LSR, R.SCR].map(u.rd),
    [0, IIR.NO_INT, 0, MCR.OUT2, LSR.THRE | LSR.TEMT, 0]);
  u.advance(1e9);
  assert.equal(u.irq.level, false, "no stale character timeout");
});
