/**
 * virtio-net, the network card (virtio 1.2 section 5.1): a receive queue, a
 * transmit queue and a control queue, as QEMU 7.2's virtio-net with one
 * queue pair.
 *
 * Every frame is preceded in guest memory by struct virtio_net_hdr: 10 bytes
 * for a legacy driver without MRG_RXBUF, 12 (num_buffers added) with
 * MRG_RXBUF or VERSION_1.
 *
 * Offloads (section 5.1.6.2), offered only with a backend that takes large
 * TCP segments (QEMU offers them only with a peer that has a vnet header):
 * CSUM lets the guest send frames with a partial checksum, which the device
 * completes before the backend sees them; HOST_TSO4 lets it send IPv4 TCP
 * segments of up to 64 KiB, which the backend takes whole (their checksums
 * computed here); GUEST_CSUM marks every frame it receives DATA_VALID (the
 * backend's checksums are always complete), so the guest checks none; and
 * GUEST_TSO4 lets the backend send it large TCP segments, which its stack
 * takes as many.  Without them the header of a frame the guest sends asks for
 * nothing and the device writes a zero header (num_buffers aside).
 *
 * Receive: a frame from the backend goes into the buffers the driver posted
 * (several chains when MRG_RXBUF was negotiated, num_buffers saying how
 * many); with too few buffers posted the frame is refused (`deliver` returns
 * false) and the backend is told to `resume` once the driver posts more.
 * The receive filter is QEMU's: promiscuous until the driver says otherwise
 * (QEMU resets to promiscuous "for compatibility"), then unicast to our MAC
 * or in the MAC table, broadcast unless NOBCAST, multicast per ALLMULTI,
 * NOMULTI and the table; with CTRL_VLAN, 802.1Q frames only for the VLANs
 * the driver added (none after a reset).
 */
import type { NetBackend, NetFrontend } from "../../net/net-client.js";
import type { VirtioDevice, VirtioDeviceHost } from "./virtio-transport.js";
import { VIRTIO_F_VERSION_1 } from "./virtio-transport.js";
import type { Chain, Virtqueue } from "./virtqueue.js";
import { completeOffloads, largeSegmentHeader, VIRTIO_NET_HDR_F_DATA_VALID } from "./virtio-net-offload.js";

export const VIRTIO_ID_NET = 1;

export const VIRTIO_NET_F_CSUM = 1n << 0n;
export const VIRTIO_NET_F_GUEST_CSUM = 1n << 1n;
export const VIRTIO_NET_F_MAC = 1n << 5n;
export const VIRTIO_NET_F_GUEST_TSO4 = 1n << 7n;
export const VIRTIO_NET_F_HOST_TSO4 = 1n << 11n;
export const VIRTIO_NET_F_MRG_RXBUF = 1n << 15n;
export const VIRTIO_NET_F_STATUS = 1n << 16n;
export const VIRTIO_NET_F_CTRL_VQ = 1n << 17n;
export const VIRTIO_NET_F_CTRL_RX = 1n << 18n;
export const VIRTIO_NET_F_CTRL_VLAN = 1n << 19n;
export const VIRTIO_NET_F_CTRL_RX_EXTRA = 1n << 20n;
export const VIRTIO_NET_F_CTRL_MAC_ADDR = 1n << 23n;

/** The features a backend with offloads adds, QEMU's defaults (csum, guest_csum, host_tso4, guest_tso4 on). */
export const OFFLOAD_FEATURES = VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_GUEST_TSO4;

/** The config's status field. */
export const VIRTIO_NET_S_LINK_UP = 1;

/** Control queue classes and commands (virtio 1.2 section 5.1.6.5). */
export const enum VirtioNetCtrl { RX = 0, MAC = 1, VLAN = 2 }
export const enum VirtioNetCtrlRx { PROMISC = 0, ALLMULTI = 1, ALLUNI = 2, NOMULTI = 3, NOUNI = 4, NOBCAST = 5 }
export const enum VirtioNetCtrlMac { TABLE_SET = 0, ADDR_SET = 1 }
export const enum VirtioNetCtrlVlan { ADD = 0, DEL = 1 }
/** VLAN ids are 12 bits. */
export const MAX_VLAN = 4096;
export const VIRTIO_NET_OK = 0;
export const VIRTIO_NET_ERR = 1;

