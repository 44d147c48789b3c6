/*
 * Unix datagram sockets for Node, which has none (node:dgram is UDP only):
 * what -netdev dgram with local.type=unix and remote.type=unix needs, as
 * QEMU 7.2 makes them.  A Node-API module.
 *
 * Exports:
 *   open(localPath)               unlink a stale socket file, then a
 *                                 blocking AF_UNIX SOCK_DGRAM socket bound
 *                                 to the path: its descriptor, or -errno
 *   send(fd, remotePath, bytes)   one datagram to the path, never waiting
 *                                 (a full peer loses it, as a wire would):
 *                                 bytes sent, or -errno
 *   shutdown(fd)                  wake a read blocked on the descriptor (it
 *                                 returns 0) before the descriptor is closed
 * Reading is left to Node's fs.read on the descriptor, which runs in the
 * thread pool: each read returns one datagram.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <node_api.h>

static napi_value number(napi_env env, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  return v;
}

/* A string argument as a socket address; 0 when it is no string or too long for sun_path. */
static int address(napi_env env, napi_value arg, struct sockaddr_un *sa) {
  size_t len = 0;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (napi_get_value_string_utf8(env, arg, NULL, 0, &len) != napi_ok) return 0;
  if (len == 0 || len >= sizeof sa->sun_path) return 0;
  return napi_get_value_string_utf8(env, arg, sa->sun_path, sizeof sa->sun_path, &len) == napi_ok;
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sockaddr_un sa;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !address(env, argv[0], &sa)) {
    return number(env, -ENAMETOOLONG);
  }
  if (unlink(sa.sun_path) == -1 && errno != ENOENT) return number(env, -errno);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd == -1) return number(env, -errno);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
    int e = errno;
    close(fd);
    return number(env, -e);
  }
  return number(env, fd);
}

static napi_value send_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  struct sockaddr_un sa;
  void *data;
  size_t length;
  bool typed;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return number(env, -EINVAL);
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || !address(env, argv[1], &sa)) return number(env, -EINVAL);
  if (napi_is_typedarray(env, argv[2], &typed) != napi_ok || !typed) return number(env, -EINVAL);
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
    return number(env, -EINVAL);
  }
  ssize_t n = sendto(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof sa);
  return number(env, n == -1 ? -errno : (int)n);
}

static napi_value shutdown_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return number(env, -EINVAL);
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) return number(env, -EINVAL);
  return number(env, shutdown(fd, SHUT_RDWR) == -1 ? -errno : 0);
}

static void export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok) napi_set_named_property(env, exports, name, f);
}

NAPI_MODULE_INIT() {
  export(env, exports, "open", open_socket);
  export(env, exports, "send", send_datagram);
  export(env, exports, "shutdown", shutdown_socket);
  return exports;
}
