/**
 * The web page in a real browser (Debian's Chromium, headless): the page
 * built and served as `npm run web` does it, Start pressed, the default
 * guest booted in the worker to its shell, commands typed into xterm.js and
 * their answers read back from the terminal; Reset boots it again.  A
 * second page attaches a raw ext2 image from its URL (HTTP range requests)
 * as /dev/vda, mounts it, reads a known file and writes over it: the host's
 * file is unchanged.  Any page error, console error or error inside the
 * worker fails the test.  Screenshots land in dist/test-output/web/.
 *
 * Settings: TSEMU_WEB_TIMEOUT_S (per boot, default 600), TSEMU_WEB_LOG=1
 * (the commands' transcripts and the server's log on stderr).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser } from "playwright-core";
import { envInt, repoRoot } from "../util/env.js";
import { buildPage } from "../../web/server/build.js";
import { defaultGuestFiles, diskPath, siteRoutes, type GuestFiles } from "../../web/server/site.js";
import { servePage, type PageServer } from "../../web/server/serve.js";
import { count, findChromium, launch, PageDriver, PROMPT } from "./browser.js";

const ROOT = repoRoot(import.meta.url);
const BOOT_MS = envInt("TSEMU_WEB_TIMEOUT_S", 600) * 1000;
const STEP_MS = 120_000;
const LOG = process.env.TSEMU_WEB_LOG === "1";
const OUT = path.join(ROOT, "dist", "test-output", "web");
const SECRET = `tsemu web disk ${Date.now().toString(36)}`;

let skip = "";
let browser: Browser | undefined;
let server: PageServer | undefined;
let tmp = "";
let disk = "";
let guest: GuestFiles;
const requests: { method: string; path: string; status: number; range?: string }[] = [];

before(async () => {
  const found = findChromium(ROOT);
  if ("skip" in found) {
    skip = found.skip;
    return;
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsemu-web-"));
  const files = path.join(tmp, "files");
  fs.mkdirSync(files);
  fs.writeFileSync(path.join(files, "hello.txt"), `${SECRET}\n`);
  disk = path.join(tmp, "web-test.img");
  const mk = spawnSync("mke2fs", ["-q", "-F", "-t", "ext2", "-d", files, disk, "4M"], { encoding: "utf8" });
  if (mk.status !== 0) throw new Error(`mke2fs failed: ${mk.stderr}`);
  guest = defaultGuestFiles(ROOT);
  const routes = siteRoutes(ROOT, await buildPage(ROOT), guest, [disk]);
  server = await servePage(routes, 0, (method, p, status, range) => {
    requests.push({ method, path: p, status, range });
    if (LOG) process.stderr.write(`[http] ${method} ${p} ${status} ${range ?? ""}\n`);
  });
  browser = await launch(found.path);
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
});

/** The status line once it matches `want` (it is redrawn once a second), or as it is after 5 s. */
async function statusMatching(page: PageDriver, want: RegExp): Promise<string> {
  let status = "";
  for (let i = 0; i < 50 && !want.test(status); i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await page.page.textContent("#status") ?? "";
  }
  return status;
}

