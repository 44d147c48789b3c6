/** A FIFO of bytes kept as the chunks that arrived: append, read at an offset, drop from the front. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes already consumed from chunks[0]. */
  private head = 0;
  length = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** Drop n bytes from the front. */
  consume(n: number): void {
    n = Math.min(n, this.length);
    this.length -= n;
    while (n > 0) {
      const first = this.chunks[0];
      const left = first.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** A copy of len bytes starting offset bytes from the front (fewer at the end). */
  read(offset: number, len: number): Uint8Array {
    len = Math.max(0, Math.min(len, this.length - offset));
    const out = new Uint8Array(len);
    let skip = offset + this.head;
    let put = 0;
    for (const c of this.chunks) {
      if (put >= len) break;
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      const take = Math.min(c.length - skip, len - put);
      out.set(c.subarray(skip, skip + take), put);
      put += take;
      skip = 0;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }
}
