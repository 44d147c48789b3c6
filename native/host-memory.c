/*
 * Advice to the host kernel about guest RAM.  A guest's first store to a
 * page of its RAM is a page fault of tsemu's process; with 4 KiB pages a
 * booting Linux guest takes tens of thousands of them, and on some hosts
 * (virtual machines above all) each costs several microseconds.
 * MADV_HUGEPAGE asks for transparent huge pages there (2 MiB on x86-64 and
 * arm64), as QEMU asks for its RAM blocks, where the host's
 * /sys/kernel/mm/transparent_hugepage/enabled is "madvise" (or "always").
 * A Node-API module.
 *
 * Exports:
 *   hugePages(view)   madvise(MADV_HUGEPAGE) over the whole huge pages
 *                     inside the bytes of a typed array (of an ArrayBuffer
 *                     or a SharedArrayBuffer); returns 0, or a negative
 *                     errno (-EINVAL where the kernel has no THP)
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <node_api.h>

/* The largest huge page size in use on Linux's main 64-bit ports: ranges are aligned to it. */
#define HUGE_ALIGN ((uintptr_t)2 << 20)

static napi_value huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  int32_t status = -EINVAL;
  napi_typedarray_type type;
  size_t length, offset;
  void *data = NULL;
  napi_value buffer;
  bool is_typedarray = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1 &&
      napi_is_typedarray(env, argv[0], &is_typedarray) == napi_ok && is_typedarray &&
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) == napi_ok &&
      type == napi_uint8_array && data != NULL) {
    uintptr_t start = ((uintptr_t)data + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
    uintptr_t end = ((uintptr_t)data + length) & ~(HUGE_ALIGN - 1);
    status = 0;
#ifdef MADV_HUGEPAGE
    if (end > start && madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) status = -errno;
#else
    status = -EINVAL;
#endif
  }
  napi_create_int32(env, status, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value f;
  if (napi_create_function(env, "hugePages", NAPI_AUTO_LENGTH, huge_pages, NULL, &f) == napi_ok) {
    napi_set_named_property(env, exports, "hugePages", f);
  }
  return exports;
}
