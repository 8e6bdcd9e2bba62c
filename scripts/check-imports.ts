// `npm run check:imports`: the dependency arrows of DESIGN.md and ADR 0007. Packages never
// import an app; an app never imports another app, by its package name (@plinth/<app>) or by a
// relative path out of its own folder; and no workspace reaches into another's files by a
// relative path (import the package instead). The one exception is the composition root of
// ADR 0007, listed below by file. Each problem is printed as file:line with what to import
// instead; the exit status is 1 when there is any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Imports of apps that ADR 0007 allows: the composition root composing apps' build(deps). */
export const COMPOSITION_ROOT: readonly { file: string; imports: readonly string[]; why: string }[] = [
  {
    file: 'apps/cli/src/commands/dev.ts',
    imports: ['@plinth/gateway', '@plinth/connector'],
    why: '`plinth dev` runs the gateway and the connector in one process (ADR 0007)',
  },
];

export interface ImportProblem {
  /** Relative to the root, with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  message: string;
}

interface Workspace {
  /** `apps/operator`, `packages/api`. */
  dir: string;
  name: string;
  kind: 'app' | 'package';
}

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const posix = (p: string) => p.split(sep).join('/');

function workspaces(root: string): Workspace[] {
  const out: Workspace[] = [];
  for (const [parent, kind] of [
    ['apps', 'app'],
    ['packages', 'package'],
  ] as const) {
    const base = join(root, parent);
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base, { withFileTypes: true })) {
      const pj = join(base, d.name, 'package.json');
      if (!d.isDirectory() || !existsSync(pj)) continue;
      const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name ?? `@plinth/${d.name}`;
      out.push({ dir: `${parent}/${d.name}`, name, kind });
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : sourceFiles(p);
    return SOURCE.test(d.name) && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The text with comments blanked (same length, same lines), so commented-out imports do not count. */
function withoutComments(text: string): string {
  const blank = (m: string) => m.replace(/[^\n]/g, ' ');
  return text.replace(/^[ \t]*\/\*[\s\S]*?\*\//gm, blank).replace(/^[ \t]*\/\/.*$/gm, blank);
}

/** Every module specifier a source file imports or re-exports, with its line. */
export function specifiers(text: string): { specifier: string; line: number }[] {
  const code = withoutComments(text);
  const found: { specifier: string; index: number }[] = [];
  const patterns = [
    // import x from 'm'; import { a, type b } from 'm'; export * from 'm'; import 'm'
    /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w$*{}\s,]*?\s*from\s*)?['"]([^'"\n]+)['"]/g,
    // import('m')
    /\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) found.push({ specifier: m[1] ?? '', index: m.index + m[0].indexOf(m[1] ?? '') });
  }
  return found
    .sort((a, b) => a.index - b.index)
    .map((f) => ({ specifier: f.specifier, line: code.slice(0, f.index).split('\n').length }));
}

/** Exported names of a package's entry, following `export * from './x.ts'`. */
function exportedNames(file: string, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(file) || !existsSync(file)) return names;
  seen.add(file);
  const code = withoutComments(readFileSync(file, 'utf8'));
  for (const m of code.matchAll(/export\s+\*\s+from\s+['"](\.[^'"]+)['"]/g))
    for (const n of exportedNames(resolve(dirname(file), m[1] ?? ''), seen)) names.add(n);
  for (const m of code.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of (m[1] ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop();
      if (name) names.add(name);
    }
  }
  for (const m of code.matchAll(
    /export\s+(?:declare\s+)?(?:async\s+)?(?:const|let|function\*?|class|interface|type|enum)\s+([\w$]+)/g,
  ))
    names.add(m[1] ?? '');
  return names;
}

/** The names an import statement takes (`{ a, type b as c }` -> a, b); empty for `*` or a default. */
function importedNames(text: string, line: number, specifier: string): string[] {
  const code = withoutComments(text);
  const at = code.split('\n').slice(0, line).join('\n').length;
  const start = code.lastIndexOf('import', at);
  const clause = code.slice(start, at + specifier.length + 2);
  const braces = /\{([^}]*)\}/.exec(clause);
  if (!braces) return [];
  return (braces[1] ?? '')
    .split(',')
    .map((p) =>
      p
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]
        ?.trim(),
    )
    .filter((n): n is string => !!n);
}

