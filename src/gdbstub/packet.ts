/**
 * Framing of the GDB remote serial protocol: `$payload#cs` packets with a
 * modulo-256 checksum, `+`/`-` acknowledgements, the Ctrl-C byte (0x03) that
 * interrupts a running target, and the `}` escapes of binary data.
 */

const DOLLAR = 0x24, HASH = 0x23, PLUS = 0x2b, MINUS = 0x2d, ESCAPE = 0x7d, STAR = 0x2a, CTRL_C = 0x03;
/** Payloads larger than this are dropped as garbage (gdb sends at most PacketSize bytes). */
const MAX_PAYLOAD = 1 << 20;

/** The sum of the bytes modulo 256. */
export function checksum(data: Uint8Array): number {
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xff;
  return sum;
}

/** `$payload#cs`; the payload must already have its special bytes escaped. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 4);
  out[0] = DOLLAR;
  out.set(payload, 1);
  const cs = checksum(payload);
  out[payload.length + 1] = HASH;
  out[payload.length + 2] = "0123456789abcdef".charCodeAt(cs >> 4);
  out[payload.length + 3] = "0123456789abcdef".charCodeAt(cs & 15);
  return out;
}

/** Escape the bytes a binary payload may not hold raw ($ # } *) as `}` and the byte xor 0x20. */
export function escapeBinary(data: Uint8Array): Uint8Array {
  let n = 0;
  for (const b of data) if (b === DOLLAR || b === HASH || b === ESCAPE || b === STAR) n++;
  if (n === 0) return data;
  const out = new Uint8Array(data.length + n);
  let j = 0;
  for (const b of data) {
    if (b === DOLLAR || b === HASH || b === ESCAPE || b === STAR) {
      out[j++] = ESCAPE;
      out[j++] = b ^ 0x20;
    } else {
      out[j++] = b;
    }
  }
  return out;
}

/** Undo escapeBinary; undefined when the data ends inside an escape. */
export function unescapeBinary(data: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(data.length);
  let j = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === ESCAPE) {
      if (++i >= data.length) return undefined;
      out[j++] = data[i] ^ 0x20;
    } else {
      out[j++] = data[i];
    }
  }
  return out.subarray(0, j);
}

/** What the reader finds in the byte stream. */
export interface PacketSink {
  /** A whole packet; `valid` is false when its checksum did not match. */
  packet(payload: Uint8Array, valid: boolean): void;
  /** A Ctrl-C between packets. */
  interrupt(): void;
  /** `+` (true) or `-` (false) from the other side. */
  ack(ok: boolean): void;
}

const enum State { IDLE, DATA, CS1, CS2 }

/** Splits the incoming byte stream into packets, acks and interrupts. */
export class PacketReader {
  private state = State.IDLE;
  private buf = new Uint8Array(1024);
  private len = 0;
  private cs = 0;

  constructor(private readonly sink: PacketSink) {}

  feed(bytes: Uint8Array): void {
    for (const b of bytes) {
      switch (this.state) {
        case State.IDLE:
          if (b === DOLLAR) this.start();
          else if (b === PLUS) this.sink.ack(true);
          else if (b === MINUS) this.sink.ack(false);
          else if (b === CTRL_C) this.sink.interrupt();
          // Anything else between packets is line noise.
          break;
        case State.DATA:
          if (b === HASH) this.state = State.CS1;
          else if (b === DOLLAR) this.start(); // a new packet cuts a broken one short
          else this.push(b);
          break;
        case State.CS1:
          this.cs = hexDigit(b) << 4;
          this.state = State.CS2;
          break;
        case State.CS2: {
          this.cs |= hexDigit(b);
          this.state = State.IDLE;
          const payload = this.buf.slice(0, this.len);
          this.sink.packet(payload, this.len <= MAX_PAYLOAD && this.cs === checksum(payload));
          break;
        }
      }
    }
  }

  private start(): void {
    this.state = State.DATA;
    this.len = 0;
  }

  private push(b: number): void {
    if (this.len === this.buf.length) {
      if (this.len > MAX_PAYLOAD) return; // keep reading to the '#', then reject it
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }
}

/** A hex digit's value; 0x100 (which fails any checksum compare) when it is not one. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 0x100;
}
