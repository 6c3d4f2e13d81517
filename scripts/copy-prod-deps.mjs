#!/usr/bin/env node
// Copy the production dependency closure of the given workspace packages from this checkout's
// node_modules into DEST/node_modules, keeping nested node_modules where npm nested them.
// Usage: node scripts/copy-prod-deps.mjs DEST PACKAGE_DIR...
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const [dest, ...packages] = process.argv.slice(2);
if (!dest || packages.length === 0) {
  process.stderr.write('usage: copy-prod-deps.mjs DEST PACKAGE_DIR...\n');
  process.exit(2);
}
const root = resolve('.');
const seen = new Set();

/** Node's lookup: <from>/node_modules/<name>, then each parent directory's, up to the root. */
function locate(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === dirname(dir)) return null;
  }
}

function walk(pkgDir) {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
  for (const name of Object.keys(deps)) {
    if (name.startsWith('@cc-ci/')) continue;
    const dir = locate(name, pkgDir);
    if (!dir) {
      if (pkg.optionalDependencies?.[name]) continue;
      throw new Error(`${name} (needed by ${pkg.name}) is not installed: run npm install`);
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    walk(dir);
  }
}

for (const p of packages) walk(resolve(p));
for (const dir of [...seen].sort()) {
  const rel = relative(root, dir); // node_modules/x or node_modules/a/node_modules/x
  cpSync(dir, join(dest, rel), { recursive: true, dereference: true });
}
process.stdout.write(`copied ${seen.size} packages\n`);
