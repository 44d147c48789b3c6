/**
 * The host process's working directory and file-creation mask.  The guest's
 * relative paths are resolved by the host kernel against the host's working
 * directory, so chdir moves the host's, and the scheduler puts each guest
 * process's own back before it runs (useCwd); the guest's umask is installed
 * as the host's before anything is created, so the host applies exactly the
 * guest's.
 */
export function cwd(): string {
  return process.cwd();
}

/** Change the working directory; the new one, or a Node-style error (with `code`) thrown. */
export function chdir(dir: string): string {
  process.chdir(dir);
  return process.cwd();
}

/**
 * Make `dir` the working directory again, before a process that has it runs
 * (a no-op when it already is; a directory removed meanwhile leaves it as it is).
 */
export function useCwd(dir: string): void {
  if (process.cwd() === dir) return;
  try {
    process.chdir(dir);
  } catch { /* gone: relative paths then resolve where the host is */ }
}

let installed: number | undefined;

/** Make `mask` the host's umask (a no-op when it already is). */
export function useUmask(mask: number): void {
  if (installed === mask) return;
  process.umask(mask);
  installed = mask;
}

/** The host's umask as this process started with it. */
export function initialUmask(): number {
  const old = process.umask(0o022);
  process.umask(old);
  return old;
}
