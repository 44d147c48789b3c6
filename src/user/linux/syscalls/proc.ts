/** Process and thread identity and lifetime: exit, exit_group, getpid and friends. */
import { define, NO_RESULT } from "../syscall.js";
import { fs } from "../../../host/fs.js";
import { exitThread } from "./thread.js";

define(93, "exit", (p, t, a) => {
  exitThread(p, t);
  if (p.threads.every((x) => x.exited)) p.exit(a.i32(0));
  return NO_RESULT;
});
define(94, "exit_group", (p, _t, a) => {
  p.exit(a.i32(0));
  return NO_RESULT;
});
define(172, "getpid", (p) => p.pid);
define(178, "gettid", (_p, t) => t.tid);
define(173, "getppid", (p) => p.ppid);
define(174, "getuid", () => hostIds().uid);
define(175, "geteuid", () => hostIds().uid);
define(176, "getgid", () => hostIds().gid);
define(177, "getegid", () => hostIds().gid);
define(96, "set_tid_address", (_p, t, a) => {
  t.clearChildTid = a.n(0);
  return t.tid;
});
define(99, "set_robust_list", (_p, t, a) => {
  t.robustList = a.n(0);
  return 0;
});
define(166, "umask", (p, _t, a) => {
  const old = p.umask;
  p.umask = a.i32(0) & 0o777;
  return old;
});

let ids: { uid: number; gid: number } | undefined;
function hostIds(): { uid: number; gid: number } {
  if (ids === undefined) {
    const s = fs.statSync("/proc/self");
    ids = { uid: s.uid, gid: s.gid };
  }
  return ids;
}
