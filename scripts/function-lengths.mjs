#!/usr/bin/env node
// Longest functions in packages/*/src (tests excluded), by source lines, through the TypeScript
// parser: every function declaration, method, arrow function and function expression.
//   node scripts/function-lengths.mjs [--max N] [--top K]
// Prints the K longest (default 10); exits 1 when one is longer than N lines (default 120).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = new URL('../', import.meta.url).pathname;
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const max = opt('--max', 120);
const top = opt('--top', 10);

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
      yield path;
  }
}

const found = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  try {
    statSync(src);
  } catch {
    continue;
  }
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        const name =
          node.name?.getText(sf) ??
          (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(sf) : '(anonymous)');
        found.push({ lines: end - start + 1, where: `${relative(root, file)}:${start + 1}`, name });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
}
found.sort((a, b) => b.lines - a.lines);
for (const f of found.slice(0, top))
  console.log(`${String(f.lines).padStart(5)}  ${f.where}  ${f.name}`);
const over = found.filter((f) => f.lines > max);
if (over.length) {
  console.error(`function-lengths: ${over.length} function(s) longer than ${max} lines`);
  process.exit(1);
}
