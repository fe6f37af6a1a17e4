// The rule for what may import what (docs/architecture.md, "Layers"), checked over the compiled
// import graph in dist/: no import cycles, and no import from a layer above. Both static and
// dynamic imports count: a command module loaded on demand is still a dependency; so do the
// requires of the CommonJS (.cts) modules.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/tools.js';

const DIST = join(repoRoot, 'dist');

/** Each top-level folder and the folders it may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  support: [],
  partitions: ['support'],
  builder: ['partitions', 'support'],
  disk: ['builder', 'partitions', 'support'],
  qemu: ['partitions', 'support'],
  cli: ['disk', 'builder', 'qemu', 'partitions', 'support'],
  '.': ['cli', 'disk', 'builder', 'qemu', 'partitions', 'support'],
};
const LAYERS = Object.keys(MAY_IMPORT).filter((l) => l !== '.');

async function jsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await jsFiles(p));
    else if (e.name.endsWith('.js') || e.name.endsWith('.cjs')) out.push(p);
  }
  return out;
}

/** module (path relative to dist/, without .js; a CommonJS module keeps its .cjs) -> the modules it imports */
async function importGraph(): Promise<Map<string, string[]>> {
  const files = [...(await Promise.all(LAYERS.map((l) => jsFiles(join(DIST, l))))).flat(), join(DIST, 'index.js')];
  const graph = new Map<string, string[]>();
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;
  for (const f of files) {
    const text = await readFile(f, 'utf8');
    const deps = [...text.matchAll(spec)].map((m) => relative(DIST, resolve(dirname(f), m[2]!)).replace(/\.js$/, ''));
    graph.set(relative(DIST, f).replace(/\.js$/, ''), deps);
  }
  return graph;
}

const layerOf = (mod: string): string => (mod.includes('/') ? mod.slice(0, mod.indexOf('/')) : '.');

const graph = await importGraph();

test('the compiled graph covers every layer', () => {
  for (const l of LAYERS) assert.ok([...graph.keys()].some((m) => layerOf(m) === l), `no module of ${l}/ in dist`);
  assert.ok(graph.has('index'), 'dist/index.js (the library API) is missing');
});

test('every import resolves to a compiled module', () => {
  const missing = [...graph].flatMap(([m, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${m} -> ${d}`));
  assert.equal(missing, []);
});

test('no import reaches into a layer above its own', () => {
  const bad = [...graph].flatMap(([m, deps]) => deps
    .filter((d) => layerOf(d) !== layerOf(m) && !MAY_IMPORT[layerOf(m)]!.includes(layerOf(d)))
    .map((d) => `${m} -> ${d}`));
  assert.equal(bad, [], `imports against docs/architecture.md's rule:\n${bad.join('\n')}`);
});

test('no import cycles', () => {
  // Tarjan's strongly connected components: any component of more than one module is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  assert.equal(cycles, [], `import cycles:\n${cycles.map((c) => c.join(' <-> ')).join('\n')}`);
});

test.run();
