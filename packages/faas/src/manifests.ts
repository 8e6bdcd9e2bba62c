// Function manifests on disk, as `plinth dev` reads them: every Function document in the
// YAML files under a directory, validated with the kind's own schema and rules.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import {
  FunctionKind,
  type FunctionObject,
  KafkaTriggerKind,
  type KafkaTriggerObject,
  TenantKind,
  type TenantObject,
} from '@plinth/api';
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
  for (const { file, obj, where } of documents(root)) {
    if (obj.kind !== 'Function' || obj.apiVersion !== FunctionKind.apiVersion) continue;
    const problems = FunctionKind.validate(obj).map((p) => `${where}${p.path}: ${p.message}`);
    if (!obj.metadata?.name) problems.unshift(`${where}metadata.name is required`);
    if (problems.length) throw new ManifestError(relative(process.cwd(), file), problems);
    const object = obj as FunctionObject;
    object.metadata.namespace ??= 'default';
    object.spec = FunctionKind.withDefaults(object.spec);
    manifests.push({ file, dir: dirname(file), object });
  }
  const seen = new Set<string>();
  for (const m of manifests) {
    const key = `${m.object.metadata.namespace}/${m.object.metadata.name}`;
    if (seen.has(key)) throw new ManifestError(relative(process.cwd(), m.file), [`Function ${key} is declared twice`]);
    seen.add(key);
  }
  return manifests;
}

export interface TriggerManifest {
  file: string;
  object: KafkaTriggerObject;
}

/** Every KafkaTrigger under root, validated; namespace defaults to `default`. */
export function loadTriggerManifests(root: string): TriggerManifest[] {
  const out: TriggerManifest[] = [];
  for (const { file, obj, where } of documents(root)) {
    if (obj.kind !== 'KafkaTrigger' || obj.apiVersion !== KafkaTriggerKind.apiVersion) continue;
    const problems = KafkaTriggerKind.validate(obj).map((p) => `${where}${p.path}: ${p.message}`);
    if (!obj.metadata?.name) problems.unshift(`${where}metadata.name is required`);
    if (problems.length) throw new ManifestError(relative(process.cwd(), file), problems);
    const object = obj as KafkaTriggerObject;
    object.metadata.namespace ??= 'default';
    object.spec = KafkaTriggerKind.withDefaults(object.spec);
    out.push({ file, object });
  }
  return out;
}

/** Every Tenant under root, validated: `plinth dev` applies their route grants as a cluster does. */
export function loadTenantManifests(root: string): TenantObject[] {
  const out: TenantObject[] = [];
  for (const { file, obj, where } of documents(root)) {
    if (obj.kind !== 'Tenant' || obj.apiVersion !== TenantKind.apiVersion) continue;
    const problems = TenantKind.validate(obj).map((p) => `${where}${p.path}: ${p.message}`);
    if (!obj.metadata?.name) problems.unshift(`${where}metadata.name is required`);
    if (problems.length) throw new ManifestError(relative(process.cwd(), file), problems);
    const object = obj as TenantObject;
    object.spec = TenantKind.withDefaults(object.spec);
    out.push(object);
  }
  return out;
}

/** Secrets under root (stringData, or base64 data), by `namespace/name`. */
export function loadSecretManifests(root: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const { obj } of documents(root)) {
    if (obj.kind !== 'Secret' || obj.apiVersion !== 'v1' || !obj.metadata?.name) continue;
    const s = obj as { data?: Record<string, string>; stringData?: Record<string, string> };
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) values[k] = Buffer.from(v, 'base64').toString('utf8');
    Object.assign(values, s.stringData ?? {});
    out.set(`${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`, values);
  }
  return out;
}

type Doc = { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string } };

function* documents(root: string): Generator<{ file: string; obj: Doc; where: string }> {
  for (const file of yamlFiles(root)) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length)
        throw new ManifestError(
          relative(process.cwd(), file),
          doc.errors.map((e) => e.message),
        );
      const obj = doc.toJS() as Doc | null;
      if (obj) yield { file, obj, where: docs.length > 1 ? `document ${i + 1}: ` : '' };
    }
  }
}
