/**
 * From the library's MachineConfig to a SystemSpec: every image loaded
 * (bytes, a URL through fetch, a file through the host), every option in
 * QEMU's syntax parsed, every value checked, with the command line's error
 * lines.
 */
import type { BlockBackend } from "../block/block.js";
import { ConfigError, type DriveConfig, type ImageSource, type MachineConfig } from "./machine-config.js";
import type { MachineHost } from "./machine-host.js";
import type { LoadedDrive } from "./drives.js";
import type { SystemSpec } from "./virt-system.js";
import { isAccel, parseAccel, type Accel } from "../accel/engine.js";
import { OptionError, parseDeviceSpec, parseObjectSpec, parseNetdevSpec, parseNicSpec, parseRamSize, type NicOption } from "./option-syntax.js";

/** A URL scheme (two letters at least, so that a DOS drive letter is not one). */
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]+:/;

function isUrl(src: ImageSource): src is URL | string {
  return src instanceof URL || (typeof src === "string" && SCHEME.test(src));
}

function sourceName(src: ImageSource): string {
  if (src instanceof URL) return src.href;
  if (typeof src === "string") return src;
  return "(bytes)";
}

/** The bytes of an image; ConfigError "WHAT NAME: reason" when they cannot be had. */
export async function loadImage(what: string, src: ImageSource, host: MachineHost): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  const name = sourceName(src);
  try {
    if (isUrl(src)) {
      const url = new URL(src);
      if (url.protocol === "file:") {
        if (host.readFile === undefined) throw new Error("this host has no files");
        return await host.readFile(decodeURIComponent(url.pathname));
      }
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}${response.statusText === "" ? "" : ` ${response.statusText}`}`);
      return new Uint8Array(await response.arrayBuffer());
    }
    if (host.readFile === undefined) throw new Error("this host has no files: give the bytes or a URL");
    return await host.readFile(src);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${what} ${name}: ${(e as Error).message}`);
  }
}

function isBackend(x: DriveConfig["image"]): x is BlockBackend {
  return typeof x === "object" && !(x instanceof Uint8Array) && !(x instanceof ArrayBuffer) && !(x instanceof URL);
}

function oneOf<T extends string>(what: string, v: T | undefined, allowed: readonly T[]): void {
  if (v !== undefined && !allowed.includes(v)) throw new ConfigError(`${what}=${String(v)}: expected ${allowed.join(", ")}`);
}

async function loadDrive(d: DriveConfig, index: number, host: MachineHost): Promise<LoadedDrive> {
  oneOf("-drive format", d.format, ["raw", "qcow2"]);
  oneOf("-drive if", d.interface, ["virtio", "none"]);
  oneOf("-drive cache", d.cache, ["writeback", "writethrough", "none", "directsync", "unsafe"]);
  oneOf("-drive discard", d.discard, ["ignore", "unmap"]);
  oneOf("-drive detect-zeroes", d.detectZeroes, ["off", "on", "unmap"]);
  oneOf("-drive file.locking", d.locking, ["on", "off", "auto"]);
  const src = d.image;
  if (isBackend(src)) return { ...d, image: src };
  if (typeof src === "string" && !isUrl(src)) return { ...d, image: { path: src } };
  const bytes = await loadImage("-drive file=", src, host);
  const name = src instanceof Uint8Array || src instanceof ArrayBuffer ? d.id ?? `drive${index}` : sourceName(src);
  return { ...d, image: { bytes, name } };
}

/** -accel: the engine, its properties applied to the translator (as the command line's -accel does). */
function accelOf(arg: unknown): Accel {
  if (typeof arg !== "string") throw new ConfigError(`-accel: expected a string such as "tcg" or "interp", not ${typeof arg}`);
  const r = parseAccel(arg);
  if (!isAccel(r)) throw new ConfigError(`-accel ${arg}: ${r}`);
  return r;
}

function ramSize(memory: number | string | undefined): number {
  if (memory === undefined) return 128 * 1024 * 1024;
  if (typeof memory === "number") {
    if (!Number.isSafeInteger(memory) || memory <= 0) throw new ConfigError(`-m ${memory}: invalid RAM size (expected bytes, or e.g. "256M")`);
    return Math.floor(memory / 4096) * 4096;
  }
  return parseRamSize(memory);
}

/** The spec for VirtSystem.create; ConfigError with one line when something is wrong. */
export async function loadConfig(c: MachineConfig, host: MachineHost): Promise<SystemSpec> {
  try {
    const nics: NicOption[] = [];
    let netNone = false;
    for (const n of c.nics ?? []) {
      const nic = parseNicSpec(n);
      if (nic === undefined) netNone = true;
      else nics.push(nic);
    }
    const firmware = c.firmware === "none" ? undefined
      : c.firmware === undefined || c.firmware === "default" ? await host.defaultFirmware() : await loadImage("-bios", c.firmware, host);
    const optional = (what: string, src: ImageSource | undefined): Promise<Uint8Array | undefined> =>
      src === undefined ? Promise.resolve(undefined) : loadImage(what, src, host);
    oneOf("-M virt,aia", c.aia, ["none", "aplic", "aplic-imsic"]);
    if (c.icount !== undefined && (!Number.isInteger(c.icount) || c.icount < 0 || c.icount > 10)) {
      throw new ConfigError(`-icount ${c.icount}: shift must be a whole number from 0 to 10`);
    }
    const rtcBase = c.rtcBase instanceof Date ? c.rtcBase.getTime() : c.rtcBase;
    if (rtcBase !== undefined && !Number.isFinite(rtcBase)) throw new ConfigError("-rtc base: not a valid date");
    return {
      ramSize: ramSize(c.memory), smp: c.cpus ?? 1, aia: c.aia ?? "none",
      firmware, kernel: await optional("-kernel", c.kernel), initrd: await optional("-initrd", c.initrd),
      dtb: await optional("-dtb", c.dtb), append: c.append,
      drives: await Promise.all((c.drives ?? []).map((d, i) => loadDrive(d, i, host))), snapshot: c.snapshot === true,
      devices: (c.devices ?? []).map(parseDeviceSpec), iothreads: (c.objects ?? []).map(parseObjectSpec), netdevs: (c.netdevs ?? []).map(parseNetdevSpec), nics, netNone,
      icountShift: c.icount, rtcBase, rtcClockVm: c.rtcClock === undefined ? undefined : c.rtcClock === "vm",
      startPaused: c.startPaused === true, noReboot: c.noReboot === true, noShutdown: c.noShutdown === true,
      accel: c.accel === undefined ? undefined : accelOf(c.accel), name: c.name, debug: c.debug ?? [], log: c.log, warn: c.warn,
    };
  } catch (e) {
    if (e instanceof OptionError) throw new ConfigError(e.message);
    throw e;
  }
}
