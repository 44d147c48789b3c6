/**
 * The part of the WebAssembly JavaScript API that tsemu uses (Node has it
 * as a global; the Node type definitions of this version do not declare it).
 */
declare namespace WebAssembly {
  /** A shared memory (maximum required) has a SharedArrayBuffer as its buffer. */
  interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  interface TableDescriptor { element: "anyfunc"; initial: number; maximum?: number }
  /** A table of function references (translated code calls through one). */
  class Table {
    constructor(descriptor: TableDescriptor);
    readonly length: number;
    grow(delta: number): number;
    set(index: number, value: unknown): void;
  }
  type ImportValue = Memory | Table | ((...args: number[]) => number | void);
  type Imports = Record<string, Record<string, ImportValue>>;
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }
  function compile(bytes: Uint8Array): Promise<Module>;
  function validate(bytes: Uint8Array): boolean;
  class CompileError extends Error {}
}
