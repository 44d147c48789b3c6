// Builds the start-up bundles of tsemu-riscv64 and tsemu-system-riscv64 (run
// by npm run build, after tsc): the compiled modules of dist/src that each
// program loads, as one script, so that Node reads and compiles one file
// instead of resolving and loading about 90 (user mode) or 200 (the system
// emulator) modules, plus V8's code cache of it.  bin/launch.cjs runs a
// program's bundle when it is there and its inputs are unchanged, and the
// modules otherwise (docs/performance.md, start-up).
//
// Output, in dist/src/cli/, for each PROGRAM:
//   PROGRAM.bundle.cjs    the modules as the body of one function
//                         (exports, require, module, __filename, __dirname)
//   PROGRAM.bundle.json   its inputs, each [path under dist/, size]; the
//                         bundle is stale once one is newer than this file
//   PROGRAM.bundle.cache  V8's code cache of the bundle (for this Node, under
//                         the options bin/PROGRAM starts it with; for
//                         tsemu-riscv64, made after the bundle has run the
//                         program of src/user/linux/training.ts)
//
// Usage: node scripts/build-bundle.mjs
import * as fs from "node:fs";
import process from "node:process";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const cliDir = path.join(dist, "src", "cli");
const PROGRAMS = ["tsemu-riscv64", "tsemu-system-riscv64"];

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  // The programs run their modules instead, only slower to start.
  process.stderr.write("build-bundle.mjs: esbuild (a devDependency) is not installed; start-up bundles left out\n");
  process.exit(0);
}

// Each module's import.meta.url becomes the URL its own file has in dist/,
// so that paths it resolves from there (native modules, worker scripts)
// stay the same in the bundle.
const metaUrl = {
  name: "import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      const source = fs.readFileSync(args.path, "utf8");
      const rel = JSON.stringify(path.relative(cliDir, args.path));
      return { contents: source.replaceAll("import.meta.url", `__tsemuModuleUrl(${rel})`), loader: "js" };
    });
  },
};

/**
 * The options bin/PROGRAM's `#!` line gives Node (the words after `node`).
 * V8 takes a code cache only under the flags it was made with, so the cache
 * is made by a Node started with the same ones.
 */
function launcherNodeOptions(program) {
  const words = fs.readFileSync(path.join(root, "bin", program), "utf8").split("\n", 1)[0].trim().split(/\s+/);
  const node = words.indexOf("node");
  if (!words[0].startsWith("#!") || node < 0) {
    process.stderr.write(`build-bundle.mjs: bin/${program}: its first line does not start node\n`);
    process.exit(1);
  }
  return words.slice(node + 1);
}

// Run by that Node: SOURCE (read as the launcher reads it) compiled, its cache written to CACHE.  With a
// program after them, the bundle first runs it as the launcher would, and the cache is made as the run exits:
// V8 compiles a function when it is first called, and the cache then holds the functions the run reached.
const MAKE_CACHE = 'const fs = require("node:fs"); const [source, cache, filename, ...program] = process.argv.slice(1); ' +
  'const script = new (require("node:vm").Script)(fs.readFileSync(source, "latin1"), { filename }); ' +
  'if (program.length === 0) fs.writeFileSync(cache, script.createCachedData()); else { ' +
  'process.on("exit", () => fs.writeFileSync(cache, script.createCachedData())); ' +
  'process.argv = [process.argv[0], filename, ...program]; const module = { exports: {} }; ' +
  'script.runInThisContext()(module.exports, require("node:module").createRequire(filename), module, filename, require("node:path").dirname(filename)); }';

/**
 * Make OUT.cache.tmp of OUT.cjs.tmp, for PROGRAM.  tsemu-riscv64's bundle is trained on
 * src/user/linux/training.ts's program (what a C program's start and stop run); without the training when
 * that run fails, which is said.
 */
