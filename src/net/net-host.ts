/**
 * What the socket backends (socket, stream, dgram) need from the host: TCP or
 * Unix stream sockets and UDP datagrams.  Defined here, implemented with Node
 * in src/host/net-sockets.ts, so that this directory stays free of Node.
 */

export type NetAddress =
  | { kind: "inet"; host: string; port: number }
  | { kind: "unix"; path: string };

/** One connected stream peer. */
export interface StreamPeer {
  /** "127.0.0.1:39272" for TCP, the path for a Unix socket. */
  readonly remote: string;
  write(bytes: Uint8Array): void;
  close(): void;
}

export interface StreamEvents {
  data(bytes: Uint8Array): void;
  /** The peer went away (or the connection failed after it was made). */
  closed(): void;
}

export interface StreamListener {
  close(): void;
}

export interface DatagramSocket {
  send(bytes: Uint8Array): void;
  close(): void;
}

export interface NetHost {
  /** Listen; every accepted peer is handed to `accept`, which returns its event handlers. Rejects with the host's reason. */
  listen(addr: NetAddress, accept: (peer: StreamPeer) => StreamEvents): Promise<StreamListener>;
  /** Connect; rejects with the host's reason ("Connection refused"). */
  connect(addr: NetAddress, events: (peer: StreamPeer) => StreamEvents): Promise<StreamPeer>;
  /** A UDP socket bound to `local`, sending to `remote`; every datagram received goes to `receive`. */
  datagram(local: NetAddress & { kind: "inet" }, remote: NetAddress & { kind: "inet" },
    receive: (bytes: Uint8Array) => void): Promise<DatagramSocket>;
  /**
   * A UDP socket on the multicast group `group` (bound to the group's port,
   * other processes may share it, our own datagrams come back as theirs do),
   * on the interface of `localAddr` when given; it sends to the group.
   */
  multicast(group: NetAddress & { kind: "inet" }, localAddr: string | undefined,
    receive: (bytes: Uint8Array) => void): Promise<DatagramSocket>;
  /** A Unix datagram socket bound to `localPath`, sending to `remotePath` (-netdev dgram with unix addresses). */
  unixDatagram(localPath: string, remotePath: string, receive: (bytes: Uint8Array) => void): Promise<DatagramSocket>;
  /** A line for the user (stderr), as QEMU's error_report. */
  log(message: string): void;
}
