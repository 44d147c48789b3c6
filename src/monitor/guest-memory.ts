/**
 * Guest memory as a debugger reads it (QEMU's cpu_memory_rw_debug and
 * address_space_read): virtual addresses through the hart's page tables,
 * without side effects on them; and memsave/pmemsave.
 */
import type { MachineControl, MonitorHost } from "./machine.js";
import { QmpError } from "./qmp-error.js";

const PAGE = 4096n;
const MASK64 = (1n << 64n) - 1n;
/** The most memsave/pmemsave will write in one go (RAM is below 2 GiB anyway). */
export const MAX_SAVE = 2 ** 31;

/** Physical bytes; where nothing answers, zeros (as a debug read through QEMU's memory API gives). */
export function readPhysicalLenient(m: MachineControl, addr: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const at = (addr + BigInt(done)) & MASK64;
    const chunk = Math.min(length - done, Number(PAGE - (at % PAGE)));
    const bytes = m.readPhysical(at, chunk);
    if (bytes !== undefined) out.set(bytes, done);
    done += chunk;
  }
  return out;
}

/**
 * Bytes at virtual `addr` as hart `cpu` sees them for a data read now;
 * undefined when a page of the range does not translate.
 */
export function readVirtual(m: MachineControl, cpu: number, addr: bigint, length: number): Uint8Array | undefined {
  const view = m.cpu(cpu);
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const at = (addr + BigInt(done)) & MASK64;
    const chunk = Math.min(length - done, Number(PAGE - (at % PAGE)));
    const pa = view.translate(at);
    if (pa === undefined) return undefined;
    out.set(readPhysicalLenient(m, pa, chunk), done);
    done += chunk;
  }
  return out;
}

/** "Could not open 'x': No such file or directory", as QEMU's error_setg_file_open. */
function save(host: MonitorHost, filename: string, data: Uint8Array): void {
  try {
    host.writeFile(filename, data);
  } catch (e) {
    throw new QmpError("GenericError", `Could not open '${filename}': ${(e as Error).message}`);
  }
}

function invalid(addr: bigint, size: bigint): QmpError {
  return new QmpError("GenericError",
    `Invalid addr 0x${(addr & MASK64).toString(16).padStart(16, "0")}/size ${size} specified`);
}

/** memsave: `size` bytes of virtual memory at `addr`, as hart `cpu` sees it, to `filename`. */
export function memsave(m: MachineControl, host: MonitorHost, cpu: number, addr: bigint, size: bigint, filename: string): void {
  if (size < 0n || size > BigInt(MAX_SAVE)) throw invalid(addr, size);
  const data = readVirtual(m, cpu, addr, Number(size));
  if (data === undefined) throw invalid(addr, size);
  save(host, filename, data);
}

/** pmemsave: physical memory; where nothing answers the file gets zeros, as QEMU's. */
export function pmemsave(m: MachineControl, host: MonitorHost, addr: bigint, size: bigint, filename: string): void {
  if (size < 0n || size > BigInt(MAX_SAVE)) throw invalid(addr, size);
  save(host, filename, readPhysicalLenient(m, addr & MASK64, Number(size)));
}
