/**
 * The link between a network frontend (a NIC: virtio-net, later e1000e) and a
 * backend (a netdev: user-mode NAT, socket, stream, dgram), as QEMU pairs a
 * NetClientState with its peer.  Frames are Ethernet frames without the FCS.
 *
 * Flow control: a backend hands frames to the frontend with `deliver`; when
 * the frontend has no receive buffers it returns false and keeps nothing, and
 * the backend holds the frame (bounded) until the frontend calls the backend's
 * `resume`.  A frontend never refuses frames it sends: `send` takes the frame
 * whatever the backend does with it (drops it when it cannot forward it).
 *
 * Offloads (QEMU's vnet header between a virtio-net and a tap): a backend
 * with `offloads` set takes IPv4 TCP segments larger than the link's MTU from
 * the guest, and sends such segments towards a frontend that `takesLargeTcp()`.
 * Checksums are always complete in a frame crossing this link, either way.
 */

/** The frontend's side, as a backend sees it. */
export interface NetFrontend {
  /**
   * A frame for the guest; false when the guest has no buffer for it now (nothing was taken).
   * `segmentSize` > 0 marks an IPv4 TCP segment larger than the MTU, which the guest treats as
   * segments of that many payload bytes (only while `takesLargeTcp()` says so).
   */
  deliver(frame: Uint8Array, segmentSize?: number): boolean;
  /** The guest takes IPv4 TCP segments larger than the MTU now (virtio-net's GUEST_TSO4, as negotiated). */
  takesLargeTcp?(): boolean;
}

/** A backend (`-netdev TYPE,id=ID,...`), as a frontend sees it. */
export interface NetBackend {
  /** The netdev's id= (QEMU's NetClientState name). */
  readonly id: string;
  /** The -netdev type: "user", "socket", "stream", "dgram". */
  readonly type: string;
  /**
   * The backend takes IPv4 TCP segments larger than the MTU and may send them (see above),
   * so a frontend may offer checksum and segmentation offload to the guest.
   */
  readonly offloads?: boolean;
  /** The frontend takes this backend's frames (one frontend per backend, as QEMU's peer). */
  attach(frontend: NetFrontend): void;
  /** A frame from the guest. */
  send(frame: Uint8Array): void;
  /** The frontend has receive buffers again: deliver what was held. */
  resume(): void;
  /** The text after "ID: index=0,type=TYPE," in HMP `info network` (QEMU's info_str). */
  info(): string;
  /** Close host sockets and timers; nothing is delivered afterwards. */
  close(): void;
  /** HMP hostfwd_add (user backends): RULE as -netdev user's hostfwd=; settles once the host port is bound, or rejects with NetdevError. */
  hostfwdAdd?(rule: string): Promise<void>;
  /** HMP hostfwd_remove: `[tcp|udp]:[hostaddr]:hostport`; throws NetdevError. */
  hostfwdRemove?(rule: string): void;
}

/** A bad -netdev option or monitor request: the message is the one line the user sees. */
export class NetdevError extends Error {}