test("the page boots the default guest in a worker, answers commands, and boots again after Reset", { timeout: 3 * BOOT_MS }, async (t) => {
  if (skip !== "") return t.skip(skip);
  assert.ok(browser && server);
  const page = await PageDriver.open(browser, server.url, LOG);
  try {
    assert.equal(await page.state(), "idle");
    assert.equal(await page.page.inputValue("#accel"), "tcg", "the page's default engine is the translator");
    // The server's COOP and COEP headers took effect: SharedArrayBuffer and Atomics are there.
    assert.equal(await page.page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated), true);
    assert.equal(await page.page.evaluate(() => typeof SharedArrayBuffer), "function");
    await page.page.click("#start");
    await page.waitFor("the first boot's shell prompt", (text) => text.includes("Linux version") && text.includes(PROMPT), BOOT_MS);
    const uname = await page.shell("uname -a", STEP_MS);
    assert.match(uname, /^Linux \S+ \S+ .*riscv64/m);
    const cpuinfo = await page.shell("cat /proc/cpuinfo", STEP_MS);
    assert.match(cpuinfo, /^isa\s*:\s*rv64imafdc/m);
    assert.equal((cpuinfo.match(/^processor\s*:/gm) ?? []).length, 2, "two harts, as -smp 2");
    // The progress bar counted the three images, whole.
    const total = [guest.firmware, guest.kernel, guest.initrd].reduce((n, f) => n + fs.statSync(f).size, 0);
    assert.deepEqual(await page.page.$eval("#progress", (e) => [(e as unknown as { max: number }).max, (e as unknown as { value: number }).value]), [total, total]);
    // The stats line comes once a second: wait for one that counts compiled blocks.
    assert.match(await statusMatching(page, /translator: [1-9]\d* blocks compiled/),
      /^running \| [\d.]+ MIPS \| [\d.]+ G instructions \| translator: [1-9]\d* blocks compiled$/);
    await page.page.screenshot({ path: path.join(OUT, "boot.png") });

    await page.page.click("#reset");
    await page.waitFor("a second boot's shell prompt", (text) => {
      if (count(text, "Linux version") < 2) return false;
      return text.slice(text.lastIndexOf("Linux version")).includes(PROMPT);
    }, BOOT_MS);
    const again = await page.shell("uname -m", STEP_MS);
    assert.match(again, /^riscv64$/m);
    await page.page.screenshot({ path: path.join(OUT, "reset.png") });
    t.diagnostic(`screenshots: ${OUT}`);
    page.assertNoErrors();
  } finally {
    await page.close();
  }
});

test("a raw ext2 image from a URL is /dev/vda: read through range requests, written in memory only", { timeout: 2 * BOOT_MS }, async (t) => {
  if (skip !== "") return t.skip(skip);
  assert.ok(browser && server);
  const before = createHash("sha256").update(fs.readFileSync(disk)).digest("hex");
  const diskUrl = diskPath(disk).slice(1);
  const page = await PageDriver.open(browser, `${server.url}?disk=${encodeURIComponent(diskUrl)}`, LOG);
  try {
    await page.page.click("#start");
    await page.waitFor("the shell prompt", (text) => text.includes(PROMPT), BOOT_MS);
    await page.shell("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt", STEP_MS);
    assert.equal((await page.shell("cat /mnt/hello.txt", STEP_MS)).trim(), SECRET);
    await page.shell("echo written in the guest > /mnt/hello.txt && sync && umount /mnt && echo 3 > /proc/sys/vm/drop_caches", STEP_MS);
    await page.shell("mount -t ext2 /dev/vda /mnt", STEP_MS);
    assert.equal((await page.shell("cat /mnt/hello.txt", STEP_MS)).trim(), "written in the guest");
    await page.shell("umount /mnt", STEP_MS);
    await page.page.screenshot({ path: path.join(OUT, "disk.png") });

    await page.page.click("#power-off");
    await page.waitFor("the machine to stop", () => true, 0);
    for (let i = 0; i < 100 && await page.state() !== "shutdown"; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await page.state(), "shutdown");
    assert.match(await page.page.textContent("#status") ?? "", /exited with status 0/);
    page.assertNoErrors();
  } finally {
    await page.close();
  }
  const diskRequests = requests.filter((r) => r.path === `/${diskUrl}`);
  assert.ok(diskRequests.some((r) => r.method === "HEAD" && r.status === 200), "the size came from a HEAD request");
  const ranges = diskRequests.filter((r) => r.method === "GET");
  assert.ok(ranges.length > 0 && ranges.every((r) => r.status === 206 && /^bytes=\d+-\d+$/.test(r.range ?? "")), "every read was a range request answered 206");
  assert.equal(createHash("sha256").update(fs.readFileSync(disk)).digest("hex"), before, "the host's image is unchanged");
});

