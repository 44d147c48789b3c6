/**
 * QEMU's stream framing (-netdev socket listen/connect, -netdev stream):
 * every frame preceded by its length as a 4-byte big-endian integer.  The
 * parser takes bytes as they come (a frame split over reads, or several in
 * one) and reports a length no frame can have.
 */

/** QEMU's NET_BUFSIZE: the largest frame a peer may announce (64 KiB and 4 KiB of slack). */
export const MAX_STREAM_FRAME = 4096 + 65536;

export function frameWithLength(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length, false);
  out.set(frame, 4);
  return out;
}

export class FrameReader {
  private readonly lenBytes = new Uint8Array(4);
  private lenHave = 0;
  private frame: Uint8Array | undefined;
  private have = 0;

  /**
   * Feed bytes; complete frames go to `onFrame`.  Returns an error text for a
   * malformed length (0 or more than MAX_STREAM_FRAME): the caller closes the
   * connection, and the reader must not be fed again.
   */
  push(bytes: Uint8Array, onFrame: (frame: Uint8Array) => void): string | undefined {
    let i = 0;
    while (i < bytes.length) {
      if (this.frame === undefined) {
        while (this.lenHave < 4 && i < bytes.length) this.lenBytes[this.lenHave++] = bytes[i++];
        if (this.lenHave < 4) return undefined;
        const len = new DataView(this.lenBytes.buffer).getUint32(0, false);
        if (len === 0 || len > MAX_STREAM_FRAME) return `frame length ${len} (1 to ${MAX_STREAM_FRAME})`;
        this.frame = new Uint8Array(len);
        this.have = 0;
        continue;
      }
      const take = Math.min(this.frame.length - this.have, bytes.length - i);
      this.frame.set(bytes.subarray(i, i + take), this.have);
      this.have += take;
      i += take;
      if (this.have === this.frame.length) {
        const done = this.frame;
        this.frame = undefined;
        this.lenHave = 0;
        onFrame(done);
      }
    }
    return undefined;
  }
}
