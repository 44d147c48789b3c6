/**
 * The 82574L's receive path (datasheet section 7.1): a frame from the
 * backend passes the address filter, is written into the buffers of the
 * descriptors from RDH on (as many as it needs at the buffer size RCTL
 * gives), and each descriptor is written back with its length and status
 * (Descriptor Done, End Of Packet on the last).  Three descriptor formats:
 *
 * - legacy (RFCTL.EXTEN clear): length, checksum, status, errors, VLAN tag;
 * - extended (RFCTL.EXTEN set, RCTL.DTYP 0), what Linux uses: the
 *   write-back holds MRQ/RSS, status and errors in one dword, length, VLAN;
 * - packet split (RFCTL.EXTEN and RCTL.DTYP_PS, Linux's mode for jumbo
 *   MTUs): 32-byte descriptors with four buffers of PSRCTL's sizes, filled in
 *   order; the header is not split off (header status 0), as QEMU does when
 *   it does not split.
 *
 * Receive checksums are checked as RXCSUM asks (e1000e-rxcsum.ts).
 *
 * When the ring has too few free descriptors the frame is refused (the
 * backend keeps it until the driver moves RDT), as QEMU's can_receive.
 */
import { addr64, type BusMasterDma } from "./e1000e-dma.js";
import { Ctrl, Icr, MTA_ENTRIES, RA_ENTRIES, RAH_AV, Rctl, Reg, Rfctl } from "./e1000e-regs.js";
import { crc32 } from "./checksum.js";
import { rxChecksum } from "./e1000e-rxcsum.js";

const DESC_SIZE = 16;
/** A packet-split descriptor: four buffer addresses to read, a longer write-back. */
const PS_DESC_SIZE = 32;
/** Status bits of a receive descriptor (the checksum ones are e1000e-rxcsum.ts's). */
const enum RxStatus {
  DD = 0x01, EOP = 0x02, VP = 0x08,
}
/** The shortest frame on the wire without FCS; shorter ones are padded with zeros (as the MAC receives them). */
const MIN_FRAME = 60;
/** A frame longer than this (without FCS, with a VLAN tag) needs RCTL.LPE. */
const MAX_FRAME = 1522 - 4;
/** The longest frame accepted at all (a jumbo frame of the 82574L: 9 KiB). */
const MAX_JUMBO = 9018;

export const enum RxResult {
  /** Written into the ring. */
  RECEIVED,
  /** Not for us (filter), malformed or too long: dropped. */
  DROPPED,
  /** No room in the ring now: try again when the driver gives buffers. */
  NO_BUFFERS,
}

export interface RxHost {
  readonly regs: Uint32Array;
  readonly dma: BusMasterDma;
}

export class E1000eRx {
  /** Frames and bytes written into the ring since the last look (statistics). */
  receivedFrames = 0;
  receivedBytes = 0;
  missed = 0;

  constructor(private readonly host: RxHost) {}

  /** The receive buffer size RCTL selects (datasheet 10.2.5.1: BSIZE, times 16 with BSEX). */
  bufferSize(): number {
    const rctl = this.host.regs[Reg.RCTL >> 2];
    const bsize = (rctl & Rctl.BSIZE_MASK) >>> Rctl.BSIZE_SHIFT;
    if ((rctl & Rctl.BSEX) !== 0) return bsize === 0 ? 2048 : 16384 >> (bsize - 1);
    return 2048 >> bsize;
  }

  /** Packet split (RCTL.DTYP_PS with extended descriptors): 32-byte descriptors of four buffers. */
  private packetSplit(): boolean {
    const r = this.host.regs;
    return (r[Reg.RCTL >> 2] & Rctl.DTYP_PS) !== 0 && (r[Reg.RFCTL >> 2] & Rfctl.EXTEN) !== 0;
  }

  /** The buffer sizes of one descriptor: one from RCTL, or PSRCTL's four in packet-split mode (datasheet 10.2.5.3). */
  private bufferSizes(): number[] {
    if (!this.packetSplit()) return [this.bufferSize()];
    const p = this.host.regs[Reg.PSRCTL >> 2];
    return [(p & 0x7f) * 128, ((p >>> 8) & 0x3f) * 1024, ((p >>> 16) & 0x3f) * 1024, ((p >>> 24) & 0x3f) * 1024];
  }

