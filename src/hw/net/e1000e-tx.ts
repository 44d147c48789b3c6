/**
 * The 82574L's transmit path (datasheet section 7.2): the driver fills
 * descriptors between TDH and TDT and moves TDT; the device fetches each
 * one, gathers the packet's buffers, and at End Of Packet hands the frame
 * to the backend, writing Descriptor Done back to descriptors with Report
 * Status.  Three descriptor kinds:
 *
 * - legacy (DEXT clear): address, length, CSO/CSS for one checksum;
 * - context (DEXT, DTYP 0): the offload parameters for the packets after
 *   it: IP checksum start/offset/end, TCP/UDP checksum start/offset/end,
 *   TCP segmentation (TSE) with MSS and header length;
 * - data (DEXT, DTYP 1): address, length, POPTS (insert IP checksum IXSM,
 *   TCP/UDP checksum TXSM), TSE for segmentation.
 *
 * Offloads are computed here (the backend gets finished frames): IP header
 * checksums, TCP/UDP checksums over the range the context names (the
 * driver seeds the field with the pseudo-header sum), and for TSO each
 * segment's IP length, IPv4 identification, TCP sequence number, flags and
 * checksums.  VLAN tags are inserted when the descriptor asks (VLE) and
 * CTRL.VME is set.
 */
import { addr64, type BusMasterDma } from "./e1000e-dma.js";
import { Ctrl, Icr, Reg } from "./e1000e-regs.js";
import { onesSum, putChecksum } from "./checksum.js";

const DESC_SIZE = 16;
/** The largest packet gathered (a 64 KiB TSO payload and its headers, with room); beyond it the packet is dropped. */
export const TX_MAX_PACKET = 0x10000 + 0x1000;

/** Legacy CMD byte and the extended DCMD byte (bits 31:24 of the second dword). */
const enum Cmd {
  EOP = 0x01, IFCS = 0x02, IC_OR_TSE = 0x04, RS = 0x08, DEXT = 0x20, VLE = 0x40, IDE = 0x80,
}
/** TUCMD of a context descriptor. */
const enum Tucmd {
  TCP = 0x01, IP = 0x02, TSE = 0x04,
}
const enum Popts {
  IXSM = 0x01, TXSM = 0x02,
}
const DTYP_SHIFT = 20;
const DTYP_CONTEXT = 0;
const DTYP_DATA = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** What a context descriptor set. */
interface Context {
  ipcss: number; ipcso: number; ipcse: number;
  tucss: number; tucso: number; tucse: number;
  tucmd: number; paylen: number; hdrLen: number; mss: number;
}

export interface TxHost {
  readonly regs: Uint32Array;
  readonly dma: BusMasterDma;
  /** A finished frame for the backend. */
  send(frame: Uint8Array): void;
}

export class E1000eTx {
  private context: Context = emptyContext();
  private packet = new Uint8Array(TX_MAX_PACKET);
  private length = 0;
  /** The packet outgrew TX_MAX_PACKET: its descriptors are consumed and it is dropped at EOP. */
  private overflow = false;
  /** POPTS and TSE of the packet being gathered, from its first data descriptor. */
  private popts = 0;
  private tse = false;
  private first = true;
  private vlan: number | undefined;
  /** Frames sent and their bytes since the last look (for the statistics registers). */
  sentFrames = 0;
  sentBytes = 0;

  constructor(private readonly host: TxHost) {}

  /** Forget any half-gathered packet and the context (device reset). */
  reset(): void {
    this.context = emptyContext();
    this.startPacket();
  }

  /**
   * Process descriptors from TDH up to TDT; returns the interrupt causes
   * (TXDW when a descriptor with RS was written back, TXQE when the ring ran
   * empty).
   */
  run(): number {
    const r = this.host.regs;
    const count = Math.floor(r[Reg.TDLEN >> 2] / DESC_SIZE);
    const base = addr64(r[Reg.TDBAL >> 2], r[Reg.TDBAH >> 2]);
    let head = r[Reg.TDH >> 2];
    const tail = r[Reg.TDT >> 2];
    if (count === 0 || head >= count || tail >= count) return 0;
    let causes = 0;
    // At most one lap: the tail cannot move while we run.
    while (head !== tail) {
      const at = base + head * DESC_SIZE;
      const d = this.host.dma.read(at, DESC_SIZE);
      if (this.descriptor(d)) {
        // Report Status: Descriptor Done in the status byte.
        this.host.dma.write(at + 12, new Uint8Array([d[12] | 1]));
        causes |= Icr.TXDW;
      }
      head = (head + 1) % count;
      r[Reg.TDH >> 2] = head;
    }
    return causes | Icr.TXQE;
  }