async function makeCache(program, out) {
  const make = (args) => execFileSync(process.execPath, [...launcherNodeOptions(program), "-e", MAKE_CACHE,
    `${out}.cjs.tmp`, `${out}.cache.tmp`, `${out}.cjs`, ...args], {
    // The run's own settings only: none of tsemu's variables (an engine, statistics) from the build's environment.
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TSEMU_"))),
    stdio: ["ignore", "ignore", "inherit"],
    // The training run takes a second; a run that hangs must not hold the build up.
    timeout: 120_000,
  });
  fs.rmSync(`${out}.cache.tmp`, { force: true });
  if (program === "tsemu-riscv64") {
    let dir;
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-training-"));
      const { trainingProgram } = await import(pathToFileURL(path.join(dist, "src", "user", "linux", "training.js")).href);
      const elf = path.join(dir, "training");
      fs.writeFileSync(elf, trainingProgram(), { mode: 0o755 });
      make([elf]);
      if (fs.existsSync(`${out}.cache.tmp`)) return;
    } catch (e) {
      const why = typeof e.status === "number" ? `status ${e.status}` : e.signal ? `stopped by ${e.signal}` : e.message.split("\n")[0];
      process.stderr.write(`build-bundle.mjs: ${program}: the training run failed (${why}); its cache is made without it\n`);
    } finally {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  make([]);
}

async function build(program) {
  const entry = path.join(cliDir, `${program}.js`);
  const out = path.join(cliDir, `${program}.bundle`);
  if (!fs.existsSync(entry)) {
    process.stderr.write(`build-bundle.mjs: ${path.relative(root, entry)} not found; run tsc first\n`);
    process.exit(1);
  }

  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    // ASCII only (the rest escaped): the launcher reads the file as latin1.
    charset: "ascii",
    // Whitespace only (names stay): a smaller file to read and to copy into a string at each start.
    minifyWhitespace: true,
    write: false,
    metafile: true,
    logLevel: "warning",
    plugins: [metaUrl],
  });

  // esbuild escapes code, not comments: a comment's "→" would make the file the launcher reads as
  // latin1 differ from the string the cache is made of, and V8 would reject the cache.
  const body = result.outputFiles[0].text.replace(/[\u0080-\u{10ffff}]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  // esbuild gives each module's import of a Node built-in a copy of it (__toESM: a getter per export, a
  // hundred for node:fs, in each of ten modules); the modules share one copy of each instead.
  const shared = body.replace(/__toESM\(require\("(node:[a-z_/]+)"\), ?1\)/g, (_, id) => `__tsemuBuiltin(${JSON.stringify(id)})`);
  // A function, as Node's CommonJS loader wraps a module; the launcher compiles the file as it is.
  // Strict, as the modules were; __tsemuModuleUrl serves the import.meta.url rewrite above.
  const script = "(function (exports, require, module, __filename, __dirname) {\"use strict\"; " +
    "function __tsemuModuleUrl(rel) { return require(\"node:url\").pathToFileURL(require(\"node:path\").join(__dirname, rel)).href; }\n" +
    "const __tsemuBuiltins = new Map();\n" +
    "function __tsemuBuiltin(id) { let m = __tsemuBuiltins.get(id); if (m === undefined) __tsemuBuiltins.set(id, m = __toESM(require(id), 1)); return m; }\n" +
    `${shared}\n})`;
  const inputs = Object.keys(result.metafile.inputs).map((p) => {
    const abs = path.resolve(root, p);
    const st = fs.statSync(abs);
    return [path.relative(dist, abs), st.size];
  });

  fs.writeFileSync(`${out}.cjs.tmp`, script);
  // The cache must match the file byte for byte: made from the file itself.
  await makeCache(program, out);
  fs.writeFileSync(`${out}.json.tmp`, JSON.stringify({ node: process.version, inputs }) + "\n");
  // The manifest last: a launcher that finds it finds the rest.
  fs.rmSync(`${out}.json`, { force: true });
  fs.renameSync(`${out}.cjs.tmp`, `${out}.cjs`);
  fs.renameSync(`${out}.cache.tmp`, `${out}.cache`);
  fs.renameSync(`${out}.json.tmp`, `${out}.json`);
}

for (const program of PROGRAMS) await build(program);
