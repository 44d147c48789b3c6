/**
 * MAC addresses as QEMU gives them: parsed from mac= and handed out to NICs
 * without one as 52:54:00:12:34:56, :57, ... in creation order, skipping
 * addresses given explicitly.  With no -net, -nic or -netdev on the command
 * line QEMU makes a default NIC (`-net nic`, which the virt board has no slot
 * for) that takes :56 first, so the first NIC made by -device gets :57.
 */

/** QEMU's locally administered prefix for NICs without mac=. */
const QEMU_MAC_PREFIX = [0x52, 0x54, 0x00, 0x12, 0x34];
const QEMU_MAC_FIRST = 0x56;

/** "52:54:00:12:34:56" (or with '-'), as QEMU's MAC property parses it. */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{1,2})([:-])([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})$/i.exec(text);
  if (m === null) return undefined;
  return Uint8Array.from([m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h, 16)));
}

/** Hands out QEMU's default MACs in order, skipping those a NIC was given explicitly. */
export class MacAllocator {
  private readonly used = new Set<number>();

  /** `defaultNicTakesFirst`: the command line has no network option (see above). */
  constructor(defaultNicTakesFirst: boolean) {
    if (defaultNicTakesFirst) this.used.add(QEMU_MAC_FIRST);
  }

  /** A NIC was given `mac` explicitly. */
  claim(mac: Uint8Array): void {
    if (QEMU_MAC_PREFIX.every((b, i) => mac[i] === b)) this.used.add(mac[5]);
  }

  next(): Uint8Array {
    let last = QEMU_MAC_FIRST;
    while (this.used.has(last) && last < 0xff) last++;
    this.used.add(last);
    return Uint8Array.from([...QEMU_MAC_PREFIX, last]);
  }
}