test("with Keep writes as NAME the disk's writes outlive the machine: the guest's poweroff, Start again, the write is there", { timeout: 3 * BOOT_MS }, async (t) => {
  if (skip !== "") return t.skip(skip);
  assert.ok(browser && server);
  const before = createHash("sha256").update(fs.readFileSync(disk)).digest("hex");
  const diskUrl = diskPath(disk).slice(1);
  const page = await PageDriver.open(browser, `${server.url}?disk=${encodeURIComponent(diskUrl)}&persist=web-test`, LOG);
  try {
    await page.page.click("#start");
    await page.waitFor("the shell prompt", (text) => text.includes(PROMPT), BOOT_MS);
    await page.shell("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt", STEP_MS);
    await page.shell("echo kept in the browser > /mnt/kept.txt && umount /mnt", STEP_MS);
    // The guest powers itself off: the worker ends the machine and the page its worker.
    const prompts = count(await page.text(), PROMPT);
    await page.page.click("#terminal");
    await page.page.keyboard.type("poweroff");
    await page.page.keyboard.press("Enter");
    for (let i = 0; i < 600 && await page.state() !== "shutdown"; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await page.state(), "shutdown");
    assert.equal(count(await page.text(), PROMPT), prompts);

    await page.page.click("#start");
    await page.waitFor("the second machine's prompt", (text) => count(text, PROMPT) > prompts, BOOT_MS);
    await page.shell("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt", STEP_MS);
    assert.equal((await page.shell("cat /mnt/kept.txt", STEP_MS)).trim(), "kept in the browser");
    assert.equal((await page.shell("cat /mnt/hello.txt", STEP_MS)).trim(), SECRET, "the image's own file, as the server has it");
    await page.shell("umount /mnt", STEP_MS);
    await page.page.click("#power-off");
    for (let i = 0; i < 100 && await page.state() !== "shutdown"; i++) await new Promise((r) => setTimeout(r, 100));
    page.assertNoErrors();
  } finally {
    await page.close();
  }
  assert.equal(createHash("sha256").update(fs.readFileSync(disk)).digest("hex"), before, "the host's image is unchanged");
});

test("a disk URL the server does not have: the worker's error reaches the page, which stays usable", { timeout: 120_000 }, async (t) => {
  if (skip !== "") return t.skip(skip);
  assert.ok(browser && server);
  const page = await PageDriver.open(browser, `${server.url}?disk=disk/missing.img`, LOG);
  try {
    await page.page.click("#start");
    for (let i = 0; i < 300 && await page.state() !== "error"; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await page.state(), "error");
    assert.equal(page.errors.length, 1, page.errors.join("\n"));
    assert.match(page.errors[0], /^console error: tsemu: Error: disk http:\/\/127\.0\.0\.1:\d+\/disk\/missing\.img: 404 Not Found/);
    assert.match(await page.page.textContent("#errors") ?? "", /404 Not Found/);
    assert.equal(await page.page.isEnabled("#start"), true, "Start can be pressed again");
    assert.equal(await page.page.isEnabled("#reset"), false);
  } finally {
    await page.close();
  }
});

test("with Engine: interpreter (accel=interp) the worker interprets the same guest", { timeout: 2 * BOOT_MS }, async (t) => {
  if (skip !== "") return t.skip(skip);
  assert.ok(browser && server);
  const page = await PageDriver.open(browser, `${server.url}?accel=interp&smp=1`, LOG);
  try {
    assert.equal(await page.page.inputValue("#accel"), "interp", "the query parameter presets the engine");
    await page.page.click("#start");
    await page.waitFor("the shell prompt", (text) => text.includes("Linux version") && text.includes(PROMPT), BOOT_MS);
    assert.match(await page.shell("uname -m", STEP_MS), /^riscv64$/m);
    assert.match(await page.shell("echo $((12345 * 6789))", STEP_MS), /^83810205$/m);
    assert.match(await statusMatching(page, /interpreter$/), /^running \| [\d.]+ MIPS \| [\d.]+ G instructions \| interpreter$/);
    await page.page.screenshot({ path: path.join(OUT, "interpreter.png") });
    page.assertNoErrors();
  } finally {
    await page.close();
  }
});
