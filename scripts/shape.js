#!/usr/bin/env node
// `npm run shape`: the codebase's shape, measured from its own imports and definitions.
//   - Layers: each folder of src/ and each other top-level folder or file is a node; an import
//     between two nodes is an arrow. Arrows that close a loop (a folder that, through others,
//     imports itself back) are listed; a layered codebase has none.
//   - Sizes: files longer than 400 lines (src/, workflows/, stack/) and functions longer than 70
//     lines (everywhere but tests; a factory's inner functions count on their own; the frozen
//     legacy workflow is exempt).
// test/unit/code-shape.test.ts holds the codebase to these limits. `--json` prints the figures as JSON.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '..');
const SOURCE_ROOTS = ['src', 'workflows', 'activities', 'worker', 'stack', 'harness', 'bench', 'chaos', 'scripts', 'migrations'];
const MAX_FILE_LINES = 400;
const FILE_LIMITED = ['src/', 'workflows/', 'stack/'];
const MAX_FUNCTION_LINES = 70;
/** Frozen: it replays the first workflow version's histories, and is deleted once they have drained. */
const FUNCTION_LIMIT_EXEMPT = ['workflows/legacy/'];

function sourceFiles() {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'public') walk(full);
      } else if (/\.(ts|js|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.push(path.relative(ROOT, full).split(path.sep).join('/'));
      }
    }
  };
  for (const root of SOURCE_ROOTS) if (fs.existsSync(path.join(ROOT, root))) walk(path.join(ROOT, root));
  return files.sort();
}

/** The node a file belongs to: `src/<first folder or file>`, else `<top-level folder or file>`. */
function nodeOf(file) {
  const parts = file.split('/');
  if (parts[0] === 'src' && parts.length > 1) return parts.length > 2 ? `src/${parts[1]}/` : `src/${parts[1]}`;
  return parts.length > 1 ? `${parts[0]}/` : parts[0];
}

function resolveImport(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.join(path.dirname(path.join(ROOT, fromFile)), specifier);
  const candidates = [base, `${base}.ts`, `${base}.js`, path.join(base, 'index.ts'), path.join(base, 'index.js')];
  const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  return found ? path.relative(ROOT, found).split(path.sep).join('/') : undefined;
}

