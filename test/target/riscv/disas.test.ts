/**
 * Cross-check of the disassembler (and the decoder under it) against GNU
 * objdump: random encodings of every table row, every 16-bit encoding, and
 * random 32-bit words, disassembled by both and compared after a small,
 * explicit normalisation (see `normalise`).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeAt, decoded } from "../../../src/target/riscv/decode.js";
import { disassemble } from "../../../src/target/riscv/disas.js";
import { INSNS, Op, type InsnRow } from "../../../src/target/riscv/insn-table.js";
import { Rng, seedFromEnv } from "./random-insn/rng.js";
import { requireTool } from "./random-insn/tools.js";

const SEED = seedFromEnv(0xd15a5);
const PER_ROW = 300;
const RANDOM_WORDS = 20000;
const VMA = 0x10000;

/**
 * objdump -M no-aliases prints compressed instructions under their own names;
 * we print the instruction each expands to.  Operands are $0, $1, $2 of
 * objdump's operand list.
 */
const C_EXPAND: ReadonlyMap<string, string> = new Map([
  ["c.addi4spn", "addi $0,$1,$2"],
  ["c.fld", "fld $0,$1"], ["c.lw", "lw $0,$1"], ["c.ld", "ld $0,$1"],
  ["c.fsd", "fsd $0,$1"], ["c.sw", "sw $0,$1"], ["c.sd", "sd $0,$1"],
  ["c.nop", "addi zero,zero,0"],
  ["c.addi", "addi $0,$0,$1"], ["c.addiw", "addiw $0,$0,$1"], ["c.li", "addi $0,zero,$1"],
  ["c.addi16sp", "addi $0,$0,$1"], ["c.lui", "lui $0,$1"],
  ["c.srli", "srli $0,$0,$1"], ["c.srai", "srai $0,$0,$1"], ["c.slli", "slli $0,$0,$1"],
  ["c.srli64", "srli $0,$0,0x0"], ["c.srai64", "srai $0,$0,0x0"], ["c.slli64", "slli $0,$0,0x0"],
  ["c.andi", "andi $0,$0,$1"],
  ["c.sub", "sub $0,$0,$1"], ["c.xor", "xor $0,$0,$1"], ["c.or", "or $0,$0,$1"], ["c.and", "and $0,$0,$1"],
  ["c.subw", "subw $0,$0,$1"], ["c.addw", "addw $0,$0,$1"],
  ["c.j", "jal zero,$0"], ["c.beqz", "beq $0,zero,$1"], ["c.bnez", "bne $0,zero,$1"],
  ["c.fldsp", "fld $0,$1"], ["c.lwsp", "lw $0,$1"], ["c.ldsp", "ld $0,$1"],
  ["c.fsdsp", "fsd $0,$1"], ["c.swsp", "sw $0,$1"], ["c.sdsp", "sd $0,$1"],
  ["c.jr", "jalr zero,0($0)"], ["c.jalr", "jalr ra,0($0)"],
  ["c.mv", "add $0,zero,$1"], ["c.add", "add $0,$0,$1"],
  ["c.ebreak", "ebreak"],
  ["c.unimp", ".2byte 0x0"], // the all-zero halfword is defined illegal
]);

interface Sample {
  readonly lo: number;
  readonly hi: number;
  readonly pc: number;
  /** The row the encoding was generated from, if any. */
  readonly row?: InsnRow;
}

/** Split "mnem a,b,c" into mnemonic and top-level operands. */
function split(text: string): { mnem: string; ops: string[] } {
  const sp = text.indexOf(" ");
  if (sp < 0) return { mnem: text, ops: [] };
  return { mnem: text.slice(0, sp), ops: text.slice(sp + 1).split(",") };
}

/** Why an objdump line may legitimately differ from ours, or undefined when it must match exactly. */
type Verdict = { expect: string } | { accept: string };

const word = (s: Sample): number => (((s.hi << 16) | s.lo) >>> 0);

