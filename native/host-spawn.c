/*
 * Starting a host program for tsemu-riscv64 (a guest's execve of a program
 * built for the host) without waiting for it: posix_spawn, which glibc does
 * with clone(CLONE_VM | CLONE_VFORK) and so costs the same however much
 * memory the emulator has mapped (Node's own spawn forks, which copies the
 * page tables of gigabytes of guest RAM and compiled code), and wait4 with
 * WNOHANG, which tells the emulator's loop how the program ended without
 * Node's event loop.  A Node-API module.
 *
 * Exports:
 *   spawn(file, argv, envp, fds, cwd, ignored)
 *                                      start file with argv and envp; fds[i] is
 *                                      the host descriptor that becomes its
 *                                      descriptor i (-1: /dev/null); its working
 *                                      directory is cwd; every signal but those
 *                                      in the array `ignored` (which it inherits
 *                                      as they are) at its default action.  The
 *                                      pid, or -errno.
 *   poll(pid, used)                    -1 while nothing changed; its exit status
 *                                      (0-255) once it has exited; 256 + the
 *                                      signal number once a signal has ended
 *                                      it; 512 + the signal number when a
 *                                      signal has stopped it; 768 when it has
 *                                      been continued.  Once it has ended, what
 *                                      it used (wait4's rusage) goes into the
 *                                      Float64Array `used`: user and system CPU
 *                                      ms, maxrss KiB, minor faults, voluntary
 *                                      and involuntary context switches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <node_api.h>

static napi_value number(napi_env env, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  return v;
}

static char *string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s != NULL && napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

/* A NULL-terminated array of the strings of a JS array (NULL on failure). */
static char **strings(napi_env env, napi_value arr, uint32_t *count) {
  if (napi_get_array_length(env, arr, count) != napi_ok) return NULL;
  char **out = calloc(*count + 1, sizeof *out);
  if (out == NULL) return NULL;
  for (uint32_t i = 0; i < *count; i++) {
    napi_value item;
    if (napi_get_element(env, arr, i, &item) != napi_ok || (out[i] = string(env, item)) == NULL) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

static void free_strings(char **s, uint32_t count) {
  if (s == NULL) return;
  for (uint32_t i = 0; i < count; i++) free(s[i]);
  free(s);
}

static napi_value spawn_program(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 6) return number(env, -EINVAL);
  uint32_t nargv = 0, nenvp = 0, nfds = 0;
  char *file = string(env, args[0]);
  char **argv = strings(env, args[1], &nargv);
  char **envp = strings(env, args[2], &nenvp);
  char *cwd = string(env, args[4]);
  int *fds = NULL;
  int result = -ENOMEM;
  posix_spawn_file_actions_t fa;
  int fa_made = 0;
  posix_spawnattr_t attr;
  int attr_made = 0;
  if (file == NULL || argv == NULL || envp == NULL || cwd == NULL) goto out;
  if (napi_get_array_length(env, args[3], &nfds) != napi_ok || nfds > 4096) {
    result = -EINVAL;
    goto out;
  }
  fds = calloc(nfds + 1, sizeof *fds);
  if (fds == NULL) goto out;
  int top = (int)nfds;
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value item;
    if (napi_get_element(env, args[3], i, &item) != napi_ok || napi_get_value_int32(env, item, &fds[i]) != napi_ok) {
      result = -EINVAL;
      goto out;
    }
    if (fds[i] >= top) top = fds[i] + 1;
  }
  if (posix_spawn_file_actions_init(&fa) != 0) goto out;
  fa_made = 1;
  /*
   * Each source first to a number above every source and target, then down
   * to its place: a source that is another one's target is not overwritten
   * before it is copied.
   */
  int err = 0;
  for (uint32_t i = 0; i < nfds && err == 0; i++) {
    if (fds[i] >= 0) err = posix_spawn_file_actions_adddup2(&fa, fds[i], top + (int)i);
  }
  for (uint32_t i = 0; i < nfds && err == 0; i++) {
    if (fds[i] >= 0) {
      err = posix_spawn_file_actions_adddup2(&fa, top + (int)i, (int)i);
      if (err == 0) err = posix_spawn_file_actions_addclose(&fa, top + (int)i);
    } else {
      err = posix_spawn_file_actions_addopen(&fa, (int)i, "/dev/null", O_RDWR, 0);
    }
  }
  if (err == 0) err = posix_spawn_file_actions_addchdir_np(&fa, cwd);
  /* Every signal to its default action but the ignored ones (execve's rule for the guest's dispositions). */
  uint32_t nignored = 0;
  if (err == 0 && napi_get_array_length(env, args[5], &nignored) != napi_ok) err = EINVAL;
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&defaults, sig); /* (glibc's own signals are refused: left out) */
  }
  for (uint32_t i = 0; i < nignored && err == 0; i++) {
    napi_value item;
    int sig = 0;
    if (napi_get_element(env, args[5], i, &item) != napi_ok || napi_get_value_int32(env, item, &sig) != napi_ok) err = EINVAL;
    else if (sig > 0 && sig < NSIG) sigdelset(&defaults, sig);
  }
  if (err == 0) {
    err = posix_spawnattr_init(&attr);
    if (err == 0) attr_made = 1;
  }
  if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &defaults);
  if (err == 0) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  if (err == 0) err = posix_spawn(&pid, file, &fa, &attr, argv, envp);
  result = err != 0 ? -err : (int)pid;
out:
  if (attr_made) posix_spawnattr_destroy(&attr);
  if (fa_made) posix_spawn_file_actions_destroy(&fa);
  free(fds);
  free(file);
  free(cwd);
  free_strings(argv, nargv);
  free_strings(envp, nenvp);
  return number(env, result);
}

/* The rusage of an ended program into `used` (a Float64Array of at least 6), when given one. */
static void put_usage(napi_env env, napi_value used, const struct rusage *ru) {
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, used, &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || length < 6) {
    return;
  }
  double *d = data;
  d[0] = (double)ru->ru_utime.tv_sec * 1e3 + (double)ru->ru_utime.tv_usec / 1e3;
  d[1] = (double)ru->ru_stime.tv_sec * 1e3 + (double)ru->ru_stime.tv_usec / 1e3;
  d[2] = (double)ru->ru_maxrss;
  d[3] = (double)ru->ru_minflt;
  d[4] = (double)ru->ru_nvcsw;
  d[5] = (double)ru->ru_nivcsw;
}

static napi_value poll_program(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  int32_t pid = 0;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, args[0], &pid) != napi_ok || pid <= 0) {
    return number(env, -1);
  }
  int st = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  pid_t r = wait4(pid, &st, WNOHANG | WUNTRACED | WCONTINUED, &ru);
  if (r == pid && (WIFEXITED(st) || WIFSIGNALED(st)) && argc >= 2) put_usage(env, args[1], &ru);
  if (r == pid && WIFEXITED(st)) return number(env, WEXITSTATUS(st));
  if (r == pid && WIFSIGNALED(st)) return number(env, 256 + WTERMSIG(st));
  if (r == pid && WIFSTOPPED(st)) return number(env, 512 + WSTOPSIG(st));
  if (r == pid && WIFCONTINUED(st)) return number(env, 768);
  /* Still running (or stopped); gone without a status (reaped elsewhere): as a shell would say, 127. */
  if (r < 0 && errno == ECHILD) return number(env, 127);
  return number(env, -1);
}

static void export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok) {
    napi_set_named_property(env, exports, name, f);
  }
}

NAPI_MODULE_INIT() {
  export(env, exports, "spawn", spawn_program);
  export(env, exports, "poll", poll_program);
  return exports;
}
