// The import check: it passes on this repository, and fails, naming the file, the line and
// what to import instead, on each kind of import that breaks the arrows.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { importProblems, specifiers, staleExceptions } from './check-imports.ts';

const ROOT = join(import.meta.dirname, '..');

/** A repository of `files` (path -> text) in a temporary folder. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'plinth-imports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
const pkg = (name: string) => JSON.stringify({ name });
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('check-imports', () => {
  it('finds nothing wrong in this repository', () => {
    assert.deepEqual(importProblems(ROOT), []);
    assert.deepEqual(staleExceptions(ROOT), []);
  });

  it('fails on an app importing another app, by name or by path, and says what to import instead', () => {
    const root = tree({
      'apps/operator/package.json': pkg('@plinth/operator'),
      'apps/operator/src/app.ts': 'export const planDatabase = 1;\nexport const build = 2;\n',
      'apps/cli/package.json': pkg('@plinth/cli'),
      'apps/cli/src/commands/db.ts':
        "import { x } from './x.ts';\n// import { old } from '@plinth/operator';\nimport {\n  build,\n  planDatabase,\n} from '@plinth/operator';\n",
      'apps/cli/src/commands/dev.ts': "import { build } from '../../../operator/src/app.ts';\n",
      'apps/cli/src/commands/x.ts': 'export const x = 1;\n',
      'packages/pg-access/package.json': pkg('@plinth/pg-access'),
      'packages/pg-access/src/index.ts': "export { planDatabase } from './database.ts';\n",
      'packages/pg-access/src/database.ts': 'export const planDatabase = 1;\n',
    });
    made.push(root);
    const problems = importProblems(root);
    assert.deepEqual(
      problems.map((p) => `${p.file}:${p.line} ${p.specifier}`),
      ['apps/cli/src/commands/db.ts:6 @plinth/operator', 'apps/cli/src/commands/dev.ts:1 ../../../operator/src/app.ts'],
    );
    assert.match(problems[0]?.message ?? '', /apps must not import apps/);
    assert.match(problems[0]?.message ?? '', /import planDatabase from @plinth\/pg-access/);
    assert.match(problems[0]?.message ?? '', /move build into a package/);
    assert.match(problems[1]?.message ?? '', /reaches into the app @plinth\/operator/);
  });

  it('fails on a package importing an app, and on reaching into a package by path', () => {
    const root = tree({
      'apps/gateway/package.json': pkg('@plinth/gateway'),
      'apps/gateway/src/app.ts': "import { y } from '../../../packages/api/src/index.ts';\nexport const y2 = y;\n",
      'packages/api/package.json': pkg('@plinth/api'),
      'packages/api/src/index.ts': 'export const y = 1;\n',
      'packages/platform/package.json': pkg('@plinth/platform'),
      'packages/platform/src/index.ts': "export const z = await import('@plinth/gateway');\n",
    });
    made.push(root);
    assert.deepEqual(
      importProblems(root).map((p) => `${p.file}:${p.line} ${p.message.split(':')[0]}`),
      [
        "apps/gateway/src/app.ts:1 reaches into @plinth/api's files by a relative path",
        'packages/platform/src/index.ts:1 imports the app @plinth/gateway',
      ],
    );
  });

  it('allows the composition root of ADR 0007, and an app importing itself by name', () => {
    const root = tree({
      'apps/gateway/package.json': pkg('@plinth/gateway'),
      'apps/gateway/src/app.ts': "export { build } from '@plinth/gateway';\n",
      'apps/connector/package.json': pkg('@plinth/connector'),
      'apps/connector/src/app.ts': 'export const build = 1;\n',
      'apps/cli/package.json': pkg('@plinth/cli'),
      'apps/cli/src/commands/dev.ts':
        "import { build } from '@plinth/gateway';\nimport { build as c } from '@plinth/connector';\n",
    });
    made.push(root);
    assert.deepEqual(importProblems(root), []);
  });

  it('reads every form of import and re-export, not commented ones', () => {
    const text = [
      "import a from 'a';",
      "import type { B } from 'b';",
      "export * from 'c';",
      "import 'd';",
      "/* import x from 'x'; */",
      "const e = await import('e');",
      "export { f, type G } from 'f';",
    ].join('\n');
    assert.deepEqual(
      specifiers(text).map((s) => `${s.line}:${s.specifier}`),
      ['1:a', '2:b', '3:c', '4:d', '6:e', '7:f'],
    );
  });
});
