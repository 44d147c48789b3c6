/**
 * Builds the page with esbuild: page.ts and worker.ts bundled (xterm.js and
 * the emulator with them) into ES modules, kept in memory for the server.
 */
import * as path from "node:path";
import * as esbuild from "esbuild";

/** A built file, by the name the page asks for under app/. */
export interface BuiltFile {
  name: string;
  bytes: Uint8Array;
}

/** Bundles web/src into app/page.js, app/page.css, app/worker.js (and source maps); `root` is the repository. */
export async function buildPage(root: string): Promise<BuiltFile[]> {
  const src = path.join(root, "web", "src");
  const outdir = path.join(root, "dist", "web", "app");
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { page: path.join(src, "page.ts"), worker: path.join(src, "worker.ts") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: "linked",
    outdir,
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles.map((f) => ({ name: path.relative(outdir, f.path).split(path.sep).join("/"), bytes: f.contents }));
}
