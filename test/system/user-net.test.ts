/**
 * `-netdev user` with the default guest (test/util/user-net.ts), run against
 * qemu-system-riscv64 (with slirp) and tsemu-system-riscv64 (its own stack).
 *
 * Settings as in boot.test.ts: TSEMU_SYSTEM_TIMEOUT_S, TSEMU_SYSTEM_LOG=1.
 */
import * as path from "node:path";
import { before, test } from "node:test";
import { envInt, repoRoot, which } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";
import { userNetScenario, virtioMmioNetScenario } from "../util/user-net.js";

const ROOT = repoRoot(import.meta.url);
const QEMU = which("qemu-system-riscv64");
const STEP_MS = envInt("TSEMU_SYSTEM_TIMEOUT_S", 180) * 1000;
const LOG = process.env.TSEMU_SYSTEM_LOG === "1";

/** name, binary (undefined: not installed), extra NIC properties. */
const EMULATORS: [string, string | undefined, string][] = [
  // QEMU's virtio-net-pci wants an option ROM Debian's qemu-system-misc lacks.
  ["qemu-system-riscv64", QEMU, ",romfile="],
  ["tsemu-system-riscv64", path.join(ROOT, "bin/tsemu-system-riscv64"), ""],
];

let images: { kernel: string; initrd: string } | undefined;
let imagesMissing = "";

before(() => {
  try {
    images = defaultGuest(ROOT);
  } catch (err) {
    imagesMissing = `the guest images are not built: ${(err as Error).message}`;
  }
});

for (const [name, emu, nicExtra] of EMULATORS) {
  test(`${name}: -netdev user: DHCP, 16 MiB from the host, nc both ways (64 MiB up), hostfwd, ping, restrict=on`, async (t) => {
    if (images === undefined) return t.skip(imagesMissing);
    if (emu === undefined) return t.skip(`${name} is not installed`);
    await userNetScenario({
      emu, nicExtra, kernel: images.kernel, initrd: images.initrd, stepMs: STEP_MS,
      log: LOG ? (s) => process.stderr.write(s) : undefined,
    }, (m) => t.diagnostic(m));
  });
}

for (const [name, emu] of EMULATORS) {
  test(`${name}: -device virtio-net-device (virtio-mmio): DHCP and 4 MiB from the host`, async (t) => {
    if (images === undefined) return t.skip(imagesMissing);
    if (emu === undefined) return t.skip(`${name} is not installed`);
    await virtioMmioNetScenario({
      emu, nicExtra: "", kernel: images.kernel, initrd: images.initrd, stepMs: STEP_MS,
      log: LOG ? (s) => process.stderr.write(s) : undefined,
    }, (m) => t.diagnostic(m));
  });
}
