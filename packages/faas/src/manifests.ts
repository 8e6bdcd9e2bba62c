// Function manifests on disk, as `plinth dev` reads them: every Function document in the
// YAML files under a directory, validated with the kind's own schema and rules.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { FunctionKind, type FunctionObject } from '@plinth/api';
import { parseAllDocuments } from 'yaml';

export interface FunctionManifest {
  file: string;
  /** The manifest's directory: where `plinth dev` finds code for `source.configMap`. */
  dir: string;
  object: FunctionObject;
}

export class ManifestError extends Error {
  readonly file: string;
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
    this.file = file;
    this.problems = problems;
  }
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** Loads and validates; throws one ManifestError listing every problem of the first bad file. */
export function loadFunctionManifests(root: string): FunctionManifest[] {
  const manifests: FunctionManifest[] = [];
  for (const file of yamlFiles(root)) {
    const rel = relative(process.cwd(), file) || file;
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length)
        throw new ManifestError(
          rel,
          doc.errors.map((e) => e.message),
        );
      const obj = doc.toJS() as { kind?: string; apiVersion?: string; metadata?: { name?: string } } | null;
      if (obj?.kind !== 'Function' || obj.apiVersion !== FunctionKind.apiVersion) continue;
      const where = docs.length > 1 ? `document ${i + 1}: ` : '';
      const problems = FunctionKind.validate(obj).map((p) => `${where}${p.path}: ${p.message}`);
      if (!obj.metadata?.name) problems.unshift(`${where}metadata.name is required`);
      if (problems.length) throw new ManifestError(rel, problems);
      const object = obj as FunctionObject;
      object.metadata.namespace ??= 'default';
      object.spec = FunctionKind.withDefaults(object.spec);
      manifests.push({ file, dir: dirname(file), object });
    }
  }
  const seen = new Set<string>();
  for (const m of manifests) {
    const key = `${m.object.metadata.namespace}/${m.object.metadata.name}`;
    if (seen.has(key)) throw new ManifestError(relative(process.cwd(), m.file), [`Function ${key} is declared twice`]);
    seen.add(key);
  }
  return manifests;
}
