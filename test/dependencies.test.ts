// One version of each dependency: every workspace (and the root) that declares a package
// declares the same range, and the lockfile installs one copy of it for all of them. Fails
// naming the package and who declares what, so a bump in one workspace is made in all.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const SECTIONS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;
type PackageJson = { name?: string; workspaces?: string[] } & Partial<
  Record<(typeof SECTIONS)[number], Record<string, string>>
>;
const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;

/** The root and every workspace folder (`dir/*` globs and plain folders), relative to the root. */
function workspaceDirs(): string[] {
  const globs = readJson<PackageJson>('package.json').workspaces ?? [];
  const dirs = globs.flatMap((g) =>
    g.endsWith('/*')
      ? readdirSync(join(ROOT, g.slice(0, -2)), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => `${g.slice(0, -2)}/${d.name}`)
      : [g],
  );
  return ['', ...dirs.filter((d) => existsSync(join(ROOT, d, 'package.json')))];
}

const declared = new Map<string, Map<string, string[]>>(); // package -> range -> declaring workspaces
for (const dir of workspaceDirs()) {
  const pj = readJson<PackageJson>(join(dir, 'package.json'));
  for (const section of SECTIONS) {
    for (const [name, range] of Object.entries(pj[section] ?? {})) {
      const ranges = declared.get(name) ?? new Map<string, string[]>();
      ranges.set(range, [...(ranges.get(range) ?? []), dir || '(root)']);
      declared.set(name, ranges);
    }
  }
}

it('every workspace declares the same range of a dependency', () => {
  const split = [...declared]
    .filter(([, ranges]) => ranges.size > 1)
    .map(([name, ranges]) => `${name}: ${[...ranges].map(([r, where]) => `${r} in ${where.join(', ')}`).join('; ')}`);
  assert.deepEqual(split, [], `align these on one range:\n  ${split.join('\n  ')}`);
});

it('the lockfile installs one version of each declared dependency', () => {
  const lock = readJson<{ packages: Record<string, { version?: string; link?: boolean }> }>('package-lock.json');
  const split: string[] = [];
  for (const name of declared.keys()) {
    // The copies a workspace itself resolves: hoisted to the root, or nested in a workspace.
    const copies = Object.entries(lock.packages).filter(
      ([path, entry]) => !entry.link && (path === `node_modules/${name}` || path.endsWith(`/node_modules/${name}`)),
    );
    const versions = new Set(
      copies
        .filter(([path]) => !path.slice(0, -`node_modules/${name}`.length).includes('node_modules/'))
        .map(([, e]) => e.version),
    );
    if (versions.size > 1) split.push(`${name}: ${[...versions].join(', ')}`);
  }
  assert.deepEqual(split, [], `run npm install after aligning the ranges; installed twice:\n  ${split.join('\n  ')}`);
});
