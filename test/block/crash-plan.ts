/**
 * The crash test's workload, shared by the writer and the checker: a
 * seeded sequence of writes, zero writes and discards on 16 KiB slots of a
 * qcow2 image (and, when asked, internal snapshots created, applied and
 * deleted among them), with a flush after every FLUSH_EVERY operations.
 */
import { rng } from "./qemu-img.js";

export const SLOT = 16384;
export const SLOTS = 256;
export const IMAGE_SIZE = SLOT * SLOTS;
export const FLUSH_EVERY = 4;

export type Op = { kind: "write"; slot: number; offset: number; length: number; value: number } | { kind: "zero" | "discard"; slot: number }
  | { kind: "snapshot"; action: "create" | "apply" | "delete"; name: string };

/** The plan for `seed`; with `snapshots`, about one operation in twenty also creates, applies or deletes an internal snapshot. */
export function* plan(seed: number, snapshots = false): Generator<Op> {
  const next = rng(seed);
  const names: string[] = [];
  for (let i = 0; ; i++) {
    if (snapshots && next(20) === 0) {
      const pick = next(3);
      if (names.length === 0 || (pick === 0 && names.length < 4)) {
        names.push(`s${i}`);
        yield { kind: "snapshot", action: "create", name: `s${i}` };
      } else {
        const name = names[next(names.length)];
        if (pick === 1) yield { kind: "snapshot", action: "apply", name };
        else {
          names.splice(names.indexOf(name), 1);
          yield { kind: "snapshot", action: "delete", name };
        }
      }
      continue;
    }
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

/** Apply `op` to the expected contents (`saved`: the contents each snapshot holds). */
export function applyOp(model: Uint8Array, op: Op, saved: Map<string, Uint8Array>): void {
  if (op.kind === "snapshot") {
    if (op.action === "create") saved.set(op.name, model.slice());
    else if (op.action === "apply") model.set(saved.get(op.name) ?? new Uint8Array(model.length));
    else saved.delete(op.name);
    return;
  }
  const base = op.slot * SLOT;
  if (op.kind === "write") model.fill(op.value, base + op.offset, base + op.offset + op.length);
  else model.fill(0, base, base + SLOT);
}
