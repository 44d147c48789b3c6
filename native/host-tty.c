/*
 * Whether a host descriptor is a terminal, for tsemu-riscv64.  Node answers
 * that through node:tty, whose loading also loads net and the streams
 * (about 8 ms of a start whose output goes to /dev/null, a character device
 * that is not a terminal).  A Node-API module.
 *
 * Exports:
 *   isatty(fd)   isatty(3): true for a terminal, false otherwise
 */
#include <unistd.h>
#include <node_api.h>

static napi_value is_a_tty(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1) {
    if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) fd = -1;
  }
  napi_get_boolean(env, fd >= 0 && isatty(fd) == 1, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value f;
  if (napi_create_function(env, "isatty", NAPI_AUTO_LENGTH, is_a_tty, NULL, &f) == napi_ok) {
    napi_set_named_property(env, exports, "isatty", f);
  }
  return exports;
}
