/**
 * The package's declarations are what a library user reads first: every name
 * the two entry points export (src/index.ts, src/node.ts), and every public
 * member of the classes and interfaces among them, carries a doc comment.
 * Read with the TypeScript compiler over the sources, as a user's editor
 * reads the emitted .d.ts files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import ts from "typescript";
import { repoRoot } from "../util/env.js";

const ROOT = repoRoot(import.meta.url);
const ENTRIES = ["src/index.ts", "src/node.ts"].map((f) => path.join(ROOT, f));

function documented(symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "";
}

function isPublicMember(decl: ts.Declaration): boolean {
  const flags = ts.getCombinedModifierFlags(decl);
  if ((flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0) return false;
  if (ts.isConstructorDeclaration(decl)) return false;
  const name = ts.getNameOfDeclaration(decl);
  if (name !== undefined && ts.isPrivateIdentifier(name)) return false;
  // Members marked @internal are not part of the API (the Machine's constructor and its kind).
  return !ts.getJSDocTags(decl).some((t) => t.tagName.text === "internal");
}

test("every exported name, and every public member of an exported class or interface, is documented", () => {
  const program = ts.createProgram(ENTRIES, {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, skipLibCheck: true, types: ["node"], noEmit: true,
  });
  const checker = program.getTypeChecker();
  const missing = new Set<string>();
  let seen = 0;
  for (const entry of ENTRIES) {
    const file = program.getSourceFile(entry);
    assert.ok(file !== undefined, entry);
    const moduleSymbol = checker.getSymbolAtLocation(file);
    assert.ok(moduleSymbol !== undefined, entry);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = (exported.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(exported) : exported;
      seen++;
      if (!documented(symbol, checker)) missing.add(exported.name);
      if ((symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) === 0) continue;
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      for (const member of checker.getPropertiesOfType(type)) {
        const decls = (member.declarations ?? []).filter((d) => d.getSourceFile().fileName.startsWith(path.join(ROOT, "src")));
        if (decls.length === 0 || !decls.every(isPublicMember)) continue;
        seen++;
        if (!documented(member, checker)) missing.add(`${exported.name}.${member.name}`);
      }
    }
  }
  assert.ok(seen > 50, `only ${seen} names were read: the walk is broken`);
  assert.deepEqual([...missing].sort(), [], "these exported names have no doc comment");
});
