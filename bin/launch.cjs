// The launchers' one job (bin/tsemu-riscv64, bin/tsemu-system-riscv64): run a
// program's start-up bundle (scripts/build-bundle.mjs: one script and its V8
// code cache) when the compiled modules it was made from are unchanged (same
// sizes, none newer than its manifest, as make decides), and the modules
// themselves otherwise (no bundle, or tsc ran since).
//
// CommonJS (bin/package.json): Node then starts the launcher without its ES
// module loader, which would cost a few milliseconds of every start.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

const cli = path.join(__dirname, "..", "dist", "src", "cli");
const dist = path.join(cli, "..", "..");

/** The bundle as a function of (exports, require, module, __filename, __dirname), or undefined when it is missing or stale. */
function loadBundle(bundle) {
  let manifest, source;
  try {
    const made = fs.statSync(`${bundle}.json`).mtimeMs;
    manifest = JSON.parse(fs.readFileSync(`${bundle}.json`, "utf8"));
    for (const [file, size] of manifest.inputs) {
      // The manifest's paths are relative and normal (path.relative): no path.join, whose first calls cost a millisecond.
      const st = fs.statSync(dist + path.sep + file);
      if (st.size !== size || st.mtimeMs > made) return undefined;
    }
    // esbuild writes ASCII only (escapes the rest), so latin1 reads it exactly and faster than UTF-8.
    source = fs.readFileSync(`${bundle}.cjs`, "latin1");
  } catch {
    return undefined;
  }
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${bundle}.cache`);
  } catch {
    // compiled without the cache
  }
  // A cache from another Node or other V8 flags is rejected, and the source compiled as usual.
  return new vm.Script(source, { filename: `${bundle}.cjs`, cachedData }).runInThisContext();
}

/**
 * Put NODE_EXTRA_CA_CERTS back as the launcher found it.
 *
 * Node 20 reads the certificates NODE_EXTRA_CA_CERTS names before the first
 * line of JavaScript runs (50-70 ms for a distribution's bundle), unless the
 * variable is empty. tsemu makes no TLS connections, so each launcher's
 * shebang starts Node with the value saved as TSEMU_EXTRA_CA_CERTS (added at
 * the end of the environment) and NODE_EXTRA_CA_CERTS set to "" (in place, or
 * added after the saved one when it was not set). This restores the variable
 * in its own place, so that a guest of tsemu-riscv64 gets the host's
 * environment exactly, in its order, and what the emulators start gets it too.
 */
function restoreCaCerts() {
  const saved = process.env.TSEMU_EXTRA_CA_CERTS;
  if (saved === undefined) return;
  const names = Object.keys(process.env);
  const wasSet = names.indexOf("NODE_EXTRA_CA_CERTS") < names.indexOf("TSEMU_EXTRA_CA_CERTS");
  delete process.env.TSEMU_EXTRA_CA_CERTS;
  // Node's environment writes are setenv(3): a variable that exists keeps its place.
  if (wasSet) process.env.NODE_EXTRA_CA_CERTS = saved;
  else delete process.env.NODE_EXTRA_CA_CERTS;
}

/** Run `program` (tsemu-riscv64 or tsemu-system-riscv64) from its bundle, or from its modules. */
exports.launch = function launch(program) {
  restoreCaCerts();
  const bundle = path.join(cli, `${program}.bundle`);
  const main = loadBundle(bundle);
  if (main !== undefined) {
    const module = { exports: {} };
    main(module.exports, createRequire(`${bundle}.cjs`), module, `${bundle}.cjs`, cli);
  } else {
    import(pathToFileURL(path.join(cli, `${program}.js`)).href).catch((e) => {
      process.stderr.write(`${program}: ${e && e.message}\n`);
      process.exit(1);
    });
  }
};