  /** One descriptor; true when it asks for its status to be written back. */
  private descriptor(d: Uint8Array): boolean {
    const dv = new DataView(d.buffer, d.byteOffset, DESC_SIZE);
    const word2 = dv.getUint32(8, true);
    const cmd = d[11];
    if ((cmd & Cmd.DEXT) === 0) {
      this.legacy(dv, d);
      return (cmd & Cmd.RS) !== 0;
    }
    const dtyp = (word2 >>> DTYP_SHIFT) & 0xf;
    if (dtyp === DTYP_CONTEXT) {
      this.context = {
        ipcss: d[0], ipcso: d[1], ipcse: dv.getUint16(2, true), tucss: d[4], tucso: d[5], tucse: dv.getUint16(6, true),
        tucmd: cmd, paylen: word2 & 0xfffff, hdrLen: d[13], mss: dv.getUint16(14, true),
      };
      return (cmd & Cmd.RS) !== 0;
    }
    if (dtyp !== DTYP_DATA) return (cmd & Cmd.RS) !== 0; // reserved type: consumed, nothing sent
    if (this.first) {
      this.popts = d[13];
      this.tse = (cmd & Cmd.IC_OR_TSE) !== 0;
      this.first = false;
    }
    this.gather(addr64(dv.getUint32(0, true), dv.getUint32(4, true)), word2 & 0xfffff);
    if ((cmd & Cmd.VLE) !== 0) this.vlan = dv.getUint16(14, true);
    if ((cmd & Cmd.EOP) !== 0) this.endPacket();
    return (cmd & Cmd.RS) !== 0;
  }

  private legacy(dv: DataView, d: Uint8Array): void {
    const cmd = d[11];
    if (this.first) {
      this.tse = false;
      this.popts = 0;
      this.first = false;
    }
    this.gather(addr64(dv.getUint32(0, true), dv.getUint32(4, true)), dv.getUint16(8, true));
    if ((cmd & Cmd.VLE) !== 0) this.vlan = dv.getUint16(14, true);
    if ((cmd & Cmd.EOP) === 0) return;
    // Insert Checksum: the sum from CSS to the end, stored at CSO.
    if ((cmd & Cmd.IC_OR_TSE) !== 0 && !this.overflow) {
      const css = d[13];
      const cso = d[10];
      if (css < this.length && cso + 2 <= this.length) putChecksum(this.packet, cso, onesSum(this.packet, css, this.length));
    }
    this.popts = 0;
    this.endPacket();
  }

  private gather(addr: number, len: number): void {
    if (this.overflow || len === 0) return;
    if (this.length + len > this.packet.length) {
      this.overflow = true;
      return;
    }
    this.packet.set(this.host.dma.read(addr, len), this.length);
    this.length += len;
  }

  private endPacket(): void {
    if (!this.overflow && this.length > 0) {
      if (this.tse) this.segment();
      else this.emit(this.offload(this.packet.slice(0, this.length)));
    }
    this.startPacket();
  }

  private startPacket(): void {
    this.length = 0;
    this.overflow = false;
    this.first = true;
    this.popts = 0;
    this.tse = false;
    this.vlan = undefined;
  }

  /** IP and TCP/UDP checksums of a packet that is not segmented. */
  private offload(f: Uint8Array): Uint8Array {
    const c = this.context;
    if ((this.popts & Popts.IXSM) !== 0) this.ipChecksum(f, c.ipcss, c.ipcse);
    if ((this.popts & Popts.TXSM) !== 0 && c.tucss < f.length && c.tucso + 2 <= f.length) {
      const end = c.tucse === 0 ? f.length : Math.min(c.tucse + 1, f.length);
      if (c.tucss < end) putChecksum(f, c.tucso, onesSum(f, c.tucss, end));
    }
    return f;
  }

