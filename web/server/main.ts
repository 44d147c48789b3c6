/**
 * `npm run web`: builds the page, publishes it with the default guest on
 * loopback, and prints its URL.
 * Options: --port N (default $PORT or 8080), --disk FILE (repeatable: a raw
 * image published as disk/NAME for the page's disk URL), --kernel FILE,
 * --initrd FILE, --firmware FILE (instead of the default guest's).
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { buildPage } from "./build.js";
import { defaultGuestFiles, diskPath, siteRoutes, DEBIAN_OPENSBI, type GuestFiles } from "./site.js";
import { servePage } from "./serve.js";

const PROG = "tsemu-web";

interface WebOptions {
  port: number;
  disks: string[];
  kernel?: string;
  initrd?: string;
  firmware?: string;
}

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): WebOptions {
  const o: WebOptions = { port: 8080, disks: [] };
  const portText = (text: string, from: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > 65535) throw new Error(`${from} ${text}: expected a port number, 0 to 65535`);
    return n;
  };
  if (env.PORT !== undefined && env.PORT !== "") o.port = portText(env.PORT, "PORT=");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "--port": o.port = portText(value(), "--port"); break;
      case "--disk": o.disks.push(path.resolve(value())); break;
      case "--kernel": o.kernel = path.resolve(value()); break;
      case "--initrd": o.initrd = path.resolve(value()); break;
      case "--firmware": o.firmware = path.resolve(value()); break;
      case "-h": case "--help":
        process.stdout.write("usage: npm run web -- [--port N] [--disk FILE]... [--kernel FILE] [--initrd FILE] [--firmware FILE]\n");
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${arg} (try --help)`);
    }
  }
  return o;
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
  const o = parseArgs(process.argv.slice(2), process.env);
  const guest: GuestFiles = o.kernel !== undefined && o.initrd !== undefined
    ? { kernel: o.kernel, initrd: o.initrd, firmware: o.firmware ?? DEBIAN_OPENSBI }
    : { ...defaultGuestFiles(root), ...(o.kernel === undefined ? {} : { kernel: o.kernel }), ...(o.initrd === undefined ? {} : { initrd: o.initrd }), ...(o.firmware === undefined ? {} : { firmware: o.firmware }) };
  const built = await buildPage(root);
  const routes = siteRoutes(root, built, guest, o.disks);
  const server = await servePage(routes, o.port);
  process.stdout.write(`tsemu web page: ${server.url}\n`);
  for (const d of o.disks) process.stdout.write(`disk ${d}: ${server.url}?disk=${encodeURIComponent(diskPath(d).slice(1))}\n`);
  const stop = (): void => { void server.close().then(() => process.exit(0)); };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`${PROG}: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
