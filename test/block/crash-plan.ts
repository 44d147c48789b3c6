/**
 * The crash test's workload, shared by the writer and the checker: a
 * seeded sequence of writes, zero writes and discards on 16 KiB slots of a
 * qcow2 image, with a flush after every FLUSH_EVERY operations.
 */
import { rng } from "./qemu-img.js";

export const SLOT = 16384;
export const SLOTS = 256;
export const IMAGE_SIZE = SLOT * SLOTS;
export const FLUSH_EVERY = 4;

export type Op = { kind: "write"; slot: number; offset: number; length: number; value: number } | { kind: "zero" | "discard"; slot: number };

export function* plan(seed: number): Generator<Op> {
  const next = rng(seed);
  for (let i = 0; ; i++) {
    const slot = next(SLOTS);
    const k = next(10);
    if (k < 7) {
      const offset = next(SLOT);
      yield { kind: "write", slot, offset, length: 1 + next(SLOT - offset), value: 1 + (i % 255) };
    } else {
      yield { kind: k < 9 ? "zero" : "discard", slot };
    }
  }
}

/** Apply `op` to the expected contents. */
export function applyOp(model: Uint8Array, op: Op): void {
  const base = op.slot * SLOT;
  if (op.kind === "write") model.fill(op.value, base + op.offset, base + op.offset + op.length);
  else model.fill(0, base, base + SLOT);
}