/** Every relative import of a file: import/export ... from, import(), require() and require.resolve() of a literal. */
function importsOf(file, text) {
  const specifiers = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  for (const m of text.matchAll(/require\.resolve\(\s*['"](\.[^'"]+)['"]/g)) specifiers.push(m[1]);
  return [...new Set(specifiers.map((s) => resolveImport(file, s)).filter(Boolean))];
}

/** Orders nodes so that as few arrows as possible point backwards (Eades, Lin and Smyth's greedy heuristic). */
function layerOrder(nodes, edges) {
  const out = new Map(nodes.map((n) => [n, new Set()]));
  const inn = new Map(nodes.map((n) => [n, new Set()]));
  for (const [a, b] of edges) {
    out.get(a).add(b);
    inn.get(b).add(a);
  }
  const left = new Set(nodes);
  const head = [];
  const tail = [];
  const remove = (n) => {
    left.delete(n);
    for (const m of out.get(n)) inn.get(m).delete(n);
    for (const m of inn.get(n)) out.get(m).delete(n);
  };
  while (left.size) {
    let changed = true;
    while (changed) {
      changed = false;
      for (const n of [...left].sort()) {
        if (out.get(n).size === 0) {
          tail.unshift(n);
          remove(n);
          changed = true;
        } else if (inn.get(n).size === 0) {
          head.push(n);
          remove(n);
          changed = true;
        }
      }
    }
    if (!left.size) break;
    const best = [...left].sort().reduce((a, b) => (out.get(b).size - inn.get(b).size > out.get(a).size - inn.get(a).size ? b : a));
    head.push(best);
    remove(best);
  }
  return [...head, ...tail]; // importers first: an arrow "runs back up" when it points to an earlier node
}

function layers(files, texts) {
  const edgeSet = new Map();
  for (const file of files) {
    for (const target of importsOf(file, texts.get(file))) {
      const [a, b] = [nodeOf(file), nodeOf(target)];
      if (a === b || target.startsWith('test/')) continue;
      const key = `${a} -> ${b}`;
      if (!edgeSet.has(key)) edgeSet.set(key, { from: a, to: b, files: new Set() });
      edgeSet.get(key).files.add(`${file} -> ${target}`);
    }
  }
  const edges = [...edgeSet.values()];
  const nodes = [...new Set(files.map(nodeOf))].sort();
  const order = layerOrder(nodes, edges.map((e) => [e.from, e.to]));
  const rank = new Map(order.map((n, i) => [n, i]));
  const backUp = edges.filter((e) => rank.get(e.to) < rank.get(e.from));
  const mutual = edges.filter((e) => e.from < e.to && edgeSet.has(`${e.to} -> ${e.from}`)).map((e) => [e.from, e.to]);
  return { nodes: nodes.length, arrows: edges.length, order, backUp, mutual, edges };
}

function functionLength(node, source) {
  const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
  const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
  return end - start + 1;
}

/** A function's own lines: its body less the functions nested in it (a factory's inner functions count on their own). */
function longFunctions(file, text) {
  if (FUNCTION_LIMIT_EXEMPT.some((p) => file.startsWith(p))) return [];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const isFunction = (n) => ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n);
  const visit = (n) => {
    if (isFunction(n) && n.body) {
      let nested = 0;
      const subtract = (c) => {
        if (isFunction(c) && c.body) nested += functionLength(c, source);
        else ts.forEachChild(c, subtract);
      };
      ts.forEachChild(n.body, subtract);
      const own = functionLength(n, source) - nested;
      if (own > MAX_FUNCTION_LINES) {
        const name = n.name ? n.name.getText(source) : ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(source) : '(anonymous)';
        found.push({ file, line: source.getLineAndCharacterOfPosition(n.getStart(source)).line + 1, name, lines: own });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(source);
  return found;
}

function measure() {
  const files = sourceFiles();
  const texts = new Map(files.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));
  const lineCount = (f) => texts.get(f).split('\n').length - (texts.get(f).endsWith('\n') ? 1 : 0);
  return {
    layers: layers(files, texts),
    longFiles: files.filter((f) => FILE_LIMITED.some((p) => f.startsWith(p)) && /\.ts$/.test(f) && lineCount(f) > MAX_FILE_LINES).map((f) => ({ file: f, lines: lineCount(f) })),
    longFunctions: files.filter((f) => /\.(ts|js)$/.test(f)).flatMap((f) => longFunctions(f, texts.get(f))),
    limits: { fileLines: MAX_FILE_LINES, functionLines: MAX_FUNCTION_LINES },
  };
}

module.exports = { measure };

if (require.main === module) {
  const shape = measure();
  if (process.argv.includes('--json')) {
    const { layers: l, ...rest } = shape;
    const plain = (e) => ({ from: e.from, to: e.to, files: [...e.files] });
    console.log(JSON.stringify({ ...rest, layers: { ...l, backUp: l.backUp.map(plain), edges: l.edges.map(plain) } }, null, 2));
  } else {
    const { layers: l } = shape;
    console.log(`Layers: ${l.nodes} nodes, ${l.arrows} arrows, ${l.backUp.length} run back up, ${l.mutual.length} pairs of nodes import each other.`);
    console.log(`  top to bottom: ${l.order.join('  ')}`);
    for (const e of l.backUp) console.log(`  back up: ${e.from} -> ${e.to}  (${[...e.files].slice(0, 3).join('; ')}${e.files.size > 3 ? ` and ${e.files.size - 3} more` : ''})`);
    for (const [a, b] of l.mutual) console.log(`  each other: ${a} <-> ${b}`);
    console.log(`Files over ${MAX_FILE_LINES} lines: ${shape.longFiles.length}`);
    for (const f of shape.longFiles) console.log(`  ${f.file}: ${f.lines}`);
    console.log(`Functions over ${MAX_FUNCTION_LINES} lines: ${shape.longFunctions.length}`);
    for (const f of shape.longFunctions) console.log(`  ${f.file}:${f.line} ${f.name}: ${f.lines}`);
  }
}
