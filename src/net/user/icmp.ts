/** ICMP (RFC 792): echo replies for the virtual addresses. */
import { finish, put16, sum16 } from "./bytes.js";

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

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
