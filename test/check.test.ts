// Answer checks (server/src/check): question wordings, tree-sitter outlines across languages with the pattern
// fallback, each checker's verdicts, and cancellation. No model needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAnswer, formatVerdict, memoryRepo, parseQuestion, workspaceSymbols } from '../server/src/check/index';
import { grammarFor } from '../server/src/check/grammars';
import { outlineFile } from '../server/src/check/outline';
import type { QuestionKind } from '../server/src/check/types';

test('questions: many wordings of each lookup are recognised with their symbol', () => {
  const cases: [string, QuestionKind, string, string?][] = [
    ['Where is `Pot` defined?', 'where', 'Pot'],
    ['Which file defines Pot?', 'where', 'Pot'],
    ['Where is Pot declared?', 'where', 'Pot'],
    ["Where's Pot defined?", 'where', 'Pot'],
    ['Show me where class Pot lives', 'where', 'Pot'],
    ['In which file is the function parseArgs defined?', 'where', 'parseArgs'],
    ['What file is Pot defined in?', 'where', 'Pot'],
    ['Can you tell me where the function parseArgs is defined in this repo?', 'where', 'parseArgs'],
    ['where can I find the definition of Distiller', 'where', 'Distiller'],
    ['Find the definition of `makePolicy`', 'where', 'makePolicy'],
    ['Locate Pot.', 'where', 'Pot'],
    ['Where is `Terminal`, as imported by lib/Wrapper.js, defined?', 'where', 'Terminal', 'lib/Wrapper.js'],
    ['What does constant `ucs4le` equal?', 'value', 'ucs4le'],
    ['What is the value of MAX_SIZE?', 'value', 'MAX_SIZE'],
    ["What's the default value of timeoutMs?", 'value', 'timeoutMs'],
    ['What is MAX set to?', 'value', 'MAX'],
    ['What value does DEFAULT_PORT have?', 'value', 'DEFAULT_PORT'],
    ['What is PORT?', 'value', 'PORT'],
    ['What value does `A` in src/a.ts resolve to?', 'value', 'A', 'src/a.ts'],
    ['What arguments does f take?', 'params', 'f'],
    ['What parameters does function `_traverse` take?', 'params', '_traverse'],
    ['What are the parameters of foo()?', 'params', 'foo'],
    ["What's foo's signature?", 'params', 'foo'],
    ['Which params does `askPot` accept?', 'params', 'askPot'],
    ['How do I call makeDecoder?', 'params', 'makeDecoder'],
    ['What parameters does `customAlphabet`, as imported by bin/nanoid.js, take?', 'params', 'customAlphabet', 'bin/nanoid.js'],
    ['Which files import `node:fs`?', 'importers', 'node:fs'],
    ['Who imports lodash?', 'importers', 'lodash'],
    ['Which modules require ./util?', 'importers', './util'],
    ['What imports `os.path`?', 'importers', 'os.path'],
    ['Where is Pot imported?', 'importers', 'Pot'],
    ['List the files that import react', 'importers', 'react'],
    ['Which files use `zod`?', 'importers', 'zod'],
  ];
  for (const [question, kind, symbol, via] of cases) {
    assert.deepEqual(parseQuestion(question), via ? { kind, symbol, via } : { kind, symbol }, question);
  }
});

test('questions: free-form questions are not mistaken for lookups', () => {
  for (const q of ['How does the cache work?', 'Explain this code.', 'Explain `Pot` in src/a.ts (line 3).', 'What is Pot?', 'Where is it defined?', 'Why is ingest slow?', 'Where is Pot used?', 'Summarise the README']) {
    assert.equal(parseQuestion(q).kind, 'free', q);
  }
});