export const enum VirtioNetQueue { RX = 0, TX = 1, CTRL = 2 }

/** QEMU's rx_queue_size and tx_queue_size defaults, and its control queue's size. */
const DATA_QUEUE_SIZE = 256;
const CTRL_QUEUE_SIZE = 64;
/** QEMU's MAC_TABLE_ENTRIES: more addresses than this set the overflow flag (accept all of that kind). */
export const MAC_TABLE_ENTRIES = 64;
/** The largest frame either way: 64 KiB of payload plus an Ethernet header with a VLAN tag. */
export const MAX_FRAME = 65536 + 18;

const HDR_LEGACY = 10;
const HDR_MRG = 12;
/** struct virtio_net_config as far as the offered features reach: mac[6], status. */
const CONFIG_SIZE = 8;

export const DEFAULT_NET_FEATURES = VIRTIO_NET_F_MAC | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_STATUS
  | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX | VIRTIO_NET_F_CTRL_VLAN | VIRTIO_NET_F_CTRL_RX_EXTRA | VIRTIO_NET_F_CTRL_MAC_ADDR;

/** The receive filter the driver set through the control queue. */
export interface RxFilter {
  promisc: boolean;
  allmulti: boolean;
  alluni: boolean;
  nomulti: boolean;
  nouni: boolean;
  nobcast: boolean;
  unicast: Uint8Array[];
  multicast: Uint8Array[];
  uniOverflow: boolean;
  multiOverflow: boolean;
  /** The VLAN ids let through once CTRL_VLAN is negotiated, a bit each (empty at reset); without it every VLAN passes. */
  vlans: Uint32Array;
}

function freshFilter(): RxFilter {
  return {
    promisc: true, allmulti: false, alluni: false, nomulti: false, nouni: false, nobcast: false,
    unicast: [], multicast: [], uniOverflow: false, multiOverflow: false, vlans: new Uint32Array(MAX_VLAN / 32),
  };
}

const sameMac = (a: Uint8Array, b: Uint8Array, at = 0): boolean =>
  a[0] === b[at] && a[1] === b[at + 1] && a[2] === b[at + 2] && a[3] === b[at + 3] && a[4] === b[at + 4] && a[5] === b[at + 5];

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export interface VirtioNetOptions {
  /** The NIC's MAC address (6 bytes). */
  mac: Uint8Array;
  /** The netdev it is joined to (none: frames the guest sends go nowhere). */
  backend?: NetBackend;
  /** The MAC changed or the filter changed (QEMU's info_str update and NIC_RX_FILTER_CHANGED). */
  onRxFilterChanged?: () => void;
  /**
   * The offload features to offer when the backend has offloads (default: all of OFFLOAD_FEATURES,
   * as QEMU's properties default to on); none are offered to a backend without them.
   */
  offloads?: bigint;
}

export class VirtioNet implements VirtioDevice, NetFrontend {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features: bigint;
  readonly queueCount = 3;
  readonly queueSize = DATA_QUEUE_SIZE;
  readonly queueSizes = [DATA_QUEUE_SIZE, DATA_QUEUE_SIZE, CTRL_QUEUE_SIZE];
  readonly config = new Uint8Array(CONFIG_SIZE);
  /** The MAC the machine was given; a reset returns to it. */
  readonly permanentMac: Uint8Array;
  /** The current MAC (the driver may set another through the control queue). */
  readonly mac = new Uint8Array(6);
  filter = freshFilter();
  linkUp = true;
  private host: VirtioDeviceHost | undefined;
  private readonly backend: NetBackend | undefined;
  /** A frame was refused for want of buffers: tell the backend when some come. */
  private waiting = false;
  private readonly onRxFilterChanged: () => void;

