/**
 * The codebase keeps its shape (`npm run shape` prints the same figures): layered by its imports,
 * with no folder that imports one that imports it back; no function longer than a screen; no file
 * in src/, workflows/ or stack/ longer than 400 lines.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { measure } = require('../../scripts/shape.js') as { measure: () => Shape };

type Arrow = { from: string; to: string; files: Set<string> };
type Shape = {
  layers: { nodes: number; arrows: number; order: string[]; backUp: Arrow[]; mutual: Array<[string, string]>; edges: Arrow[] };
  longFiles: Array<{ file: string; lines: number }>;
  longFunctions: Array<{ file: string; line: number; name: string; lines: number }>;
};

const shape = measure();

test('the layers: every import runs down, and no two nodes import each other', () => {
  expect(shape.layers.nodes).toBeGreaterThan(20);
  expect(shape.layers.mutual).toEqual([]);
  expect(shape.layers.backUp.map((a) => `${a.from} -> ${a.to}: ${[...a.files].join(', ')}`)).toEqual([]);
});

test('what the API and the worker run never imports the local stack, the harness, the worker or the activities; nor any workflow code but its contract', () => {
  const arrows = (from: RegExp, to: RegExp) => shape.layers.edges.filter((a) => from.test(a.from) && to.test(a.to)).map((a) => `${a.from} -> ${a.to}`);
  expect(arrows(/^src\//, /^(stack|harness|worker|activities|bench|chaos)\/$/)).toEqual([]);
  expect(arrows(/^workflows\/$/, /^(src\/.*|activities\/|worker\/|stack\/)$/)).toEqual([]);
  const intoWorkflowCode = shape.layers.edges
    .filter((a) => a.from.startsWith('src/') && a.to === 'workflows/')
    .flatMap((a) => [...a.files])
    .filter((f) => !/ -> workflows\/contract\//.test(f));
  expect(intoWorkflowCode).toEqual([]);
});

test('no function longer than 70 lines (a factory\'s inner functions count on their own; the frozen first workflow version is exempt)', () => {
  expect(shape.longFunctions.map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`)).toEqual([]);
});

test('no file in src/, workflows/ or stack/ longer than 400 lines', () => {
  expect(shape.longFiles.map((f) => `${f.file} (${f.lines} lines)`)).toEqual([]);
});