const sources: Record<string, string> = {
  'src/pot.ts': 'import { readFile } from "node:fs/promises";\nimport type { Policy } from "./policy";\n\nexport const MAX_SLOTS = 128;\nexport const LABEL = "pot";\n\nexport class Pot {\n  append(tokens: number[], tags?: string[]) {}\n}\n\nexport function makePot(budget: number, policy: Policy, ...extra: string[]) {\n  return new Pot();\n}\n',
  'src/policy.ts': 'export interface Policy { name: string }\nexport const DEFAULT = MAX;\nconst MAX = 7;\nexport const WINDOW = 1 << 16; // slots\n',
  'src/main.js': "const { makePot } = require('./pot');\nmodule.exports.run = function (argv, env) {};\nexports.VERSION = '1.2.0';\n",
  'pkg/util.py': 'import os\nfrom .base import Base as B\n\nTIMEOUT = 30\n\ndef walk(top, topdown=True, *args, **kw):\n    pass\n\nclass Walker:\n    def step(self, n):\n        pass\n',
  'pkg/base.py': 'class Base:\n    pass\n',
  'cmd/main.go': 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nconst Retries = 3\n\nfunc Run(name string, args ...string) error {\n\treturn nil\n}\n',
  'core/lib.rs': 'use std::io::Read;\n\npub const LIMIT: u32 = 64;\n\npub fn parse(input: &str, strict: bool) -> u32 { 0 }\n',
  'app/Main.java': 'import java.util.List;\n\npublic class Main {\n  static final int SIZE = 16;\n  void start(int port, String host) {}\n}\n',
  'native/add.c': '#include <stdio.h>\n#define LIMIT_C 10\n\nstatic int add(int a, int *b) { return a; }\n',
  'lib/tool.rb': "require 'json'\n\nMAX_DEPTH = 5\n\ndef build(items, depth)\nend\n",
  'app/Main.kt': 'import foo.Bar\n\nconst val KT_MAX = 3\n\nfun addUp(a: Int, b: Int): Int = a + b\n',
};
const repo = memoryRepo(Object.entries(sources).map(([path, text]) => ({ path, text })));

test('outlines: a tree-sitter grammar for each streamed language, the pattern fallback elsewhere', async () => {
  const expected: Record<string, [string, number][]> = {
    'src/pot.ts': [['MAX_SLOTS', 4], ['Pot', 7], ['makePot', 11]],
    'pkg/util.py': [['TIMEOUT', 4], ['walk', 6], ['Walker', 9]],
    'cmd/main.go': [['Retries', 8], ['Run', 10]],
    'core/lib.rs': [['LIMIT', 3], ['parse', 5]],
    'app/Main.java': [['Main', 3], ['SIZE', 4], ['start', 5]],
    'native/add.c': [['LIMIT_C', 2], ['add', 4]],
    'lib/tool.rb': [['MAX_DEPTH', 3], ['build', 5]],
    'app/Main.kt': [['KT_MAX', 3], ['addUp', 5]],
  };
  for (const [file, defs] of Object.entries(expected)) {
    const outline = await outlineFile(file, sources[file]);
    assert.equal(outline.via, grammarFor(file) ? 'tree-sitter' : 'patterns', file);
    for (const [name, line] of defs) assert.ok(outline.definitions.some((d) => d.name === name && d.line === line), `${file} defines ${name} at ${line}: ${JSON.stringify(outline.definitions)}`);
  }
  assert.equal(grammarFor('app/Main.kt'), undefined);
  assert.ok((await outlineFile('cmd/main.go', sources['cmd/main.go'])).imports.some((i) => i.spec === 'os' && i.line === 5));
  // A method is a member; top-level functions are not.
  const py = await outlineFile('pkg/util.py', sources['pkg/util.py']);
  assert.equal(py.definitions.find((d) => d.name === 'step')?.member, true);
  assert.equal(py.definitions.find((d) => d.name === 'walk')?.member, undefined);
});

