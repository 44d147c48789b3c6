/**
 * Unix datagram sockets on Node (-netdev dgram with local.type=unix and
 * remote.type=unix), from tsemu's native module native/unix-dgram.c: the
 * module opens and binds the socket and sends; Node's fs.read, in its
 * thread pool, receives one datagram per read.  Where the module is missing
 * the netdev is refused with a line saying why.
 */
import * as fs from "node:fs";
import type { DatagramSocket } from "../net/net-host.js";
import { errnoError, nativeModule } from "./native.js";

interface UnixDgramModule {
  open(localPath: string): number;
  send(fd: number, remotePath: string, bytes: Uint8Array): number;
  shutdown(fd: number): number;
}

/** QEMU's NET_BUFSIZE: no frame is longer. */
const MAX_DATAGRAM = 69632;

/**
 * A socket bound to `localPath` (a stale socket file there is replaced, as
 * QEMU does) that sends to `remotePath`; every datagram received goes to
 * `receive`.  Throws an Error with the reason when it cannot be made.
 */
export function unixDatagram(localPath: string, remotePath: string, receive: (bytes: Uint8Array) => void,
  log: (message: string) => void): DatagramSocket {
  const m = nativeModule<UnixDgramModule>("unix-dgram");
  if (m === null) throw new Error("Unix datagram sockets need tsemu's native module (scripts/build-native.sh, with a C compiler)");
  const fd = m.open(localPath);
  if (fd < 0) throw errnoError(fd);
  const buf = Buffer.alloc(MAX_DATAGRAM);
  let closed = false;
  const next = (): void => {
    fs.read(fd, buf, 0, buf.length, null, (err, n) => {
      // shutdown() ends the read in progress; only then is the descriptor closed.
      if (closed) {
        fs.close(fd, () => undefined);
        return;
      }
      if (err !== null) {
        log(`dgram socket ${localPath}: ${err.message}`);
        return;
      }
      if (n > 0) receive(new Uint8Array(buf.subarray(0, n)));
      next();
    });
  };
  next();
  return {
    // A peer that is not there, or whose queue is full, loses the frame, as a wire would.
    send: (bytes) => { if (!closed) m.send(fd, remotePath, bytes); },
    close: () => {
      if (closed) return;
      closed = true;
      m.shutdown(fd);
    },
  };
}
