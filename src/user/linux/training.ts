/**
 * The program tsemu-riscv64's start-up bundle is trained on.
 *
 * V8 compiles a function to bytecode the first time it is called, and a
 * code cache made of a script that has not run holds only its top level:
 * every function a run calls is parsed and compiled again at each start
 * (about 4 ms of `hello`'s 110).  So scripts/build-bundle.mjs runs the
 * bundle on this program before it makes the cache, and the cache then
 * holds what a program's start reaches.
 *
 * A static riscv64 Linux program, generated: the system calls a C library
 * makes as a program starts and stops (those of glibc's static start, then
 * files, memory, signals, time), and in between every unprivileged
 * instruction of the table in both sizes, across a page boundary, in a
 * loop.  Not any one program of the tests or benchmarks: what all of them
 * share.  Its output is one line on standard output; it exits with 0.
 */
import { Op, INSNS } from "../../target/riscv/insn-table.js";
import { encodeOp, wordsToBytes } from "../../target/riscv/encode.js";
import { Rng, acrossPage, compressed, li, use } from "../../system/warm-up.js";
import { buildElf } from "./elf-writer.js";

const CODE = 0x10000;
const DATA = 0x200000;
const DATA_SIZE = 0x10000;
/** In the data: the strings, the area the instructions load from and store to (x31 at its middle), x27's 64 bytes, the system calls' buffers. */
const PATH = 0, MESSAGE = 32, EMPTY = 64;
const SCRATCH = 0x1800, SECOND = 0x3000, BUF = 0x4000, READLINK_BUF = 0x5000, READ_BUF = 0x6000;
const MESSAGE_TEXT = "tsemu start-up training\n";
/** Times round the loop of instructions. */
const ROUNDS = 16;
/** The unprivileged floating-point CSR the program's CSR instructions use (fflags: any value is valid). */
const USER_CSRS = [0x001];
/** CSRs it only reads: frm, fcsr, cycle, time, instret. */
const READ_CSRS = [0x002, 0x003, 0xc00, 0xc01, 0xc02];

const I = encodeOp;
const A0 = 10, A7 = 17, X_FD = 26, X_SECOND = 27, X_COUNT = 29, X_DATA = 31;
const AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, TCGETS = 0x5401, MAP_PRIVATE_ANONYMOUS = 0x22, FUTEX_WAKE_PRIVATE = 129;

/** An argument: a number (put in the register with li) or a register's value ({ reg }). */
type Arg = number | { reg: number };

/** A system call: a0-a5 from `args`, a7 the number, ecall. */
function sys(nr: number, ...args: Arg[]): number[] {
  const words: number[] = [];
  args.forEach((a, i) => {
    if (typeof a === "number") words.push(...li(A0 + i, a));
    else words.push(I(Op.ADDI, { rd: A0 + i, rs1: a.reg, imm: 0 }));
  });
  words.push(...li(A7, nr), INSNS[Op.ECALL].match);
  return words;
}

/** What glibc's static start does before main (brk, TLS and robust list, limits, /proc/self/exe, randomness, RELRO). */
function start(): number[] {
  return [
    ...sys(214, 0), I(Op.ADDI, { rd: A0, rs1: A0, imm: 0x7f0 }), ...sys(214, { reg: A0 }),
    ...sys(96, DATA + BUF), ...sys(99, DATA + BUF + 0x10, 24), ...sys(261, 0, 3, 0, DATA + BUF + 0x20),
    ...sys(78, AT_FDCWD, DATA + PATH, DATA + READLINK_BUF, 4096), ...sys(278, DATA + BUF + 0x40, 8, 1),
    ...sys(226, DATA + 0x8000, 0x1000, 3), ...sys(79, 1, DATA + EMPTY, DATA + BUF + 0x100, AT_EMPTY_PATH),
    ...sys(29, 1, TCGETS, DATA + BUF + 0x200),
  ];
}

/** What a program's main and exit commonly ask: time, ids, signals, a file read, an anonymous mapping, output. */
function calls(): number[] {
  return [
    ...sys(160, DATA + BUF + 0x300), ...sys(113, 1, DATA + BUF + 0x400), ...sys(113, 0, DATA + BUF + 0x400),
    ...sys(172), ...sys(174), ...sys(178),
    ...sys(135, 0, DATA + BUF + 0x500, DATA + BUF + 0x580, 8), ...sys(134, 2, 0, DATA + BUF + 0x600, 8),
    ...sys(56, AT_FDCWD, DATA + PATH, 0), I(Op.ADDI, { rd: X_FD, rs1: A0, imm: 0 }),
    ...sys(63, { reg: X_FD }, DATA + READ_BUF, 64), ...sys(80, { reg: X_FD }, DATA + BUF + 0x100),
    ...sys(62, { reg: X_FD }, 0, 0), ...sys(57, { reg: X_FD }),
    ...sys(222, 0, 0x10000, 3, MAP_PRIVATE_ANONYMOUS, -1, 0), I(Op.ADDI, { rd: X_FD, rs1: A0, imm: 0 }),
    I(Op.SD, { rs1: X_FD, rs2: X_FD, imm: 8 }), ...sys(215, { reg: X_FD }, 0x10000),
    ...sys(98, DATA + BUF, FUTEX_WAKE_PRIVATE, 1),
    ...sys(64, 1, DATA + MESSAGE, MESSAGE_TEXT.length),
  ];
}

/** The loop: each unprivileged row of the table, the compressed forms, ROUNDS times. */
function loop(rng: Rng, at: number): number[] {
  const words = [...li(X_COUNT, ROUNDS)];
  const top = at + 4 * words.length;
  const rows = INSNS.filter((row) => row.ext !== "Priv" && row.op !== Op.ECALL && row.op !== Op.EBREAK &&
    row.op !== Op.ILLEGAL && row.op !== Op.UNDECODED);
  for (const row of rows) {
    acrossPage(words, at + 4 * words.length, rng);
    words.push(...use(row, rng, USER_CSRS));
  }
  for (const csr of READ_CSRS) words.push(I(Op.CSRRS, { rd: rng.rd(), rs1: 0, imm: csr }));
  words.push(...compressed(rng));
  words.push(I(Op.ADDI, { rd: X_COUNT, rs1: X_COUNT, imm: -1 }), I(Op.BEQ, { rs1: X_COUNT, rs2: 0, imm: 8 }));
  words.push(I(Op.JAL, { rd: 0, imm: top - (at + 4 * words.length) }));
  return words;
}

/** The program as an ELF file. */
export function trainingProgram(): Uint8Array {
  const rng = new Rng();
  const words = [...li(X_DATA, DATA + SCRATCH + 2048), ...li(X_SECOND, DATA + SECOND), ...start()];
  words.push(...loop(rng, CODE + 4 * words.length));
  words.push(...calls(), ...sys(94, 0));
  const code = wordsToBytes(words);
  const data = new Uint8Array(EMPTY + 1);
  const ascii = (at: number, text: string): void => data.set([...text].map((c) => c.charCodeAt(0)), at);
  ascii(PATH, "/proc/self/exe");
  ascii(MESSAGE, MESSAGE_TEXT);
  return buildElf({ code, codeAddr: CODE, data, dataAddr: DATA, dataMemSize: DATA_SIZE });
}
