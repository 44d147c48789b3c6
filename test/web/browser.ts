/**
 * Driving the web page in Debian's Chromium (headless, through
 * playwright-core): the page built and served as `npm run web` does, a
 * browser found or installed, and a driver that reads the terminal's text,
 * types into it and fails on any error the page or its worker reports.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const PROMPT = "tsemu# ";

/** The path of Chromium, installing it (scripts/deps.sh browser) when missing; a reason to skip when it cannot be. */
export function findChromium(root: string): { path: string } | { skip: string } {
  if (fs.existsSync(CHROMIUM)) return { path: CHROMIUM };
  const root_ = process.getuid?.() === 0;
  const sudo = spawnSync("sudo", ["-n", "true"]).status === 0;
  if (!root_ && !sudo) return { skip: `${CHROMIUM} is missing and cannot be installed here (not root, no sudo): run scripts/deps.sh browser` };
  const r = spawnSync("bash", [`${root}/scripts/deps.sh`, "browser"], { stdio: "inherit" });
  if (r.status !== 0 || !fs.existsSync(CHROMIUM)) throw new Error(`scripts/deps.sh browser did not install ${CHROMIUM}`);
  return { path: CHROMIUM };
}

export async function launch(executablePath: string): Promise<Browser> {
  // No sandbox: the tests run as root in containers, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

/** One page of the site in its own context, with every error it reports collected. */
export class PageDriver {
  readonly errors: string[] = [];

  private constructor(readonly page: Page, private readonly log: boolean) {}

  static async open(browser: Browser, url: string, log: boolean): Promise<PageDriver> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const d = new PageDriver(page, log);
    page.on("pageerror", (e) => d.errors.push(`page error: ${e.stack ?? e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") d.errors.push(`console error: ${m.text()}`);
      else if (log) process.stderr.write(`[page ${m.type()}] ${m.text()}\n`);
    });
    page.on("crash", () => d.errors.push("the page crashed"));
    page.on("worker", (w) => w.on("console", (m) => { if (m.type() === "error") d.errors.push(`worker console error: ${m.text()}`); }));
    await page.goto(url);
    return d;
  }

  private check(): void {
    if (this.errors.length > 0) throw new Error(`the page reported errors:\n${this.errors.join("\n")}`);
  }

  async text(): Promise<string> {
    return this.page.evaluate(() => (globalThis as unknown as { tsemu: { terminalText(): string } }).tsemu.terminalText());
  }

  async state(): Promise<string> {
    return this.page.evaluate(() => (globalThis as unknown as { tsemu: { state(): string } }).tsemu.state());
  }

  /** Polls the terminal until `done(text)` holds; throws on a page error or after `ms`. */
  async waitFor(what: string, done: (text: string) => boolean, ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      this.check();
      const text = await this.text();
      if (done(text)) return text;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${ms / 1000} s waiting for ${what}; state ${await this.state()}; the terminal ends:\n${text.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Types `command` and Enter; returns what the guest printed before its next prompt. */
  async shell(command: string, ms: number): Promise<string> {
    const prompts = count(await this.text(), PROMPT);
    await this.page.click("#terminal");
    await this.page.keyboard.type(command);
    await this.page.keyboard.press("Enter");
    const text = await this.waitFor(`the prompt after '${command}'`, (t) => count(t, PROMPT) > prompts, ms);
    const parts = text.split(PROMPT);
    const out = parts[prompts] ?? "";
    if (this.log) process.stderr.write(`[${command}]\n${out}\n`);
    // What follows the echoed command line.
    const nl = out.indexOf("\n");
    return nl < 0 ? "" : out.slice(nl + 1);
  }

  /** Fails on any error reported so far. */
  assertNoErrors(): void {
    this.check();
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}

export { count };
