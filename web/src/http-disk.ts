/**
 * A disk image at a URL: its size from a HEAD request when opened, then its
 * bytes through synchronous `Range: bytes=a-b` requests (synchronous
 * XMLHttpRequest is allowed in a worker, and the block devices call their
 * backend synchronously).  Browser-only.
 */
import { RangeDisk, type ChunkStore, type RangeSource } from "./range-disk.js";

class XhrRangeSource implements RangeSource {
  constructor(readonly url: string, readonly size: number) {}

  readRange(start: number, length: number): Uint8Array {
    const xhr = new XMLHttpRequest();
    xhr.open("GET", this.url, false);
    xhr.responseType = "arraybuffer";
    xhr.setRequestHeader("Range", `bytes=${start}-${start + length - 1}`);
    xhr.send();
    // A server that ignores Range answers 200 with the whole file: that is not what was asked.
    if (xhr.status !== 206) throw new Error(`${this.url}: range ${start}+${length} answered ${xhr.status} ${xhr.statusText}`);
    return new Uint8Array(xhr.response as ArrayBuffer);
  }
}

/** Opens the image at `url`: throws when the server gives no size or refuses ranges. */
export async function openHttpDisk(url: string, options: { readOnly?: boolean; overlay?: ChunkStore } = {}): Promise<RangeDisk> {
  const head = await fetch(url, { method: "HEAD" });
  if (!head.ok) throw new Error(`disk ${url}: ${head.status} ${head.statusText}`);
  const length = head.headers.get("Content-Length");
  const size = length === null ? NaN : Number(length);
  if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`disk ${url}: the server gave no size (Content-Length)`);
  if (head.headers.get("Accept-Ranges") !== "bytes") throw new Error(`disk ${url}: the server does not take range requests (Accept-Ranges)`);
  return new RangeDisk(new XhrRangeSource(new URL(url, self.location.href).href, size), options);
}
