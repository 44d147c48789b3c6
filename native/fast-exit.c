/*
 * Ending the process at once, for tsemu-riscv64.  Node's process.exit
 * first shuts its platform down, which waits for every background task to
 * finish, including TurboFan compiling the interpreter's large functions:
 * a short guest program (a static hello world) then waits 50-100 ms for
 * code that will never run.  _exit ends the process without that wait,
 * and loses nothing that process.exit would have written: neither runs the
 * event loop again, and on Linux Node writes its standard streams at once
 * (files, pipes, terminals).  A Node-API module.
 *
 * Exports:
 *   exit(status)   _exit(status); does not return
 */
#include <unistd.h>
#include <node_api.h>

static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t status = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1) {
    napi_get_value_int32(env, argv[0], &status);
  }
  _exit(status);
}

NAPI_MODULE_INIT() {
  napi_value f;
  if (napi_create_function(env, "exit", NAPI_AUTO_LENGTH, exit_now, NULL, &f) == napi_ok) {
    napi_set_named_property(env, exports, "exit", f);
  }
  return exports;
}
