/**
 * Descriptor operations Node's fs module lacks: moving a descriptor's file
 * position (lseek) and changing its status flags (fcntl F_SETFL).
 *
 * Node's WASI implementation performs both on real host descriptors: a WASI
 * instance created with `stdin: fd` maps its descriptor 0 to that host
 * descriptor, and its fd_seek and fd_fdstat_set_flags are lseek(2) and
 * fcntl(F_SETFL) on it.  A tiny hand-assembled module exports the two calls.
 * One instance is made per host descriptor and kept by the caller for as long
 * as the descriptor stays open (the instance never closes it).
 */
import { createRequire } from "node:module";
import type { WASI as WasiClass } from "node:wasi";

/** WASI errno values the callers tell apart. */
export const WASI_ESPIPE = 70;
export const WASI_ENOTCAPABLE = 76;
const WASI_ERRNO_TO_LINUX: Record<number, number> = {
  8: 9, // EBADF
  28: 22, // EINVAL
  29: 5, // EIO
  31: 21, // EISDIR
  61: 75, // EOVERFLOW
  63: 1, // EPERM
  70: 29, // ESPIPE
  76: 29, // ENOTCAPABLE: not seekable (pipe, socket, terminal)
  58: 95, // ENOTSUP
};

/** WASI fdflags bits. */
export const FDFLAG_APPEND = 1, FDFLAG_DSYNC = 2, FDFLAG_NONBLOCK = 4, FDFLAG_RSYNC = 8, FDFLAG_SYNC = 16;

type WasiCtor = typeof WasiClass;
let wasiCtor: WasiCtor | null | undefined;

/** The part of the WebAssembly JS API used here (the project's lib settings leave it undeclared). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let module: object | undefined;

/** Load node:wasi without its one-time "experimental feature" warning reaching the guest's stderr. */
function loadWasi(): WasiCtor | null {
  if (wasiCtor !== undefined) return wasiCtor;
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]): void => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (text.startsWith("WASI is an experimental feature")) return;
    (emit as (w: string | Error, ...r: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    const require = createRequire(import.meta.url);
    wasiCtor = (require("node:wasi") as { WASI: WasiCtor }).WASI;
  } catch {
    wasiCtor = null;
  } finally {
    process.emitWarning = emit;
  }
  return wasiCtor;
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const name = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];

/**
 * (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
 * (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $setfl (param i32 i32) (result i32)))
 * (memory (export "memory") 1)
 * (func (export "seek") (param i64 i32) (result i32) (call $seek (i32.const 0) (local.get 0) (local.get 1) (i32.const 8)))
 * (func (export "setflags") (param i32) (result i32) (call $setfl (i32.const 0) (local.get 0)))
 */
function buildModule(): object {
  const I32 = 0x7f, I64 = 0x7e, FUNC = 0x60;
  const wasi = "wasi_snapshot_preview1";
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [FUNC, 4, I32, I64, I32, I32, 1, I32],
      [FUNC, 2, I32, I32, 1, I32],
      [FUNC, 2, I64, I32, 1, I32],
      [FUNC, 1, I32, 1, I32],
    ])),
    ...section(2, vec([
      [...name(wasi), ...name("fd_seek"), 0x00, 0],
      [...name(wasi), ...name("fd_fdstat_set_flags"), 0x00, 1],
    ])),
    ...section(3, vec([[2], [3]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([
      [...name("memory"), 0x02, 0],
      [...name("seek"), 0x00, 2],
      [...name("setflags"), 0x00, 3],
    ])),
    ...section(10, vec([
      [...leb(12), 0, 0x41, 0, 0x20, 0, 0x20, 1, 0x41, 8, 0x10, 0, 0x0b],
      [...leb(8), 0, 0x41, 0, 0x20, 0, 0x10, 1, 0x0b],
    ])),
  ];
  return new wasm.Module(new Uint8Array(bytes));
}

interface Exports {
  memory: { buffer: ArrayBuffer };
  seek(offset: bigint, whence: number): number;
  setflags(flags: number): number;
}

/** Control of one host descriptor. */
export class HostFdControl {
  private constructor(private readonly ex: Exports) {}

  /** A controller for host descriptor fd; undefined when this host cannot provide one. */
  static open(fd: number): HostFdControl | undefined {
    const Wasi = loadWasi();
    if (Wasi === null) return undefined;
    try {
      module ??= buildModule();
      const wasi = new Wasi({ version: "preview1", stdin: fd, stdout: fd, stderr: fd, returnOnExit: true });
      const inst = new wasm.Instance(module, wasi.getImportObject());
      wasi.initialize(inst);
      return new HostFdControl(inst.exports as Exports);
    } catch {
      return undefined;
    }
  }

  /** lseek(2): the new position, or a negative Linux errno. */
  seek(offset: bigint, whence: number): bigint | number {
    const err = this.ex.seek(offset, whence);
    if (err !== 0) return -(WASI_ERRNO_TO_LINUX[err] ?? 22);
    return new DataView(this.ex.memory.buffer).getBigUint64(8, true);
  }

  /** fcntl(F_SETFL) with FDFLAG_* bits: 0 or a negative Linux errno. */
  setFlags(flags: number): number {
    const err = this.ex.setflags(flags);
    return err === 0 ? 0 : -(WASI_ERRNO_TO_LINUX[err] ?? 22);
  }
}

/**
 * Open flags Node's fs.constants leaves out, as this host's kernel numbers
 * them (0 when unknown).  Every Linux architecture Node runs on shares these.
 */
const LINUX = process.platform === "linux";
export const HOST_O_PATH = LINUX ? 0o10000000 : 0;
export const HOST_O_TMPFILE = LINUX ? 0o20000000 : 0;
