/** What the protocol layers share of the stack: its configuration, the host, and IP output towards the guest. */
import type { UserNetConfig } from "./config.js";
import type { NetHost } from "./net-host.js";

export interface StackCore {
  readonly config: UserNetConfig;
  readonly host: NetHost;
  /**
   * Send an IPv4 packet to the guest (to the Ethernet broadcast address when broadcast is set).
   * `segmentSize` > 0: a TCP segment larger than the MTU, for a guest that takes them (see takesLargeTcp).
   */
  sendIp(src: number, dst: number, proto: number, payload: Uint8Array, broadcast?: boolean, segmentSize?: number): void;
  /** The guest takes TCP segments larger than the MTU now (its NIC's segmentation offload). */
  takesLargeTcp(): boolean;
  /**
   * Where a guest's outbound connection to dst goes on the host: the gateway
   * address is the host's loopback, other addresses outside the virtual
   * network are themselves; undefined when not allowed (restrict=on, other
   * virtual addresses, broadcast and multicast).
   */
  outboundTarget(dst: number): string | undefined;
  /** Remember a guest address's MAC (from ARP, IPv4 sources and DHCP acks). */
  learn(ip: number, mac: Uint8Array): void;
}

export const LOOPBACK = 0x7f000001;

/** The host-side source address a guest sees: the host's loopback appears as the gateway. */
export function guestVisibleSource(core: StackCore, address: number): number {
  return address >>> 24 === 127 ? core.config.host : address;
}
