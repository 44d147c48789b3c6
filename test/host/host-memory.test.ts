/** Huge-page advice for guest RAM (native/host-memory.c, src/host/host-memory.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { nativeModule } from "../../src/host/native.js";
import { adviseHugePages } from "../../src/host/host-memory.js";

interface HostMemoryModule {
  hugePages(bytes: unknown): number;
}

const EINVAL = 22;
const thp = fs.existsSync("/sys/kernel/mm/transparent_hugepage/enabled");

/** How many of this process's mappings carry MADV_HUGEPAGE ("hg" in VmFlags). */
function advisedMappings(): number {
  return fs.readFileSync("/proc/self/smaps", "utf8").split("\n")
    .filter((l) => l.startsWith("VmFlags:") && l.split(/\s+/).includes("hg")).length;
}

test("the bytes of a guest RAM buffer are advised, and keep their contents", { skip: process.platform !== "linux" }, () => {
  const m = nativeModule<HostMemoryModule>("host-memory");
  assert.ok(m !== null, "dist/native/host-memory.node is built (scripts/build-native.sh)");
  const memory = new WebAssembly.Memory({ initial: 1024, maximum: 1024, shared: true }); // 64 MiB
  const ram = new Uint8Array(memory.buffer);
  for (let i = 0; i < ram.length; i += 1 << 20) ram[i] = (i >>> 20) + 1;
  const before = advisedMappings();
  const status = m.hugePages(ram.subarray(4096));
  if (!thp) {
    assert.equal(status, -EINVAL);
    return;
  }
  assert.equal(status, 0);
  // The advised range lies inside the memory's mapping, which the kernel splits around it.
  assert.ok(advisedMappings() > before, "a mapping with VmFlags hg appeared");
  for (let i = 0; i < ram.length; i += 1 << 20) assert.equal(ram[i], ((i >>> 20) + 1) & 0xff);
  assert.equal(adviseHugePages(new Uint8Array(new ArrayBuffer(8 << 20))), true);
});

test("anything but a Uint8Array is refused with EINVAL, and a range without a whole huge page is left alone", { skip: process.platform !== "linux" }, () => {
  const m = nativeModule<HostMemoryModule>("host-memory");
  assert.ok(m !== null);
  for (const bad of [undefined, 42, "ram", {}, new ArrayBuffer(16), new Uint32Array(16), new DataView(new ArrayBuffer(16))]) {
    assert.equal(m.hugePages(bad), -EINVAL);
  }
  assert.equal(m.hugePages(new Uint8Array(4096)), 0);
});
