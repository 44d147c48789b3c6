/** The tests' ELF executables: the writer the start-up training program uses too. */
export { buildElf, type ElfSpec } from "../../src/user/linux/elf-writer.js";
