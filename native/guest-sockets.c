/*
 * The socket calls of a tsemu-riscv64 guest, made on the host as
 * qemu-riscv64 makes them: a guest socket is a host socket (Unix, IPv4,
 * IPv6, netlink...), so its behaviour is the host kernel's.  Socket
 * addresses, socket options and control messages have the same layout for
 * riscv64 as for the 64-bit little-endian hosts Node runs on, so they pass
 * as bytes.  Nothing here ever waits: the calls that could are made with
 * MSG_DONTWAIT or with O_NONBLOCK set for the call, and the emulator parks
 * the guest thread in its scheduler and asks poll() when to try again.
 * Descriptors it makes are close-on-exec on the host (the guest's own
 * close-on-exec flag is kept by the emulator).  A Node-API module.
 *
 * Exports (each returns -errno on failure):
 *   socket(domain, type, protocol)             the new descriptor
 *   socketpair(domain, type, protocol, fds)    0; fds (Int32Array) gets both
 *   bind(fd, addr) / connect(fd, addr)         0 (connect never waits:
 *                                              -EINPROGRESS or -EAGAIN)
 *   listen(fd, backlog) / shutdown(fd, how)    0
 *   accept(fd, addr, lens)                     the new descriptor; addr gets
 *                                              the peer's address and lens[0]
 *                                              its full length
 *   name(fd, peer, addr, lens)                 getsockname (peer false) or
 *                                              getpeername, as accept fills
 *   setsockopt(fd, level, name, value)         0
 *   getsockopt(fd, level, name, out, lens)     0; lens[0] the length
 *   sendmsg(fd, addr|null, data, control|null, flags)
 *                                              bytes sent
 *   recvmsg(fd, data, addr, control, flags, out)
 *                                              bytes received; out[0] the
 *                                              address length, out[1] the
 *                                              control length, out[2] msg_flags
 *   poll(fds, events, revents, timeoutMs)      poll(2) over Int32Arrays:
 *                                              the number of ready ones
 *
 * addr, data, control, value and out are Uint8Arrays; lens, fds, events and
 * revents Int32Arrays.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_ARGS 6

static napi_value number(napi_env env, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  return v;
}

struct bytes {
  void *data;
  size_t length;
};

/* A typed array's memory: its bytes, or for an Int32Array its elements (false when v is neither). */
static bool typed(napi_env env, napi_value v, napi_typedarray_type want, struct bytes *out) {
  bool is = false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  if (napi_get_typedarray_info(env, v, &type, &out->length, &out->data, &buffer, &offset) != napi_ok) return false;
  if (type != want) return false;
  if (out->data == NULL) out->data = &out->length; /* an empty array: any valid address */
  return true;
}

static bool is_null(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

/* The call's arguments; false when there are fewer than n. */
static bool args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = MAX_ARGS;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= n;
}

static bool int_arg(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static napi_value result(napi_env env, long r) {
  return number(env, r == -1 ? -errno : (int)r);
}

/* Set O_NONBLOCK on fd for one call; the flags to put back, or -1 when they need no putting back. */
static int nonblock_begin(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl == -1 || (fl & O_NONBLOCK) != 0) return -1;
  return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : fl;
}

static void nonblock_end(int fd, int saved) {
  if (saved == -1) return;
  int e = errno;
  fcntl(fd, F_SETFL, saved);
  errno = e;
}

static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t domain, type, protocol;
  if (!args(env, info, 3, a) || !int_arg(env, a[0], &domain) || !int_arg(env, a[1], &type) ||
      !int_arg(env, a[2], &protocol)) return number(env, -EINVAL);
  return result(env, socket(domain, type | SOCK_CLOEXEC, protocol));
}

static napi_value js_socketpair(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t domain, type, protocol;
  struct bytes fds;
  if (!args(env, info, 4, a) || !int_arg(env, a[0], &domain) || !int_arg(env, a[1], &type) ||
      !int_arg(env, a[2], &protocol) || !typed(env, a[3], napi_int32_array, &fds) || fds.length < 2) {
    return number(env, -EINVAL);
  }
  return result(env, socketpair(domain, type | SOCK_CLOEXEC, protocol, (int *)fds.data));
}