test('where: the file must be streamed and define the symbol; the verdict names the line', async () => {
  assert.deepEqual(await checkAnswer('Where is `Pot` defined?', 'src/pot.ts', repo), { status: 'checked', kind: 'where', file: 'src/pot.ts', line: 7, detail: 'src/pot.ts defines `Pot`' });
  assert.equal(formatVerdict(await checkAnswer('Which file defines Pot?', '`src/pot.ts`.', repo)), 'checked: src/pot.ts:7');
  assert.equal((await checkAnswer('Where is Run declared?', 'It is in cmd/main.go', repo)).line, 10);
  const wrong = await checkAnswer('Where is `Pot` defined?', 'src/policy.ts', repo);
  assert.equal(wrong.status, 'not-found');
  assert.match(formatVerdict(wrong), /^not found in the repository \(src\/policy.ts does not define `Pot`; src\/pot.ts:7 does\)$/);
  assert.equal((await checkAnswer('Where is `Pot` defined?', 'out/util.js', repo)).status, 'not-found');
  assert.equal((await checkAnswer('Where is `Pot` defined?', 'I do not know', repo)).status, 'not-found');
  // `const { makePot } = require(…)` imports makePot; it does not define it.
  assert.equal((await checkAnswer('Where is makePot defined?', 'src/main.js', repo)).status, 'not-found');
  // Multi-hop: `B` is `Base` as pkg/util.py imports it; the answer must be the file it comes from.
  assert.deepEqual(await checkAnswer('Where is `B`, as imported by pkg/util.py, defined?', 'pkg/base.py', repo), { status: 'checked', kind: 'where', file: 'pkg/base.py', line: 1, detail: 'pkg/base.py defines `Base`' });
  assert.equal((await checkAnswer('Where is `B`, as imported by pkg/util.py, defined?', 'pkg/util.py', repo)).detail, 'pkg/util.py imports `B` from pkg/base.py, not pkg/util.py');
});

test('where: prose and data files define nothing, even where a usage example reads like code', async () => {
  const docs = memoryRepo([
    { path: 'README.md', text: '# once\n\n```js\nvar once = require(\'once\')\nfunction load (file, cb) {}\n```\n' },
    { path: 'package.json', text: '{ "name": "once" }\n' },
    { path: 'index.d.ts', text: 'declare function once<T>(fn: T): T\nexport = once\n' },
    { path: 'once.js', text: 'module.exports = once\nfunction once (fn) { return fn }\n' },
  ]);
  assert.equal((await outlineFile('README.md', '```js\nfunction load (file, cb) {}\n```\n')).via, 'not-code');
  const readme = await checkAnswer('Where is `once` defined?', 'README.md', docs);
  assert.deepEqual([readme.status, readme.detail], ['not-found', 'README.md does not define `once`; once.js:2 does (also index.d.ts:1)']);
  assert.equal((await checkAnswer('Where is `once` defined?', 'once.js', docs)).status, 'checked');
});

test('value: the answer is the whole value of an assignment (any quote style, one hop)', async () => {
  assert.deepEqual(await checkAnswer('What does constant `MAX_SLOTS` equal?', '128', repo), { status: 'checked', kind: 'value', file: 'src/pot.ts', line: 4, detail: 'src/pot.ts assigns `MAX_SLOTS` = 128' });
  assert.equal((await checkAnswer('What is the value of MAX_SLOTS?', '12', repo)).status, 'not-found');
  assert.equal((await checkAnswer('What is LABEL set to?', "'pot'", repo)).status, 'checked');
  assert.equal((await checkAnswer('What is LABEL set to?', '"pan"', repo)).status, 'not-found');
  assert.equal((await checkAnswer('What does constant TIMEOUT equal?', 'TIMEOUT = 30', repo)).line, 4);
  assert.equal((await checkAnswer('What value does `DEFAULT` in src/policy.ts resolve to?', '7', repo)).line, 3);
  assert.equal((await checkAnswer('What does constant `VERSION` equal?', "'1.2.0'", repo)).file, 'src/main.js');
  assert.equal((await checkAnswer('What is the value of KT_MAX?', '3', repo)).file, 'app/Main.kt');
  assert.equal((await checkAnswer('What is the value of NOPE?', '3', repo)).detail, 'no assignment of `NOPE` in the repository');
  // an expression is its value only whole: its first token is not confirmed, and the detail shows the value
  assert.equal((await checkAnswer('What does constant `WINDOW` equal?', '1 << 16', repo)).status, 'checked');
  assert.equal((await checkAnswer('What does constant `WINDOW` equal?', '`1<<16`', repo)).status, 'checked');
  const cut = await checkAnswer('What does constant `WINDOW` equal?', '1', repo);
  assert.deepEqual([cut.status, cut.detail], ['not-found', 'no assignment of `WINDOW` has the value 1; src/policy.ts:4 assigns `WINDOW` = 1 << 16']);
  assert.equal((await checkAnswer('What is LABEL set to?', "'pot' + suffix", repo)).status, 'not-found');
});

