/**
 * tsemu as an npm package, the way a user gets it: `npm pack`, the tarball
 * installed into a fresh folder, a small TypeScript program that imports
 * "tsemu" type-checked against the installed declarations (strict), then
 * run: it boots the default guest, waits for the shell through the console's
 * readable stream, types `uname -a` through its writable stream, and powers
 * the machine off, all through the API; then it runs a riscv64 program
 * under the user-mode emulator.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { repoRoot } from "../util/env.js";
import { defaultGuest } from "../util/guest-images.js";

const ROOT = repoRoot(import.meta.url);

/** The consumer's program: nothing in it knows where tsemu comes from but its package name. */
const PROGRAM = `import { createMachine, runProgram, ConfigError, type Machine, type MachineConfig } from "tsemu";

const [kernel, initrd, busybox, disk] = process.argv.slice(2);
if (kernel === undefined || initrd === undefined || busybox === undefined || disk === undefined) throw new Error("usage: main KERNEL INITRD BUSYBOX DISK");

const config: MachineConfig = { memory: "256M", kernel, initrd, append: "console=ttyS0", drives: [{ image: disk, format: "raw" }] };
const machine: Machine = await createMachine(config);
const events: string[] = [];
machine.on("shutdown", (cause) => events.push(cause.reason));

/** Read the console stream until the text so far ends with the shell's prompt. */
async function untilPrompt(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!text.endsWith("tsemu# ")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the console ended before the prompt; it said: " + text.slice(-300));
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

const reader = machine.console.readable.getReader();
const writer = machine.console.writable.getWriter();
machine.start();
await untilPrompt(reader);
await writer.write("uname -a\\n");
const answer = await untilPrompt(reader);
const line = answer.split(/\\r?\\n/).find((l) => l.startsWith("Linux "));
console.log("uname: " + String(line));
console.log("status: " + machine.status());
// The disk is locked while the machine has it, as QEMU locks it.
try {
  await createMachine(config);
  console.log("second machine: made");
} catch (e) {
  console.log("second machine: " + (e instanceof ConfigError ? e.message : String(e)));
}
const status = await machine.powerOff();
console.log("exit: " + status + " events: " + events.join(","));
console.log("ConfigError is a class: " + String(typeof ConfigError === "function"));

// The user-mode emulator, the same package.
const user = await runProgram({ program: busybox, args: ["uname", "-m"] });
console.log("user mode: " + new TextDecoder().decode(user.stdout).trim() + " status " + String(user.status));
`;

/** Debian's BusyBox built for riscv64 (guest/build-busybox.sh prints its path; cached). */
function busybox(): string {
  return run("bash", [path.join(ROOT, "guest/build-busybox.sh")], ROOT).trim().split("\n").pop() as string;
}

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${String(r.status ?? r.signal)}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test("npm pack, install into a fresh folder, type-check and run a program that boots the default guest", async () => {
  const images = defaultGuest(ROOT);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-consumer-"));
  try {
    // The package as npm publishes it (dist/ is already built by the test command).
    const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT)) as { filename: string; files: { path: string }[] }[];
    const tarball = path.join(dir, packed[0].filename);
    const files = packed[0].files.map((f) => f.path);
    assert.ok(files.includes("dist/src/node.d.ts") && files.includes("dist/src/index.d.ts"), "the declarations are in the package");
    assert.ok(files.includes("dist/native/ofd-lock.node") && files.includes("dist/native/unix-dgram.node"), "the native modules are in the package");
    assert.ok(!files.some((f) => f.startsWith("dist/test/") || f.startsWith("src/")), "no tests or sources in the package");

    const app = path.join(dir, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--offline", tarball], app);
    assert.ok(fs.existsSync(path.join(app, "node_modules", "tsemu", "package.json")));

    fs.writeFileSync(path.join(app, "main.ts"), PROGRAM);
    fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], strict: true,
        // Node's types from the repository (the consumer has no network to fetch them); tsemu's own come from the package.
        typeRoots: [path.join(ROOT, "node_modules", "@types")], types: ["node"], outDir: "out",
      },
      files: ["main.ts"],
    }));
    run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app);

    const disk = path.join(dir, "disk.img");
    fs.writeFileSync(disk, new Uint8Array(1 << 20));
    const out = run(process.execPath, [path.join(app, "out", "main.js"), images.kernel, images.initrd, busybox(), disk], app, 300_000);
    assert.match(out, /^uname: Linux tsemu 6\.1\.\S+ .* riscv64 GNU\/Linux$/m);
    assert.match(out, /^status: running$/m);
    assert.match(out, /^second machine: -drive file=.*disk\.img: Failed to get "write" lock\. Is another process using the image \[.*disk\.img\]\?$/m);
    assert.match(out, /^exit: 0 events: host-qmp-quit$/m);
    assert.match(out, /^ConfigError is a class: true$/m);
    assert.match(out, /^user mode: riscv64 status 0$/m);

    // A mistake in the consumer's code is a type error against the package's declarations.
    fs.writeFileSync(path.join(app, "main.ts"), `import { createMachine } from "tsemu";\nawait createMachine({ cpus: "two" });\n`);
    const bad = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json", "--noEmit"], { cwd: app, encoding: "utf8" });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /main\.ts\(2,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