/* bind (connect false) or connect to the address in a[1]. */
static napi_value address_call(napi_env env, napi_callback_info info, bool connecting) {
  napi_value a[MAX_ARGS];
  int32_t fd;
  struct bytes addr;
  if (!args(env, info, 2, a) || !int_arg(env, a[0], &fd) || !typed(env, a[1], napi_uint8_array, &addr)) {
    return number(env, -EINVAL);
  }
  if (!connecting) return result(env, bind(fd, (struct sockaddr *)addr.data, (socklen_t)addr.length));
  int saved = nonblock_begin(fd);
  int r = connect(fd, (struct sockaddr *)addr.data, (socklen_t)addr.length);
  nonblock_end(fd, saved);
  return result(env, r);
}

static napi_value js_bind(napi_env env, napi_callback_info info) {
  return address_call(env, info, false);
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  return address_call(env, info, true);
}

/* listen (which 0) or shutdown (which 1) with one integer argument. */
static napi_value fd_int_call(napi_env env, napi_callback_info info, int which) {
  napi_value a[MAX_ARGS];
  int32_t fd, n;
  if (!args(env, info, 2, a) || !int_arg(env, a[0], &fd) || !int_arg(env, a[1], &n)) return number(env, -EINVAL);
  return result(env, which == 0 ? listen(fd, n) : shutdown(fd, n));
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  return fd_int_call(env, info, 0);
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  return fd_int_call(env, info, 1);
}

static napi_value js_accept(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t fd;
  struct bytes addr, lens;
  if (!args(env, info, 3, a) || !int_arg(env, a[0], &fd) || !typed(env, a[1], napi_uint8_array, &addr) ||
      !typed(env, a[2], napi_int32_array, &lens) || lens.length < 1) return number(env, -EINVAL);
  socklen_t len = (socklen_t)addr.length;
  int saved = nonblock_begin(fd);
  int r = accept4(fd, (struct sockaddr *)addr.data, &len, SOCK_CLOEXEC);
  nonblock_end(fd, saved);
  ((int32_t *)lens.data)[0] = (int32_t)len;
  return result(env, r);
}

static napi_value js_name(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t fd;
  bool peer;
  struct bytes addr, lens;
  if (!args(env, info, 4, a) || !int_arg(env, a[0], &fd) || napi_get_value_bool(env, a[1], &peer) != napi_ok ||
      !typed(env, a[2], napi_uint8_array, &addr) || !typed(env, a[3], napi_int32_array, &lens) || lens.length < 1) {
    return number(env, -EINVAL);
  }
  socklen_t len = (socklen_t)addr.length;
  int r = peer ? getpeername(fd, (struct sockaddr *)addr.data, &len) : getsockname(fd, (struct sockaddr *)addr.data, &len);
  ((int32_t *)lens.data)[0] = (int32_t)len;
  return result(env, r);
}

static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t fd, level, name;
  struct bytes value;
  if (!args(env, info, 4, a) || !int_arg(env, a[0], &fd) || !int_arg(env, a[1], &level) ||
      !int_arg(env, a[2], &name) || !typed(env, a[3], napi_uint8_array, &value)) return number(env, -EINVAL);
  return result(env, setsockopt(fd, level, name, value.data, (socklen_t)value.length));
}

static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t fd, level, name;
  struct bytes out, lens;
  if (!args(env, info, 5, a) || !int_arg(env, a[0], &fd) || !int_arg(env, a[1], &level) ||
      !int_arg(env, a[2], &name) || !typed(env, a[3], napi_uint8_array, &out) ||
      !typed(env, a[4], napi_int32_array, &lens) || lens.length < 1) return number(env, -EINVAL);
  socklen_t len = (socklen_t)out.length;
  int r = getsockopt(fd, level, name, out.data, &len);
  ((int32_t *)lens.data)[0] = (int32_t)len;
  return result(env, r);
}

