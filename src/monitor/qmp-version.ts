/** The version the monitor reports: tsemu answers as the QEMU release whose behaviour it follows. */
import type { JsonObject } from "./json.js";

export const QEMU_VERSION = { major: 7, minor: 2, micro: 0 } as const;
/** QEMU's --with-pkgversion text: empty in an upstream build. */
export const QEMU_PACKAGE = "";

export function versionText(): string {
  return `${QEMU_VERSION.major}.${QEMU_VERSION.minor}.${QEMU_VERSION.micro}`;
}

export function versionInfo(): JsonObject {
  return { qemu: { micro: QEMU_VERSION.micro, minor: QEMU_VERSION.minor, major: QEMU_VERSION.major }, package: QEMU_PACKAGE };
}