/** Every import that breaks the arrows under `root`: apps/*\/src and packages/*\/src. */
export function importProblems(root: string): ImportProblem[] {
  const spaces = workspaces(root);
  const apps = new Map(spaces.filter((w) => w.kind === 'app').map((w) => [w.name, w]));
  const packages = spaces.filter((w) => w.kind === 'package');
  const exportsOf = new Map<string, Set<string>>();
  const packageExporting = (name: string): string | undefined =>
    packages.find((p) => {
      if (!exportsOf.has(p.name)) exportsOf.set(p.name, exportedNames(join(root, p.dir, 'src', 'index.ts')));
      return exportsOf.get(p.name)?.has(name);
    })?.name;
  const workspaceOf = (abs: string) =>
    spaces.find((w) => {
      const r = relative(join(root, w.dir), abs);
      return !r.startsWith('..') && !isAbsolute(r);
    });
  /** What to import instead of `names` from an app. */
  const instead = (names: string[]): string => {
    const homes = names.map((n) => [n, packageExporting(n)] as const);
    const found = homes.filter(([, p]) => p).map(([n, p]) => `${n} from ${p}`);
    const missing = homes.filter(([, p]) => !p).map(([n]) => n);
    return [
      ...(found.length ? [`import ${found.join(', ')}`] : []),
      ...(missing.length || !names.length
        ? [
            `move ${missing.length ? missing.join(', ') : 'what it needs'} into a package (packages/) and import it from there`,
          ]
        : []),
    ].join('; ');
  };

  const problems: ImportProblem[] = [];
  for (const from of spaces) {
    for (const abs of sourceFiles(join(root, from.dir, 'src'))) {
      const file = posix(relative(root, abs));
      const text = readFileSync(abs, 'utf8');
      for (const { specifier, line } of specifiers(text)) {
        const report = (message: string) => problems.push({ file, line, specifier, message });
        if (specifier.startsWith('.')) {
          const target = workspaceOf(resolve(dirname(abs), specifier));
          if (!target || target.dir === from.dir) continue;
          if (target.kind === 'app') {
            report(
              `reaches into the app ${target.name} by a relative path: ${from.kind === 'app' ? 'apps' : 'packages'} must not import apps; ${instead(importedNames(text, line, specifier))}`,
            );
          } else {
            report(`reaches into ${target.name}'s files by a relative path: import '${target.name}' instead`);
          }
          continue;
        }
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
        const app = name ? apps.get(name) : undefined;
        if (!app || app.dir === from.dir) continue;
        if (COMPOSITION_ROOT.some((c) => c.file === file && c.imports.includes(name ?? ''))) continue;
        report(
          `imports the app ${app.name}: ${from.kind === 'app' ? 'apps' : 'packages'} must not import apps (DESIGN.md, ADR 0007); ${instead(importedNames(text, line, specifier))}`,
        );
      }
    }
  }
  return problems;
}

/** Entries of COMPOSITION_ROOT whose file is gone: the list says what is allowed, so it stays true. */
export function staleExceptions(root: string): string[] {
  return COMPOSITION_ROOT.filter((c) => !existsSync(join(root, c.file)) || !statSync(join(root, c.file)).isFile()).map(
    (c) => c.file,
  );
}

if (import.meta.main) {
  const root = join(import.meta.dirname, '..');
  const problems = importProblems(root);
  for (const p of problems) process.stderr.write(`${p.file}:${p.line}: '${p.specifier}' ${p.message}\n`);
  const stale = staleExceptions(root);
  for (const f of stale) process.stderr.write(`scripts/check-imports.ts: COMPOSITION_ROOT lists ${f}, which is gone\n`);
  if (problems.length || stale.length) process.exit(1);
  process.stdout.write('imports: no app imports another app, no package imports an app\n');
}