  private ipChecksum(f: Uint8Array, start: number, endInclusive: number): void {
    const c = this.context;
    const end = endInclusive === 0 ? start + (f[start] & 0xf) * 4 : endInclusive + 1;
    if (start >= end || end > f.length || c.ipcso + 2 > f.length) return;
    f[c.ipcso] = 0;
    f[c.ipcso + 1] = 0;
    putChecksum(f, c.ipcso, onesSum(f, start, end));
  }

  /** TCP segmentation: each MSS of payload after the header becomes a frame of its own. */
  private segment(): void {
    const c = this.context;
    const hdr = c.hdrLen;
    const ipv4 = (c.tucmd & Tucmd.IP) !== 0;
    const tcp = (c.tucmd & Tucmd.TCP) !== 0;
    if (hdr === 0 || hdr > this.length || c.mss === 0 || c.tucss + (tcp ? 20 : 8) > hdr || c.ipcss + (ipv4 ? 20 : 40) > hdr) {
      return; // a context the packet does not fit: dropped, as a malformed packet
    }
    const payload = this.length - hdr;
    const segments = Math.max(1, Math.ceil(payload / c.mss));
    const h = this.packet;
    const seq0 = ((h[c.tucss + 4] << 24) | (h[c.tucss + 5] << 16) | (h[c.tucss + 6] << 8) | h[c.tucss + 7]) >>> 0;
    const id0 = (h[c.ipcss + 4] << 8) | h[c.ipcss + 5];
    for (let i = 0; i < segments; i++) {
      const off = hdr + i * c.mss;
      const len = Math.min(c.mss, payload - i * c.mss);
      const f = new Uint8Array(hdr + Math.max(0, len));
      f.set(h.subarray(0, hdr));
      f.set(h.subarray(off, off + Math.max(0, len)), hdr);
      const ipLen = f.length - c.ipcss;
      if (ipv4) {
        put16(f, c.ipcss + 2, ipLen);
        put16(f, c.ipcss + 4, (id0 + i) & 0xffff);
      } else {
        put16(f, c.ipcss + 4, ipLen - 40);
      }
      if (tcp) {
        const seq = (seq0 + i * c.mss) >>> 0;
        put16(f, c.tucss + 4, seq >>> 16);
        put16(f, c.tucss + 6, seq & 0xffff);
        // FIN and PSH only on the last segment.
        if (i !== segments - 1) f[c.tucss + 13] &= ~0x09;
      } else {
        put16(f, c.tucss + 4, f.length - c.tucss);
      }
      if ((this.popts & Popts.IXSM) !== 0 && ipv4) this.ipChecksum(f, c.ipcss, 0);
      if ((this.popts & Popts.TXSM) !== 0) {
        f[c.tucso] = 0;
        f[c.tucso + 1] = 0;
        const l4 = f.length - c.tucss;
        const proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
        const pseudo = ipv4
          ? onesSum(f, c.ipcss + 12, c.ipcss + 20, proto + l4)
          : onesSum(f, c.ipcss + 8, c.ipcss + 40, proto + l4);
        putChecksum(f, c.tucso, onesSum(f, c.tucss, f.length, pseudo));
      }
      this.emit(f);
    }
  }

  private emit(frame: Uint8Array): void {
    let f = frame;
    if (this.vlan !== undefined && (this.host.regs[Reg.CTRL >> 2] & Ctrl.VME) !== 0 && f.length >= 12) {
      const tagged = new Uint8Array(f.length + 4);
      tagged.set(f.subarray(0, 12));
      put16(tagged, 12, this.host.regs[Reg.VET >> 2] & 0xffff);
      put16(tagged, 14, this.vlan);
      tagged.set(f.subarray(12), 16);
      f = tagged;
    }
    this.sentFrames++;
    this.sentBytes += f.length;
    this.host.send(f);
  }
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function emptyContext(): Context {
  return { ipcss: 0, ipcso: 0, ipcse: 0, tucss: 0, tucso: 0, tucse: 0, tucmd: 0, paylen: 0, hdrLen: 0, mss: 0 };
}