  constructor(opts: VirtioNetOptions) {
    if (opts.mac.length !== 6) throw new Error("virtio-net: a MAC address has 6 bytes");
    this.permanentMac = opts.mac.slice();
    this.backend = opts.backend;
    const offloads = this.backend?.offloads === true ? (opts.offloads ?? OFFLOAD_FEATURES) & OFFLOAD_FEATURES : 0n;
    this.features = DEFAULT_NET_FEATURES | offloads;
    this.onRxFilterChanged = opts.onRxFilterChanged ?? ((): void => {});
    this.reset();
    this.backend?.attach(this);
  }

  bind(host: VirtioDeviceHost): void {
    this.host = host;
  }

  reset(): void {
    this.mac.set(this.permanentMac);
    this.config.set(this.mac, 0);
    this.setStatus();
    this.filter = freshFilter();
    this.waiting = false;
  }

  /** HMP/QMP set_link: a change clears or sets the status bit and interrupts. */
  setLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    this.setStatus();
    if ((this.negotiated() & VIRTIO_NET_F_STATUS) !== 0n) this.host?.configChanged();
    if (up && this.waiting) this.resumeBackend();
  }

  private setStatus(): void {
    this.config[6] = this.linkUp ? VIRTIO_NET_S_LINK_UP : 0;
    this.config[7] = 0;
  }

  private negotiated(): bigint {
    return this.host?.features() ?? 0n;
  }

  /** The header in front of every frame, by the negotiated features. */
  headerSize(): number {
    const f = this.negotiated();
    return (f & (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MRG_RXBUF)) !== 0n ? HDR_MRG : HDR_LEGACY;
  }

  notify(vq: Virtqueue): void {
    switch (vq.index) {
      case VirtioNetQueue.RX:
        if (this.waiting) this.resumeBackend();
        break;
      case VirtioNetQueue.TX: this.transmit(vq); break;
      case VirtioNetQueue.CTRL: this.control(vq); break;
    }
  }

  private resumeBackend(): void {
    this.waiting = false;
    this.backend?.resume();
  }

  // --- Transmit ---------------------------------------------------------------

  private transmit(vq: Virtqueue): void {
    const hdr = this.headerSize();
    // Bounded by the queue: the guest cannot add buffers while the device runs.
    for (let chain = vq.pop(); chain !== undefined; chain = vq.pop()) {
      const len = chain.readableLength - hdr;
      // A chain without its header is the driver's bug (QEMU stops the device too).
      if (len < 0) {
        vq.fail("virtio-net header not in first element");
        return;
      }
      if (len > 0 && len <= MAX_FRAME && this.linkUp && this.backend !== undefined) {
        const whole = new Uint8Array(hdr + len);
        chain.read(0, whole);
        const frame = whole.subarray(hdr);
        const f = this.negotiated();
        if (completeOffloads(whole, frame, (f & VIRTIO_NET_F_CSUM) !== 0n, (f & VIRTIO_NET_F_HOST_TSO4) !== 0n)) this.backend.send(frame);
      }
      vq.push(chain, 0);
    }
  }

  // --- Receive ----------------------------------------------------------------

  takesLargeTcp(): boolean {
    return (this.negotiated() & VIRTIO_NET_F_GUEST_TSO4) !== 0n;
  }

  /** A frame for the guest: false when it has too few buffers (nothing taken; resume follows). */
  deliver(frame: Uint8Array, segmentSize = 0): boolean {
    // Link down, or a frame no guest could take: dropped, as QEMU's receive does.
    if (!this.linkUp || frame.length > MAX_FRAME || frame.length < 14) return true;
    // A large segment sent before the driver dropped GUEST_TSO4 (a reset): lost, TCP sends it again.
    if (segmentSize > 0 && !this.takesLargeTcp()) return true;
    const host = this.host;
    if (host === undefined || !host.running()) return this.refuse(undefined);
    const rx = host.queues[VirtioNetQueue.RX];
    if (rx === undefined || !rx.ready) return this.refuse(undefined);
    if (!this.accepts(frame)) return true;
    const hdr = this.headerSize();
    const mergeable = (this.negotiated() & VIRTIO_NET_F_MRG_RXBUF) !== 0n;
    const need = hdr + frame.length;
    const chains: Chain[] = [];
    let room = 0;
    while (room < need) {
      const chain = rx.pop();
      if (chain === undefined) {
        rx.unpop(chains.length);
        return this.refuse(rx);
      }
      chains.push(chain);
      room += chain.writableLength;
      if (!mergeable) break;
    }
    if (room < need) {
      // One buffer per frame without MRG_RXBUF: a frame bigger than it is dropped, the buffer left for the next.
      rx.unpop(1);
      return true;
    }
    const whole = new Uint8Array(need);
    // The backend's checksums are complete: with GUEST_CSUM the guest need not check them.
    // A large TCP segment says how the guest's stack is to count it; num_buffers how many chains it took.
    if ((this.negotiated() & VIRTIO_NET_F_GUEST_CSUM) !== 0n) whole[0] = VIRTIO_NET_HDR_F_DATA_VALID;
    if (segmentSize > 0) largeSegmentHeader(whole, frame, segmentSize);
    if (hdr === HDR_MRG) {
      whole[10] = chains.length & 0xff;
      whole[11] = chains.length >>> 8;
    }
    whole.set(frame, hdr);
    let at = 0;
    for (const chain of chains) {
      const n = chain.write(0, whole.subarray(at, Math.min(need, at + chain.writableLength)));
      rx.push(chain, n);
      at += n;
    }
    host.queueUsed(rx);
    return true;
  }

  private refuse(rx: Virtqueue | undefined): boolean {
    this.waiting = true;
    rx?.armNotify();
    return false;
  }

  /** The VLAN ids the filter lets through, or undefined when the driver did not take CTRL_VLAN (every VLAN passes). */
  vlanIds(): number[] | undefined {
    if ((this.negotiated() & VIRTIO_NET_F_CTRL_VLAN) === 0n) return undefined;
    const ids: number[] = [];
    for (let vid = 0; vid < MAX_VLAN; vid++) if ((this.filter.vlans[vid >>> 5] >>> (vid & 31)) & 1) ids.push(vid);
    return ids;
  }

  /** QEMU's receive_filter. */
  accepts(frame: Uint8Array): boolean {
    const f = this.filter;
    if (f.promisc) return true;
    // An 802.1Q frame: its VLAN must be in the table (when the driver filters VLANs at all).
    if (frame[12] === 0x81 && frame[13] === 0x00 && (this.negotiated() & VIRTIO_NET_F_CTRL_VLAN) !== 0n) {
      const vid = ((frame[14] << 8) | frame[15]) & 0xfff;
      if (((f.vlans[vid >>> 5] >>> (vid & 31)) & 1) === 0) return false;
    }
    if (frame[0] & 1) {
      const broadcast = frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff && frame[3] === 0xff
        && frame[4] === 0xff && frame[5] === 0xff;
      if (broadcast) return !f.nobcast;
      if (f.nomulti) return false;
      if (f.allmulti || f.multiOverflow) return true;
      return f.multicast.some((m) => sameMac(m, frame));
    }
    if (f.nouni) return false;
    if (f.alluni || f.uniOverflow) return true;
    if (sameMac(this.mac, frame)) return true;
    return f.unicast.some((m) => sameMac(m, frame));
  }

  // --- Control ----------------------------------------------------------------

  private control(vq: Virtqueue): void {
    for (let chain = vq.pop(); chain !== undefined; chain = vq.pop()) {
      if (chain.readableLength < 2 || chain.writableLength < 1) {
        vq.fail("virtio-net ctrl missing headers");
        return;
      }
      const cmd = new Uint8Array(Math.min(chain.readableLength, 2 + 2 * (4 + 6 * 1024)));
      chain.read(0, cmd);
      const ack = this.command(cmd[0], cmd[1], cmd.subarray(2), chain.readableLength - 2);
      chain.write(0, Uint8Array.of(ack));
      vq.push(chain, 1);
    }
  }

  private command(cls: number, cmd: number, data: Uint8Array, dataLength: number): number {
    const negotiated = this.negotiated();
    if (cls === VirtioNetCtrl.RX && (negotiated & VIRTIO_NET_F_CTRL_RX) !== 0n) {
      if (dataLength !== 1) return VIRTIO_NET_ERR;
      const on = data[0] !== 0;
      const f = this.filter;
      switch (cmd) {
        case VirtioNetCtrlRx.PROMISC: f.promisc = on; break;
        case VirtioNetCtrlRx.ALLMULTI: f.allmulti = on; break;
        case VirtioNetCtrlRx.ALLUNI: f.alluni = on; break;
        case VirtioNetCtrlRx.NOMULTI: f.nomulti = on; break;
        case VirtioNetCtrlRx.NOUNI: f.nouni = on; break;
        case VirtioNetCtrlRx.NOBCAST: f.nobcast = on; break;
        default: return VIRTIO_NET_ERR;
      }
      this.onRxFilterChanged();
      return VIRTIO_NET_OK;
    }
    if (cls === VirtioNetCtrl.MAC) {
      if (cmd === VirtioNetCtrlMac.ADDR_SET && (negotiated & VIRTIO_NET_F_CTRL_MAC_ADDR) !== 0n) {
        if (dataLength !== 6) return VIRTIO_NET_ERR;
        this.mac.set(data.subarray(0, 6));
        this.config.set(this.mac, 0);
        this.onRxFilterChanged();
        return VIRTIO_NET_OK;
      }
      if (cmd === VirtioNetCtrlMac.TABLE_SET && (negotiated & VIRTIO_NET_F_CTRL_RX) !== 0n) {
        return this.macTable(data, dataLength);
      }
    }
    if (cls === VirtioNetCtrl.VLAN && (negotiated & VIRTIO_NET_F_CTRL_VLAN) !== 0n) {
      // A little-endian 16-bit id (QEMU reads the first two bytes and ignores any more).
      if (dataLength < 2 || data.length < 2) return VIRTIO_NET_ERR;
      const vid = data[0] | (data[1] << 8);
      if (vid >= MAX_VLAN) return VIRTIO_NET_ERR;
      const bit = 1 << (vid & 31);
      if (cmd === VirtioNetCtrlVlan.ADD) this.filter.vlans[vid >>> 5] |= bit;
      else if (cmd === VirtioNetCtrlVlan.DEL) this.filter.vlans[vid >>> 5] &= ~bit;
      else return VIRTIO_NET_ERR;
      this.onRxFilterChanged();
      return VIRTIO_NET_OK;
    }
    return VIRTIO_NET_ERR;
  }

  /** Two tables, unicast then multicast: {le32 entries; u8 mac[entries][6]} each, filling the data exactly. */
  private macTable(data: Uint8Array, dataLength: number): number {
    const tables: Uint8Array[][] = [];
    const overflow: boolean[] = [];
    let at = 0;
    for (let t = 0; t < 2; t++) {
      if (at + 4 > dataLength || at + 4 > data.length) return VIRTIO_NET_ERR;
      const n = (data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;
      at += 4;
      if (n > (dataLength - at) / 6 || at + 6 * n > data.length) return VIRTIO_NET_ERR;
      const list: Uint8Array[] = [];
      for (let i = 0; i < n && i < MAC_TABLE_ENTRIES; i++) list.push(data.slice(at + 6 * i, at + 6 * i + 6));
      tables.push(list);
      overflow.push(n > MAC_TABLE_ENTRIES);
      at += 6 * n;
    }
    if (at !== dataLength) return VIRTIO_NET_ERR;
    const f = this.filter;
    [f.unicast, f.multicast] = tables;
    [f.uniOverflow, f.multiOverflow] = overflow;
    this.onRxFilterChanged();
    return VIRTIO_NET_OK;
  }
}