  private descriptorSize(): number {
    return this.packetSplit() ? PS_DESC_SIZE : DESC_SIZE;
  }

  /** Free descriptors between RDH and RDT, or 0 when the ring is not set up. */
  freeDescriptors(): number {
    const r = this.host.regs;
    const count = Math.floor(r[Reg.RDLEN >> 2] / this.descriptorSize());
    const head = r[Reg.RDH >> 2];
    const tail = r[Reg.RDT >> 2];
    if (count === 0 || head >= count || tail >= count) return 0;
    return (tail - head + count) % count;
  }

  /** Receive one frame (Ethernet header and payload, no FCS); the causes to raise go to `raise`. */
  receive(input: Uint8Array, raise: (causes: number) => void): RxResult {
    const r = this.host.regs;
    const rctl = r[Reg.RCTL >> 2];
    if (input.length < 14 || input.length > MAX_JUMBO) return RxResult.DROPPED;
    if (input.length > MAX_FRAME && (rctl & Rctl.LPE) === 0) return RxResult.DROPPED;
    if (!this.accepts(input)) return RxResult.DROPPED;
    let frame = input.length < MIN_FRAME ? padded(input) : input;
    let vlan = 0;
    let status = 0;
    // VLAN stripping: the tag goes to the descriptor.
    if ((r[Reg.CTRL >> 2] & Ctrl.VME) !== 0 && frame.length >= 18 && be16(frame, 12) === (r[Reg.VET >> 2] & 0xffff)) {
      vlan = be16(frame, 14);
      status |= RxStatus.VP;
      const stripped = new Uint8Array(frame.length - 4);
      stripped.set(frame.subarray(0, 12));
      stripped.set(frame.subarray(16), 12);
      frame = stripped;
    }
    const csum = rxChecksum(frame, r[Reg.RXCSUM >> 2]);
    status |= csum.status;
    if ((rctl & Rctl.SECRC) === 0) frame = withFcs(frame);
    const ps = this.packetSplit();
    const sizes = this.bufferSizes();
    const perDescriptor = sizes.reduce((a, b) => a + b, 0);
    const descSize = this.descriptorSize();
    const count = Math.floor(r[Reg.RDLEN >> 2] / descSize);
    if (count === 0) return RxResult.NO_BUFFERS;
    const needed = perDescriptor === 0 ? Infinity : Math.ceil(frame.length / perDescriptor);
    if (needed >= count) {
      // It could never fit, however many buffers the driver gives.
      this.missed++;
      return RxResult.DROPPED;
    }
    if (this.freeDescriptors() < needed) return RxResult.NO_BUFFERS;
    const base = addr64(r[Reg.RDBAL >> 2], r[Reg.RDBAH >> 2]);
    const extended = (r[Reg.RFCTL >> 2] & Rfctl.EXTEN) !== 0;
    let head = r[Reg.RDH >> 2];
    let done = 0;
    for (let i = 0; i < needed; i++) {
      const at = base + head * descSize;
      const desc = this.host.dma.read(at, descSize);
      const dv = new DataView(desc.buffer);
      // The frame fills the descriptor's buffers in order (no header split: the header buffer takes the first bytes).
      const lengths = sizes.map((size, k) => {
        const chunk = frame.subarray(done, Math.min(frame.length, done + size));
        const buffer = addr64(dv.getUint32(8 * k, true), dv.getUint32(8 * k + 4, true));
        // A null buffer address: the bytes are not stored (as the datasheet allows).
        if (buffer !== 0 && chunk.length > 0) this.host.dma.write(buffer, chunk);
        done += chunk.length;
        return chunk.length;
      });
      const st = status | RxStatus.DD | (i === needed - 1 ? RxStatus.EOP : 0);
      const wb = new Uint8Array(descSize);
      const w = new DataView(wb.buffer);
      if (extended) {
        // MRQ and RSS hash 0 (no RSS); status and errors; length (of buffer 0); VLAN.
        w.setUint32(8, (st | (csum.errors << 24)) >>> 0, true);
        w.setUint16(12, lengths[0], true);
        w.setUint16(14, vlan, true);
        if (ps) {
          // Header status 0: no header split; then the lengths of buffers 1-3.
          for (let k = 1; k < 4; k++) w.setUint16(16 + 2 * k, lengths[k], true);
        }
      } else {
        w.setUint32(0, dv.getUint32(0, true), true);
        w.setUint32(4, dv.getUint32(4, true), true);
        w.setUint16(8, lengths[0], true);
        wb[12] = st;
        wb[13] = csum.errors;
        w.setUint16(14, vlan, true);
      }
      this.host.dma.write(at, wb);
      head = (head + 1) % count;
      r[Reg.RDH >> 2] = head;
    }
    this.receivedFrames++;
    this.receivedBytes += frame.length;
    let causes = Icr.RXT0;
    if (this.belowThreshold(count)) causes |= Icr.RXDMT0;
    raise(causes);
    return RxResult.RECEIVED;
  }