/**
 * The normalisation, in full:
 *  1. objdump's "mnem<TAB>ops", "# comment" and "<symbol>" decorations are reduced to "mnem ops";
 *  2. compressed mnemonics are expanded with C_EXPAND;
 *  3. CSR numbers objdump knows a name for, beyond the ones we name, may print as hex here;
 *  4. encodings binutils 2.40 rejects although the ISA defines them (and so do we):
 *     fcvt.d.w/fcvt.d.wu/fcvt.d.s with rm != 0 (exact conversions, rm is ignored),
 *     fence with rd/rs1 != 0 or fm other than 0 and TSO, fence.i with any of imm/rs1/rd != 0
 *     (reserved fields that implementations ignore);
 *  5. c.addi16sp with a zero immediate, which binutils accepts and the ISA reserves.
 */
function normalise(objdump: string, s: Sample, op: Op): Verdict {
  let text = objdump.replace(/\s+#.*$/, "").replace(/\s+<[^>]*>$/, "").trim().replace(/\s+/, " ");
  const { mnem, ops } = split(text);
  const expansion = C_EXPAND.get(mnem);
  if (expansion !== undefined) text = expansion.replace(/\$(\d)/g, (_, i: string) => ops[Number(i)] ?? "?");
  if (mnem === "c.addi16sp" && ops[1] === "0") return { accept: "reserved c.addi16sp 0 (binutils decodes it)" };
  if (text.startsWith(".4byte")) {
    const rm = (word(s) >>> 12) & 7;
    if ((op === Op.FCVT_D_W || op === Op.FCVT_D_WU || op === Op.FCVT_D_S) && rm !== 0) {
      return { accept: "binutils 2.40 requires rm=0 in exact conversions" };
    }
    if (op === Op.FENCE || op === Op.FENCE_I) return { accept: "binutils 2.40 rejects reserved fence fields" };
  }
  return { expect: text };
}

function csrEquivalent(ours: string, theirs: string): boolean {
  const a = split(ours);
  const b = split(theirs);
  if (a.mnem !== b.mnem || !a.mnem.startsWith("csrr") || a.ops.length !== b.ops.length) return false;
  return a.ops.every((op, i) => op === b.ops[i] || (i === 1 && /^0x[0-9a-f]+$/.test(op) && /^[a-z]/.test(b.ops[i])));
}

function objdump(tool: string, samples: readonly Sample[]): Map<number, string> {
  const dir = mkdtempSync(join(tmpdir(), "tsemu-disas-"));
  try {
    const bytes: number[] = [];
    for (const s of samples) {
      if (s.pc !== VMA + bytes.length) throw new Error("sample addresses out of step");
      bytes.push(s.lo & 0xff, s.lo >>> 8);
      if ((s.lo & 3) === 3) bytes.push(s.hi & 0xff, s.hi >>> 8);
    }
    const file = join(dir, "code.bin");
    writeFileSync(file, Uint8Array.from(bytes));
    const r = spawnSync(tool, ["-b", "binary", "-m", "riscv:rv64", "-D", "-M", "no-aliases",
      `--adjust-vma=0x${VMA.toString(16)}`, file], { encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`objdump failed: ${r.stderr}`);
    const lines = new Map<number, string>();
    for (const line of r.stdout.split("\n")) {
      const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
      if (m !== null) lines.set(parseInt(m[1], 16), m[2]);
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function buildSamples(rng: Rng): Sample[] {
  const samples: Sample[] = [];
  let pc = VMA;
  const add32 = (w: number, row?: InsnRow): void => {
    samples.push({ lo: w & 0xffff, hi: w >>> 16, pc, row });
    pc += 4;
  };
  for (const row of INSNS) {
    if (row.op === Op.UNDECODED || row.op === Op.ILLEGAL) continue;
    for (let i = 0; i < PER_ROW; i++) add32(((rng.u32() & ~row.mask) | row.match) >>> 0, row);
  }
  for (let i = 0; i < RANDOM_WORDS; i++) {
    let w = rng.u32() | 3;
    if ((w & 0x1c) === 0x1c) w &= ~0x10; // keep to 32-bit instruction lengths
    add32(w >>> 0);
  }
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 3) === 3) continue;
    samples.push({ lo: h, hi: 0, pc });
    pc += 2;
  }
  return samples;
}

test("disassembler agrees with riscv64-linux-gnu-objdump", (t) => {
  const tool = requireTool("riscv64-linux-gnu-objdump");
  const samples = buildSamples(new Rng(SEED));
  const theirs = objdump(tool, samples);
  const mismatches: string[] = [];
  const accepted = new Map<string, number>();
  const wrongRow: string[] = [];
  let compared = 0;
  for (const s of samples) {
    const raw = (s.lo & 3) === 3 ? word(s).toString(16).padStart(8, "0") : s.lo.toString(16).padStart(4, "0");
    decodeAt(s.lo, s.hi);
    const op = decoded.op;
    if (s.row !== undefined) {
      if (op !== s.row.op) wrongRow.push(`${raw}: generated from ${s.row.name}, decoded as ${INSNS[decoded.op].name}`);
    }
    const line = theirs.get(s.pc);
    if (line === undefined) {
      mismatches.push(`${raw}: objdump printed nothing at 0x${s.pc.toString(16)}`);
      continue;
    }
    const ours = disassemble(s.lo, s.hi, s.pc).text;
    const verdict = normalise(line, s, op);
    compared++;
    if ("accept" in verdict) {
      accepted.set(verdict.accept, (accepted.get(verdict.accept) ?? 0) + 1);
      continue;
    }
    if (ours === verdict.expect) continue;
    if (csrEquivalent(ours, verdict.expect)) {
      accepted.set("CSR name unknown to us", (accepted.get("CSR name unknown to us") ?? 0) + 1);
      continue;
    }
    mismatches.push(`${raw} @0x${s.pc.toString(16)}: ours '${ours}'  objdump '${line}' (normalised '${verdict.expect}')`);
  }
  t.diagnostic(`seed ${SEED}: ${compared} encodings compared (${PER_ROW} per row, ${RANDOM_WORDS} random words, all 16-bit)`);
  for (const [why, n] of accepted) t.diagnostic(`accepted difference x${n}: ${why}`);
  assert.deepEqual(wrongRow.slice(0, 30), [], "row encodings the decoder maps elsewhere");
  assert.deepEqual(mismatches.slice(0, 40), [], `${mismatches.length} mismatches`);
});

test("disassembler: fixed examples", () => {
  const d = (w: number, pc = 0x1000): string => disassemble(w & 0xffff, w >>> 16, pc).text;
  assert.equal(d(0x00c58533), "add a0,a1,a2");
  assert.equal(d(0xfe000ee3, 0x2000), "beq zero,zero,0x1ffc");
  assert.equal(d(0x0000006f, 0), "jal zero,0x0");
  assert.equal(d(0xffdff06f, 0), "jal zero,0xfffffffffffffffc");
  assert.equal(d(0x00c59553), "fadd.s fa0,fa1,fa2,rtz");
  assert.equal(d(0x00c5f553), "fadd.s fa0,fa1,fa2");
  assert.equal(d(0x00102573), "csrrs a0,fflags,zero");
  assert.equal(d(0x7c059573), "csrrw a0,0x7c0,a1");
  assert.equal(d(0x0605a52f), "amoadd.w.aqrl a0,zero,(a1)");
  assert.equal(d(0x8330000f), "fence.tso");
  assert.equal(d(0x0ff0000f), "fence iorw,iorw");
  assert.equal(d(0x0000), ".2byte 0x0");
  assert.equal(d(0xffffffff), ".4byte 0xffffffff");
  assert.deepEqual(disassemble(0x0505, 0xdead, 0), { text: "addi a0,a0,1", length: 2 });
  assert.deepEqual(disassemble(0x8082, 0, 0), { text: "jalr zero,0(ra)", length: 2 });
  assert.equal(disassemble(0xa001, 0, 2 ** 40).text, "jal zero,0x10000000000");
});
