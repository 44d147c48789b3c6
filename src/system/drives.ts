/**
 * The machine's disks (-drive): each image opened, wrapped in QEMU's drive
 * settings (cache=, discard=, detect-zeroes=) and, with snapshot, an
 * overlay; named as QEMU names them for the devices and the monitor.
 */
import type { BlockBackend, BlockImage } from "../block/block.js";
import { DEFAULT_DRIVE, Drive } from "../block/drive.js";
import { memoryImage, memoryOverlay } from "../block/memory-host.js";
import { ConfigError, type DriveConfig } from "./machine-config.js";
import type { MachineHost } from "./machine-host.js";

/** A drive as the monitor lists it (query-block, info block). */
export interface DriveInfo {
  /** id=, or "virtio0", "virtio1" ... for if=virtio drives (QEMU's names). */
  name: string;
  /** The image's name: its path, its URL, or a name given to bytes. */
  path: string;
  readOnly: boolean;
  snapshot: boolean;
  backend: BlockBackend;
  /** The device it is attached to, once one is. */
  qdev?: string;
}

export interface Drives {
  byId: Map<string, BlockBackend>;
  /** The ids of the if=virtio drives (virtio0, virtio1, ...), in order. */
  virtio: string[];
  all: BlockBackend[];
  info: DriveInfo[];
}

/** A drive's image as the loader left it: a backend of the caller's, bytes, or a path for the host to open. */
export type LoadedDrive = Omit<DriveConfig, "image"> & { image: BlockBackend | { bytes: Uint8Array; name: string } | { path: string } };

function isBackend(x: LoadedDrive["image"]): x is BlockBackend {
  return typeof (x as BlockBackend).read === "function";
}

/** The image's text for messages, as -drive file= names it. */
export function driveName(d: LoadedDrive): string {
  const i = d.image;
  return isBackend(i) ? d.id ?? "(block backend)" : "path" in i ? i.path : i.name;
}

function openOne(d: LoadedDrive, snapshot: boolean, host: MachineHost, warn: (line: string) => void): BlockBackend {
  const i = d.image;
  const readOnly = d.readOnly === true || snapshot;
  if (isBackend(i)) {
    if (snapshot) throw new ConfigError(`-drive ${driveName(d)}: snapshot needs an image, not a block backend`);
    return i;
  }
  const settings = { ...DEFAULT_DRIVE, cache: d.cache ?? DEFAULT_DRIVE.cache, discard: d.discard ?? DEFAULT_DRIVE.discard,
    detectZeroes: d.detectZeroes ?? DEFAULT_DRIVE.detectZeroes };
  let image: BlockImage;
  try {
    if ("path" in i) {
      if (host.openDriveFile === undefined) throw new Error("this host has no files: give the disk as bytes, a URL or a block backend");
      image = host.openDriveFile(i.path, { ...d, readOnly, snapshot, image: i.path }, warn);
    } else {
      image = memoryImage(i.name, i.bytes, { format: d.format, readOnly, warn });
    }
    if (snapshot) image = host.temporaryOverlay?.(image) ?? memoryOverlay(image);
  } catch (e) {
    throw new ConfigError(`-drive file=${driveName(d)}: ${(e as Error).message}`);
  }
  return new Drive(image, settings);
}

/**
 * Open a drive elsewhere (an iothread's worker) when it belongs there:
 * returns its stand-in, or undefined to open it here.
 */
export type RemoteOpen = (drive: LoadedDrive, name: string, snapshot: boolean) => BlockBackend | undefined;

export function openDrives(list: readonly LoadedDrive[], snapshotAll: boolean, host: MachineHost, warn: (line: string) => void,
  remote?: RemoteOpen): Drives {
  const d: Drives = { byId: new Map(), virtio: [], all: [], info: [] };
  let virtioIndex = 0;
  try {
    for (const drive of list) {
      const where = driveName(drive);
      const iface = drive.interface ?? "virtio";
      if (iface === "none" && drive.id === undefined) throw new ConfigError(`-drive file=${where},if=none: needs id=NAME for -device ...,drive=NAME`);
      const snapshot = (snapshotAll || drive.snapshot === true) && drive.readOnly !== true;
      const name = iface === "none" ? drive.id ?? "" : drive.id ?? `virtio${virtioIndex++}`;
      const backend = remote?.(drive, name, snapshot) ?? openOne(drive, snapshot, host, warn);
      d.all.push(backend);
      d.info.push({ name, path: where, readOnly: drive.readOnly === true, snapshot, backend });
      if (d.byId.has(name)) throw new ConfigError(`-drive id=${name}: duplicate drive id`);
      d.byId.set(name, backend);
      if (iface !== "none") d.virtio.push(name);
    }
  } catch (e) {
    closeDrives(d);
    throw e;
  }
  return d;
}

/** Flush and close every drive (the guest's flushed data is already on disk; this is the rest). */
export function closeDrives(d: Drives): void {
  for (const b of d.all) {
    try { b.flush(); b.close(); } catch { /* the guest's data was already flushed where it asked */ }
  }
}

/** The format of the drive's image (of the image under the overlay with snapshot). */
export function imageFormat(d: DriveInfo): string {
  const remote = (d.backend as { format?: unknown }).format;
  if (typeof remote === "string") return remote;
  if (!(d.backend instanceof Drive)) return "raw";
  const image = d.snapshot ? d.backend.image.backing ?? d.backend.image : d.backend.image;
  return image.format;
}