static napi_value js_sendmsg(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t fd, flags;
  struct bytes addr = { NULL, 0 }, data, control = { NULL, 0 };
  if (!args(env, info, 5, a) || !int_arg(env, a[0], &fd) || !typed(env, a[2], napi_uint8_array, &data) ||
      !int_arg(env, a[4], &flags)) return number(env, -EINVAL);
  if (!is_null(env, a[1]) && !typed(env, a[1], napi_uint8_array, &addr)) return number(env, -EINVAL);
  if (!is_null(env, a[3]) && !typed(env, a[3], napi_uint8_array, &control)) return number(env, -EINVAL);
  struct iovec iov = { data.data, data.length };
  struct msghdr msg = {
    .msg_name = addr.length > 0 ? addr.data : NULL, .msg_namelen = (socklen_t)addr.length,
    .msg_iov = &iov, .msg_iovlen = 1,
    .msg_control = control.length > 0 ? control.data : NULL, .msg_controllen = control.length,
  };
  return result(env, sendmsg(fd, &msg, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
}

static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  int32_t fd, flags;
  struct bytes data, addr, control, out;
  if (!args(env, info, 6, a) || !int_arg(env, a[0], &fd) || !typed(env, a[1], napi_uint8_array, &data) ||
      !typed(env, a[2], napi_uint8_array, &addr) || !typed(env, a[3], napi_uint8_array, &control) ||
      !int_arg(env, a[4], &flags) || !typed(env, a[5], napi_int32_array, &out) || out.length < 3) {
    return number(env, -EINVAL);
  }
  struct iovec iov = { data.data, data.length };
  struct msghdr msg = {
    .msg_name = addr.length > 0 ? addr.data : NULL, .msg_namelen = (socklen_t)addr.length,
    .msg_iov = &iov, .msg_iovlen = 1,
    .msg_control = control.length > 0 ? control.data : NULL, .msg_controllen = control.length,
  };
  ssize_t n = recvmsg(fd, &msg, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  int32_t *o = (int32_t *)out.data;
  o[0] = (int32_t)msg.msg_namelen;
  o[1] = (int32_t)msg.msg_controllen;
  o[2] = msg.msg_flags;
  return result(env, n);
}

static napi_value js_poll(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  struct bytes fds, events, revents;
  int32_t timeout;
  if (!args(env, info, 4, a) || !typed(env, a[0], napi_int32_array, &fds) ||
      !typed(env, a[1], napi_int32_array, &events) || !typed(env, a[2], napi_int32_array, &revents) ||
      !int_arg(env, a[3], &timeout) || events.length < fds.length || revents.length < fds.length) {
    return number(env, -EINVAL);
  }
  size_t n = fds.length;
  struct pollfd *p = calloc(n > 0 ? n : 1, sizeof *p);
  if (p == NULL) return number(env, -ENOMEM);
  for (size_t i = 0; i < n; i++) {
    p[i].fd = ((int32_t *)fds.data)[i];
    p[i].events = (short)((int32_t *)events.data)[i];
  }
  int r = poll(p, n, timeout);
  int e = errno;
  for (size_t i = 0; i < n; i++) ((int32_t *)revents.data)[i] = r > 0 ? p[i].revents : 0;
  free(p);
  errno = e;
  return result(env, r);
}

static void export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok) napi_set_named_property(env, exports, name, f);
}

NAPI_MODULE_INIT() {
  export(env, exports, "socket", js_socket);
  export(env, exports, "socketpair", js_socketpair);
  export(env, exports, "bind", js_bind);
  export(env, exports, "connect", js_connect);
  export(env, exports, "listen", js_listen);
  export(env, exports, "shutdown", js_shutdown);
  export(env, exports, "accept", js_accept);
  export(env, exports, "name", js_name);
  export(env, exports, "setsockopt", js_setsockopt);
  export(env, exports, "getsockopt", js_getsockopt);
  export(env, exports, "sendmsg", js_sendmsg);
  export(env, exports, "recvmsg", js_recvmsg);
  export(env, exports, "poll", js_poll);
  return exports;
}
