/*
 * Host signals for tsemu-riscv64's guest, as qemu-riscv64 passes the signals
 * it receives to its guest.  Node handles signals only in its event loop,
 * which the emulator does not return to while the guest runs, so this module
 * installs plain handlers that note each signal (and whether the kernel sent
 * it, as a terminal's Ctrl-C is sent, or a process did, with kill) in words
 * that the emulator's loop takes between slices of guest code.  A Node-API
 * module.
 *
 * Exports:
 *   catch(signals)  handle each signal number in the array (SA_RESTART, so the
 *                   host calls the emulator makes are not cut short)
 *   take()          the signals noted since the last call, as an array of
 *                   signal numbers, each + 256 when the kernel sent it
 *   release()       put the default action back for every signal caught
 *   stop(signo)     stop this process with the stop signal signo (SIGTSTP,
 *                   SIGTTIN, SIGTTOU) by its default action, so that the
 *                   parent sees why (a shell: "Stopped (tty input)"), then
 *                   put its handler back; returns once the process is
 *                   continued (at once when the kernel discards the signal,
 *                   as it does for an orphaned process group)
 *   noCoreDump()    set the soft core file size limit to 0, before tsemu dies
 *                   of the signal its guest died of, so that no core file of
 *                   the emulator is left; until then the guest has the limit
 *                   tsemu was started with, as under qemu-riscv64 (which
 *                   lowers its own after writing the guest's core file)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <node_api.h>

#define MAX_SIGNAL 64

static volatile sig_atomic_t noted[MAX_SIGNAL + 1];
static volatile sig_atomic_t from_kernel[MAX_SIGNAL + 1];
static int caught[MAX_SIGNAL + 1];

static void handler(int sig, siginfo_t *info, void *context) {
  (void)context;
  if (sig <= 0 || sig > MAX_SIGNAL) return;
  from_kernel[sig] = info != NULL && info->si_code > 0;
  noted[sig] = 1;
}

/* The call's one argument, or NULL when it has none. */
static napi_value only_arg(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value arg;
  if (napi_get_cb_info(env, cb, &argc, &arg, NULL, NULL) != napi_ok || argc < 1) return NULL;
  return arg;
}

static napi_value catch_signals(napi_env env, napi_callback_info cb) {
  napi_value list = only_arg(env, cb);
  uint32_t n = 0;
  if (list == NULL || napi_get_array_length(env, list, &n) != napi_ok) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    int32_t sig = 0;
    if (napi_get_element(env, list, i, &item) != napi_ok || napi_get_value_int32(env, item, &sig) != napi_ok) continue;
    if (sig <= 0 || sig > MAX_SIGNAL) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) == 0) caught[sig] = 1;
  }
  return NULL;
}

static napi_value take_signals(napi_env env, napi_callback_info cb) {
  (void)cb;
  napi_value out;
  napi_create_array(env, &out);
  uint32_t k = 0;
  for (int sig = 1; sig <= MAX_SIGNAL; sig++) {
    if (!noted[sig]) continue;
    noted[sig] = 0;
    napi_value v;
    napi_create_int32(env, sig + (from_kernel[sig] ? 256 : 0), &v);
    napi_set_element(env, out, k++, v);
  }
  return out;
}

static napi_value release_signals(napi_env env, napi_callback_info cb) {
  (void)env;
  (void)cb;
  for (int sig = 1; sig <= MAX_SIGNAL; sig++) {
    if (!caught[sig]) continue;
    signal(sig, SIG_DFL);
    caught[sig] = 0;
  }
  return NULL;
}

static napi_value stop_with(napi_env env, napi_callback_info cb) {
  napi_value arg = only_arg(env, cb);
  int32_t sig = 0;
  if (arg == NULL || napi_get_value_int32(env, arg, &sig) != napi_ok) return NULL;
  if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) return NULL;
  struct sigaction dfl, old;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  if (sigaction(sig, &dfl, &old) != 0) return NULL;
  /* The signal is delivered to this thread before raise returns: the process stops there. */
  raise(sig);
  sigaction(sig, &old, NULL);
  return NULL;
}

static napi_value no_core_dump(napi_env env, napi_callback_info cb) {
  (void)env;
  (void)cb;
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) == 0) {
    core.rlim_cur = 0;
    setrlimit(RLIMIT_CORE, &core);
  }
  return NULL;
}

static void export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok) {
    napi_set_named_property(env, exports, name, f);
  }
}

NAPI_MODULE_INIT() {
  export(env, exports, "catch", catch_signals);
  export(env, exports, "take", take_signals);
  export(env, exports, "release", release_signals);
  export(env, exports, "stop", stop_with);
  export(env, exports, "noCoreDump", no_core_dump);
  return exports;
}
