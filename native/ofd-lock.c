/*
 * Open-file-description byte locks for Node (fcntl F_OFD_SETLK and
 * F_OFD_GETLK), which Node's fs module lacks.  tsemu takes them on disk
 * images the way QEMU's file driver does, so that tsemu and QEMU processes
 * see each other's use of an image.  A Node-API module, so that one build
 * serves every Node version.
 *
 * Exports, each taking a descriptor and a byte offset, locking one byte:
 *   lock(fd, offset)    take a shared (read) lock; 0 or -errno
 *   unlock(fd, offset)  drop it; 0 or -errno
 *   test(fd, offset)    whether another open file description holds a lock
 *                       that an exclusive lock would conflict with: 1 held,
 *                       0 free, -errno on failure
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <node_api.h>

static int ofd(int fd, int cmd, short type, int64_t offset) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = (off_t)offset;
  fl.l_len = 1;
  if (fcntl(fd, cmd, &fl) == -1) return -errno;
  if (cmd == F_OFD_GETLK) return fl.l_type == F_UNLCK ? 0 : 1;
  return 0;
}

/* The two arguments as numbers; 0 when they are not (the call then fails with -EINVAL). */
static int args(napi_env env, napi_callback_info info, int32_t *fd, int64_t *offset) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return 0;
  if (napi_get_value_int32(env, argv[0], fd) != napi_ok) return 0;
  if (napi_get_value_int64(env, argv[1], offset) != napi_ok) return 0;
  return *fd >= 0 && *offset >= 0;
}

static napi_value result(napi_env env, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  return v;
}

static napi_value call(napi_env env, napi_callback_info info, int cmd, short type) {
  int32_t fd;
  int64_t offset;
  if (!args(env, info, &fd, &offset)) return result(env, -EINVAL);
  return result(env, ofd(fd, cmd, type, offset));
}

static napi_value lock(napi_env env, napi_callback_info info) { return call(env, info, F_OFD_SETLK, F_RDLCK); }
static napi_value unlock(napi_env env, napi_callback_info info) { return call(env, info, F_OFD_SETLK, F_UNLCK); }
static napi_value test(napi_env env, napi_callback_info info) { return call(env, info, F_OFD_GETLK, F_WRLCK); }

static void export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok) napi_set_named_property(env, exports, name, f);
}

NAPI_MODULE_INIT() {
  export(env, exports, "lock", lock);
  export(env, exports, "unlock", unlock);
  export(env, exports, "test", test);
  return exports;
}
