/**
 * Where Node may appear in src/: only in host/ (Node's side of every host
 * service) and cli/ (the programs).  Read with the TypeScript compiler:
 * - no module elsewhere imports a Node builtin or names anything Node
 *   declares (process, Buffer, require, NodeJS.*), found by resolving each
 *   identifier to its declaration, so that a global is caught as surely as
 *   an import (web globals Node also declares, such as TextEncoder and
 *   performance, are fine: the DOM declares them too);
 * - the portable entry (src/index.ts) reaches no module under host/ or cli/
 *   through its imports, so that a bundle of it for a browser has no Node in
 *   it (the page's build, esbuild with platform "browser", is the other proof).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { repoRoot } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const SRC = path.join(ROOT, "src");
const NODE_TYPES = `${path.sep}node_modules${path.sep}@types${path.sep}node${path.sep}`;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

const allowed = (file: string): boolean => {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel[0] === "host" || rel[0] === "cli" || rel[0] === "node.ts";
};

const program = ts.createProgram(sources(SRC), {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts"], strict: true, skipLibCheck: true, types: ["node"], noEmit: true,
});

/** Module specifiers a file imports or re-exports (type-only ones included: they need Node's types). */
function specifiers(file: ts.SourceFile): string[] {
  const out: string[] = [];
  for (const s of file.statements) {
    if ((ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier !== undefined && ts.isStringLiteral(s.moduleSpecifier)) {
      out.push(s.moduleSpecifier.text);
    }
  }
  return out;
}

test("outside host/ and cli/, no module in src/ imports a Node builtin or uses what Node declares", () => {
  const checker = program.getTypeChecker();
  const found: string[] = [];
  let files = 0;
  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(SRC + path.sep) || allowed(file.fileName)) continue;
    files++;
    const where = (node: ts.Node): string => {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
      return `${path.relative(ROOT, file.fileName)}:${line + 1}`;
    };
    for (const s of specifiers(file)) {
      if (s.startsWith("node:") || ts.isExternalModuleNameRelative(s) === false) found.push(`imports ${s}`);
    }
    const visit = (node: ts.Node): void => {
      // Names standing on their own (globals, imported names, types); a member of
      // something host/ hands out (fs.readFileSync) is host/'s business.
      const parent = node.parent as ts.Node | undefined;
      const member = parent !== undefined && ((ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node));
      if (ts.isIdentifier(node) && !member) {
        const symbol = checker.getSymbolAtLocation(node);
        const decls = symbol?.declarations ?? [];
        if (decls.length > 0 && decls.every((d) => d.getSourceFile().fileName.includes(NODE_TYPES))) {
          found.push(`${where(node)}: ${node.text} (declared by Node)`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  assert.ok(files > 100, `only ${files} files were read: the walk is broken`);
  assert.deepEqual(found, []);
});

test("the portable entry (src/index.ts) reaches nothing under host/ or cli/", () => {
  const seen = new Set<string>();
  const bad: string[] = [];
  const walk = (file: string, from: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    if (allowed(file)) { bad.push(`${path.relative(ROOT, file)} (from ${path.relative(ROOT, from)})`); return; }
    const sf = program.getSourceFile(file);
    assert.ok(sf !== undefined, file);
    for (const s of specifiers(sf)) {
      if (!s.startsWith(".")) { bad.push(`${s} (from ${path.relative(ROOT, file)})`); continue; }
      walk(path.resolve(path.dirname(file), s.replace(/\.js$/, ".ts")), file);
    }
  };
  walk(path.join(SRC, "index.ts"), path.join(SRC, "index.ts"));
  assert.ok(seen.size > 100, `only ${seen.size} modules were reached: the walk is broken`);
  assert.deepEqual(bad, []);
});