test('params: the list matches the function definition, names in order', async () => {
  assert.deepEqual(await checkAnswer('What parameters does function `makePot` take?', 'budget, policy, ...extra', repo), { status: 'checked', kind: 'params', file: 'src/pot.ts', line: 11, detail: '`makePot(budget, policy, ...extra)` in src/pot.ts' });
  assert.equal((await checkAnswer('What arguments does makePot take?', 'makePot(budget: number, policy: Policy, ...extra)', repo)).status, 'checked');
  assert.equal((await checkAnswer('What arguments does makePot take?', 'policy, budget, ...extra', repo)).status, 'not-found');
  assert.equal((await checkAnswer('What arguments does walk take?', 'top, topdown, *args, **kw', repo)).line, 6);
  assert.equal((await checkAnswer('What arguments does run take?', 'argv, env', repo)).file, 'src/main.js');
  assert.equal((await checkAnswer('What are the parameters of Run?', 'name, ...args', repo)).status, 'checked');
  assert.equal((await checkAnswer('What are the parameters of parse?', 'input, strict', repo)).file, 'core/lib.rs');
  assert.equal((await checkAnswer('What are the parameters of start?', 'port, host', repo)).file, 'app/Main.java');
  assert.equal((await checkAnswer('What are the parameters of add?', 'a, b', repo)).file, 'native/add.c');
  assert.equal((await checkAnswer('What are the parameters of addUp?', 'a, b', repo)).file, 'app/Main.kt');
  // A method's self may be left out; a wrong list names what the function takes.
  assert.equal((await checkAnswer('What are the parameters of step?', 'n', repo)).status, 'checked');
  assert.match((await checkAnswer('What are the parameters of build?', 'items', repo)).detail, /`build` takes \(items, depth\) in lib\/tool.rb:5/);
});

test('importers: every listed file imports the module (specifier, relative path, Python module, imported name)', async () => {
  assert.deepEqual(await checkAnswer('Which files import `./pot`?', 'src/main.js', repo), { status: 'checked', kind: 'importers', file: 'src/main.js', line: 1, detail: 'src/main.js imports `./pot`' });
  assert.equal((await checkAnswer('Which files import `src/pot.ts`?', 'src/main.js', repo)).status, 'checked');
  assert.equal((await checkAnswer('Who imports node:fs/promises?', 'src/pot.ts', repo)).status, 'checked');
  assert.equal((await checkAnswer('Who imports os?', 'pkg/util.py, cmd/main.go', repo)).status, 'checked');
  assert.equal((await checkAnswer('Which files import `pkg/base.py`?', 'pkg/util.py', repo)).line, 2);
  assert.equal((await checkAnswer('Which files import json?', 'lib/tool.rb', repo)).status, 'checked');
  assert.equal((await checkAnswer('Who imports Policy?', 'src/pot.ts', repo)).status, 'checked');
  const partly = await checkAnswer('Who imports os?', 'pkg/util.py, src/pot.ts', repo);
  assert.deepEqual([partly.status, partly.detail], ['not-found', 'src/pot.ts does not import `os`']);
  assert.equal((await checkAnswer('Who imports os?', 'pkg/missing.py', repo)).status, 'not-found');
});

test('free-form answers are labelled unverifiable; an aborted check rejects', async () => {
  const free = await checkAnswer('How does the pot work?', 'It keeps the tokens that matter.', repo);
  assert.deepEqual([free.status, free.file, formatVerdict(free)], ['unverifiable', undefined, 'not checked: a free-form answer']);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(checkAnswer('What is the value of MAX_SLOTS?', '128', repo, ac.signal), { name: 'AbortError' });
});

test('workspace symbols: top-level definitions for completing question forms, by prefix', async () => {
  const all = await workspaceSymbols(repo);
  assert.ok(all.some((s) => s.name === 'makePot' && s.path === 'src/pot.ts' && s.line === 11 && s.kind === 'function'));
  assert.ok(!all.some((s) => s.name === 'step'), 'methods are not offered');
  assert.deepEqual((await workspaceSymbols(repo, { prefix: 'max' })).map((s) => s.name), ['MAX', 'MAX_DEPTH', 'MAX_SLOTS']);
});
