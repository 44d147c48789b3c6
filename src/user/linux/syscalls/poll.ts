/**
 * ppoll and pselect6.  With no descriptors they wait for a signal or the
 * timeout (this is how glibc's pause() and sleep-like waits reach the
 * kernel).  Readiness comes from readiness.ts (exact for pipes and
 * eventfds); while nothing is ready the thread waits in the scheduler and
 * asks again every few milliseconds until the timeout.
 */
import { define, NO_RESULT } from "../syscall.js";
import { Errno } from "../errno.js";
import { Prot } from "../address-space.js";
import type { Process } from "../process.js";
import type { Thread } from "../thread.js";
import { HostWaits, readiness } from "../readiness.js";
import { parkOnHost } from "../signal.js";
import { nowMs } from "../../../host/time.js";

// The poll bits have the same values as the epoll ones readiness() answers in.
const POLLIN = 1, POLLOUT = 4, POLLHUP = 0x10, POLLNVAL = 0x20;

/**
 * Nothing was ready: look again in a moment, keeping the call's deadline
 * across its retries (as epoll_pwait does); 0 once the deadline has passed.
 */
function pollAgain(t: Thread, ms: number, waits: HostWaits): typeof NO_RESULT | number {
  const now = nowMs();
  const call = t.cpu.pc - 4;
  if (t.callWait === undefined || t.callWait.pc !== call) t.callWait = { pc: call, deadline: now + ms };
  if (now >= t.callWait.deadline) {
    t.callWait = undefined;
    return 0;
  }
  parkOnHost(t, Math.min(2, t.callWait.deadline - now), waits.fds, waits.events);
  return NO_RESULT;
}

function timeoutMs(p: Process, addr: number): number {
  if (addr === 0) return Infinity;
  return Number(p.as.readU64(addr)) * 1000 + Number(p.as.readU64(addr + 8)) / 1e6;
}

/** Block the thread until a signal arrives or ms pass (then it returns 0). */
function waitForSignal(p: Process, t: Thread, ms: number, maskAddr: number): typeof NO_RESULT | number {
  if (ms === 0) return 0;
  if (maskAddr !== 0) {
    t.savedMask = t.sigmask;
    t.sigmask = p.as.readU64(maskAddr);
  }
  t.wait = { kind: "pause", addr: 0, bitset: 0, deadline: nowMs() + ms };
  // A timeout wakes the thread with -ETIMEDOUT in a0; ppoll reports it as 0.
  t.onTimeout = 0;
  return NO_RESULT;
}

define(73, "ppoll", (p, t, a) => {
  const fds = a.n(0);
  const nfds = a.n(1);
  if (nfds > p.fds.limit) return -Errno.EINVAL;
  if (!p.as.check(fds, nfds * 8, Prot.READ | Prot.WRITE)) return -Errno.EFAULT;
  const ts = a.n(2);
  if (ts !== 0 && !p.as.check(ts, 16, Prot.READ)) return -Errno.EFAULT;
  let ready = 0;
  const waits = new HostWaits();
  for (let i = 0; i < nfds; i++) {
    const at = fds + i * 8;
    const fd = p.as.readU32(at) | 0;
    const events = p.as.read(at + 4, 2);
    const want = events[0] | (events[1] << 8);
    let revents = 0;
    if (fd >= 0) {
      const f = p.fds.get(fd);
      revents = f === undefined ? POLLNVAL : readiness(f, (want & (POLLIN | POLLOUT)) | POLLHUP);
      if (f !== undefined) waits.add(f, want & (POLLIN | POLLOUT));
      if (revents !== 0) ready++;
    }
    p.as.write(at + 6, Uint8Array.of(revents & 0xff, revents >> 8));
  }
  if (ready > 0) {
    t.callWait = undefined;
    return ready;
  }
  if (nfds > 0) return pollAgain(t, timeoutMs(p, ts), waits);
  return waitForSignal(p, t, timeoutMs(p, ts), a.n(3));
});

define(72, "pselect6", (p, t, a) => {
  const nfds = a.i32(0);
  if (nfds < 0) return -Errno.EINVAL;
  const sets = [a.n(1), a.n(2), a.n(3)];
  const bytes = Math.ceil(nfds / 64) * 8;
  let ready = 0;
  let asked = 0;
  const results: Uint8Array[] = [];
  const waits = new HostWaits();
  // Read, write and exception sets: what each asks, as readiness bits.
  const wants = [POLLIN, POLLOUT, 0];
  for (let k = 0; k < 3; k++) {
    const s = sets[k];
    const out = new Uint8Array(bytes);
    results.push(out);
    if (s === 0) continue;
    if (!p.as.check(s, bytes, Prot.READ | Prot.WRITE)) return -Errno.EFAULT;
    const bits = p.as.read(s, bytes);
    for (let fd = 0; fd < nfds; fd++) {
      if ((bits[fd >> 3] & (1 << (fd & 7))) === 0) continue;
      const f = p.fds.get(fd);
      if (f === undefined) return -Errno.EBADF;
      asked++;
      if (wants[k] !== 0) waits.add(f, wants[k]);
      if (wants[k] !== 0 && readiness(f, wants[k]) !== 0) {
        out[fd >> 3] |= 1 << (fd & 7);
        ready++;
      }
    }
  }
  const ts = a.n(4);
  if (ready > 0 || (asked > 0 && ts !== 0 && timeoutMs(p, ts) === 0)) {
    for (let k = 0; k < 3; k++) if (sets[k] !== 0) p.as.write(sets[k], results[k]);
    t.callWait = undefined;
    return ready;
  }
  if (asked > 0) {
    const r = pollAgain(t, timeoutMs(p, ts), waits);
    if (r === 0) for (let k = 0; k < 3; k++) if (sets[k] !== 0) p.as.write(sets[k], results[k]);
    return r;
  }
  let maskAddr = 0;
  const sig = a.n(5);
  if (sig !== 0 && p.as.check(sig, 16, Prot.READ)) maskAddr = Number(p.as.readU64(sig));
  return waitForSignal(p, t, timeoutMs(p, ts), maskAddr);
});
