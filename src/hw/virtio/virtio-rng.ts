/**
 * virtio-rng, the entropy device (virtio 1.2 section 5.4): one request queue;
 * every writable buffer is filled with random bytes from the host.
 */
import type { VirtioDevice } from "./virtio-mmio.js";
import type { Virtqueue } from "./virtqueue.js";

export const VIRTIO_ID_ENTROPY = 4;

export class VirtioRng implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_ENTROPY;
  readonly features = 0n;
  readonly queueCount = 1;
  /** As QEMU's virtio-rng (virtio_add_queue(vdev, 8, ...)). */
  readonly queueSize = 8;
  readonly config = new Uint8Array(0);

  /** `fill` writes random bytes over all of `buf`, whatever its length. */
  constructor(private readonly fill: (buf: Uint8Array) => void) {}

  notify(vq: Virtqueue): void {
    for (let chain = vq.pop(); chain !== undefined; chain = vq.pop()) {
      const n = chain.writeWith(0, chain.writableLength, (view) => this.fill(view));
      vq.push(chain, n);
    }
  }
}
