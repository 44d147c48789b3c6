/** ICMP (RFC 792): echo replies for the virtual addresses. */
import { finish, put16, sum16 } from "./bytes.js";

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_DEST_UNREACHABLE = 3;

/** Destination unreachable (code 0 net, 1 host, 3 port) quoting an IPv4 header and 8 bytes of its payload. */
export function destinationUnreachable(code: number, quoted: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + quoted.length);
  b[0] = ICMP_DEST_UNREACHABLE;
  b[1] = code;
  b.set(quoted, 8);
  put16(b, 2, finish(sum16(b, 0, b.length)));
  return b;
}

/** The reply to a valid echo request (same id, sequence and data), or undefined. */
export function echoReply(request: Uint8Array): Uint8Array | undefined {
  if (request.length < 8 || request[0] !== ICMP_ECHO_REQUEST || request[1] !== 0) return undefined;
  if (finish(sum16(request, 0, request.length)) !== 0) return undefined;
  const reply = request.slice();
  reply[0] = ICMP_ECHO_REPLY;
  put16(reply, 2, 0);
  put16(reply, 2, finish(sum16(reply, 0, reply.length)));
  return reply;
}
