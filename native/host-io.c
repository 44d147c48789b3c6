/*
 * Reads of host files that would wait for the disk, for tsemu-riscv64: a
 * guest thread whose read is not in the host's page cache is parked while
 * a host thread of this module reads, so that the guest's other threads and
 * processes run meanwhile (Linux parks only the thread that waits).  Node's
 * own asynchronous reads answer through its event loop, which does not turn
 * while guest code runs.  A Node-API module.
 *
 * Exports:
 *   readNowait(fd, buffer, position)   preadv2(2) with RWF_NOWAIT into the
 *       Uint8Array buffer, at position or (-1) at the file position: the
 *       bytes read, or -errno (-EAGAIN: the data is not in memory yet)
 *   startRead(fd, length, position, notifyFd)   a host thread reads up to
 *       length bytes (pread at position, or read at the file position when
 *       it is -1), then writes 1 to the eventfd notifyFd: a handle
 *   startSync(fd, datasync, notifyFd)   a host thread makes fsync(2) (or
 *       fdatasync(2)), then writes 1 to notifyFd: a handle
 *   readResult(handle, buffer)   null while that call goes on; then the
 *       bytes read, copied into buffer (0 for a sync), or -errno
 *   eventfd()   a non-blocking, close-on-exec eventfd(2): its descriptor, or -errno
 *   drain(fd)   read an eventfd's count, so that poll no longer finds it ready
 *   fadvise(fd, offset, length, advice)   posix_fadvise(2): 0 or -errno
 *
 * A handle the JavaScript side drops while its read goes on (the guest
 * process was killed) is freed by the thread when the read ends.  On a host
 * other than Linux, readNowait gives -EOPNOTSUPP and eventfd -ENOSYS (the
 * callers then make their calls at once), and fadvise does nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif
#include <unistd.h>
#include <node_api.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

enum { RUNNING, DONE, ABANDONED };
enum { OP_READ, OP_FSYNC, OP_FDATASYNC };

struct job {
  int op;
  int fd;
  int notify_fd;
  int64_t position;
  size_t length;
  ssize_t result;
  int state;
  uint8_t *data;
};

static napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static int args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= want;
}

/** Four arguments: an int32, two int64s and an int32 (startRead's and fadvise's). */
static int four_args(napi_env env, napi_callback_info info, int32_t *a, int64_t *b, int64_t *c, int32_t *d) {
  napi_value argv[4];
  return args(env, info, 4, argv) && napi_get_value_int32(env, argv[0], a) == napi_ok &&
         napi_get_value_int64(env, argv[1], b) == napi_ok && napi_get_value_int64(env, argv[2], c) == napi_ok &&
         napi_get_value_int32(env, argv[3], d) == napi_ok;
}

static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, length, &p, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "a Uint8Array expected");
    return 0;
  }
  *data = p;
  return 1;
}

static napi_value read_nowait(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  int64_t position;
  uint8_t *data;
  size_t length;
  if (!args(env, info, 3, argv) || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &position) != napi_ok || !bytes_of(env, argv[1], &data, &length)) {
    return number(env, -EINVAL);
  }
#ifdef __linux__
  struct iovec iov = {data, length};
  ssize_t n;
  do n = preadv2(fd, &iov, 1, position < 0 ? -1 : position, RWF_NOWAIT); while (n < 0 && errno == EINTR);
  return number(env, n < 0 ? -errno : (double)n);
#else
  (void)fd;
  (void)position;
  (void)data;
  (void)length;
  return number(env, -EOPNOTSUPP);
#endif
}