  /** Receive Descriptor Minimum Threshold: free descriptors at or below 1/2, 1/4 or 1/8 of the ring. */
  private belowThreshold(count: number): boolean {
    const rdmts = (this.host.regs[Reg.RCTL >> 2] >>> 8) & 3;
    return this.freeDescriptors() <= count >> (rdmts + 1);
  }

  /** The destination address filter (datasheet 7.1.1): exact addresses, multicast table, broadcast, promiscuous. */
  private accepts(f: Uint8Array): boolean {
    const r = this.host.regs;
    const rctl = r[Reg.RCTL >> 2];
    const multicast = (f[0] & 1) !== 0;
    if (multicast) {
      const broadcast = f[0] === 0xff && f[1] === 0xff && f[2] === 0xff && f[3] === 0xff && f[4] === 0xff && f[5] === 0xff;
      if (broadcast && (rctl & Rctl.BAM) !== 0) return true;
      if ((rctl & Rctl.MPE) !== 0) return true;
      if (this.exactMatch(f)) return true;
      return this.mtaMatch(f, rctl);
    }
    return (rctl & Rctl.UPE) !== 0 || this.exactMatch(f);
  }

  private exactMatch(f: Uint8Array): boolean {
    const r = this.host.regs;
    const low = (f[0] | (f[1] << 8) | (f[2] << 16) | (f[3] << 24)) >>> 0;
    const high = f[4] | (f[5] << 8);
    for (let i = 0; i < RA_ENTRIES; i++) {
      const rah = r[(Reg.RAH >> 2) + 2 * i];
      if ((rah & RAH_AV) !== 0 && r[(Reg.RAL >> 2) + 2 * i] === low && (rah & 0xffff) === high) return true;
    }
    return false;
  }

  /** The multicast table: 12 bits of the address chosen by RCTL.MO index 4096 bits of MTA. */
  private mtaMatch(f: Uint8Array, rctl: number): boolean {
    const mo = (rctl & Rctl.MO_MASK) >>> Rctl.MO_SHIFT;
    // MO 0-3 take address bits 47:36, 46:35, 45:34 or 43:32.
    const shift = [4, 3, 2, 0][mo];
    const hash = ((f[4] >> shift) | (f[5] << (8 - shift))) & 0xfff;
    const word = hash >>> 5;
    if (word >= MTA_ENTRIES) return false;
    return ((this.host.regs[(Reg.MTA >> 2) + word] >>> (hash & 31)) & 1) !== 0;
  }
}

function be16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function padded(f: Uint8Array): Uint8Array {
  const p = new Uint8Array(MIN_FRAME);
  p.set(f);
  return p;
}

/** The frame with its FCS, for a driver that keeps it (RCTL.SECRC clear). */
function withFcs(f: Uint8Array): Uint8Array {
  const out = new Uint8Array(f.length + 4);
  out.set(f);
  new DataView(out.buffer).setUint32(f.length, crc32(f), true);
  return out;
}