static void *job_thread(void *arg) {
  struct job *job = arg;
  ssize_t n;
  do {
    if (job->op == OP_FSYNC) n = fsync(job->fd);
#ifdef __linux__
    else if (job->op == OP_FDATASYNC) n = fdatasync(job->fd);
#else
    else if (job->op == OP_FDATASYNC) n = fsync(job->fd);
#endif
    else if (job->position < 0) n = read(job->fd, job->data, job->length);
    else n = pread(job->fd, job->data, job->length, (off_t)job->position);
  } while (n < 0 && errno == EINTR);
  job->result = n < 0 ? -errno : n;
  close(job->fd);
  int notify_fd = job->notify_fd;
  int expected = RUNNING;
  if (!__atomic_compare_exchange_n(&job->state, &expected, DONE, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    // Abandoned: nobody will ask for the result.
    free(job->data);
    free(job);
    return NULL;
  }
  uint64_t one = 1;
  ssize_t w = write(notify_fd, &one, sizeof one);
  (void)w;
  return NULL;
}

static void finalize_job(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct job *job = data;
  int expected = RUNNING;
  if (__atomic_compare_exchange_n(&job->state, &expected, ABANDONED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
  free(job->data);
  free(job);
}

/** A job for a thread of its own, on a duplicate of fd: its handle, or NULL with an exception thrown. */
static napi_value start_job(napi_env env, int op, int fd, int64_t length, int64_t position, int notify_fd) {
  napi_value handle;
  // A descriptor of the thread's own (the same open file and position): a guest that closes its descriptor
  // meanwhile cannot make the thread use a file opened later under the same number.
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) {
    napi_throw_error(env, "EBADF", strerror(errno));
    return NULL;
  }
  struct job *job = calloc(1, sizeof *job);
  uint8_t *data = malloc(length > 0 ? (size_t)length : 1);
  if (job == NULL || data == NULL) {
    close(own);
    free(job);
    free(data);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  *job = (struct job){op, own, notify_fd, position, (size_t)length, 0, RUNNING, data};
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&thread, &attr, job_thread, job);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    close(own);
    free(data);
    free(job);
    napi_throw_error(env, "EAGAIN", strerror(err));
    return NULL;
  }
  if (napi_create_external(env, job, finalize_job, NULL, &handle) != napi_ok) return NULL;
  return handle;
}

static napi_value start_read(napi_env env, napi_callback_info info) {
  int32_t fd, notify_fd;
  int64_t position, length;
  if (!four_args(env, info, &fd, &length, &position, &notify_fd) || length < 0) {
    napi_throw_type_error(env, NULL, "startRead(fd, length, position, notifyFd)");
    return NULL;
  }
  return start_job(env, OP_READ, fd, length, position, notify_fd);
}

static napi_value start_sync(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, notify_fd;
  bool datasync;
  if (!args(env, info, 3, argv) || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_bool(env, argv[1], &datasync) != napi_ok || napi_get_value_int32(env, argv[2], &notify_fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "startSync(fd, datasync, notifyFd)");
    return NULL;
  }
  return start_job(env, datasync ? OP_FDATASYNC : OP_FSYNC, fd, 0, 0, notify_fd);
}

static napi_value read_result(napi_env env, napi_callback_info info) {
  napi_value argv[2], r;
  struct job *job;
  uint8_t *data;
  size_t length;
  if (!args(env, info, 2, argv) || napi_get_value_external(env, argv[0], (void **)&job) != napi_ok ||
      !bytes_of(env, argv[1], &data, &length)) {
    return number(env, -EINVAL);
  }
  if (__atomic_load_n(&job->state, __ATOMIC_ACQUIRE) != DONE) {
    napi_get_null(env, &r);
    return r;
  }
  if (job->result < 0) return number(env, (double)job->result);
  size_t n = (size_t)job->result < length ? (size_t)job->result : length;
  memcpy(data, job->data, n);
  return number(env, (double)n);
}

static napi_value make_eventfd(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __linux__
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return number(env, fd < 0 ? -errno : fd);
#else
  return number(env, -ENOSYS);
#endif
}

static napi_value drain(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  uint64_t count = 0;
  if (!args(env, info, 1, argv) || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return number(env, -EINVAL);
  ssize_t n = read(fd, &count, sizeof count);
  return number(env, n < 0 ? -errno : (double)count);
}

static napi_value fadvise(napi_env env, napi_callback_info info) {
  int32_t fd, advice;
  int64_t offset, length;
  if (!four_args(env, info, &fd, &offset, &length, &advice)) return number(env, -EINVAL);
#ifdef __linux__
  return number(env, -posix_fadvise(fd, offset, length, advice));
#else
  (void)fd;
  (void)offset;
  (void)length;
  (void)advice;
  return number(env, 0);
#endif
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback cb; } fns[] = {
    {"readNowait", read_nowait}, {"startRead", start_read}, {"startSync", start_sync}, {"readResult", read_result},
    {"eventfd", make_eventfd}, {"drain", drain}, {"fadvise", fadvise},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f) == napi_ok) {
      napi_set_named_property(env, exports, fns[i].name, f);
    }
  }
  return exports;
}
