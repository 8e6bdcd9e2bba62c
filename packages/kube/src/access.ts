// What a process may do in the API, declared beside the code that does it. Each reconciler
// lists the types and verbs it uses; rulesOf merges the declarations into the RBAC rules of the
// process's ClusterRole, so the role is generated from the code instead of kept by hand.
import type { ResourceType } from './resources.ts';

export type Verb =
  | 'get'
  | 'list'
  | 'watch'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'deletecollection'
  | 'bind'
  | 'escalate'
  | 'impersonate';

/** Read from a shared informer: the list and watch that fill it, and get. */
export const READ = ['get', 'list', 'watch'] as const satisfies readonly Verb[];
/**
 * Server-side apply: a PATCH, which the API server also authorizes as create when the object
 * does not exist yet.
 */
export const APPLY = ['create', 'patch'] as const satisfies readonly Verb[];

export interface Access {
  readonly type: ResourceType;
  readonly verbs: readonly Verb[];
  /** e.g. 'status', 'scale', 'finalizers'. */
  readonly subresource?: string;
  /** Only these objects (RBAC resourceNames). */
  readonly resourceNames?: readonly string[];
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const VERB_ORDER: readonly Verb[] = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'bind',
  'escalate',
  'impersonate',
];

/**
 * The RBAC rules that grant exactly the declared access: verbs united per resource, then
 * resources with the same group, verbs and names grouped into one rule; sorted, so the output
 * is stable whatever order the declarations come in.
 */
export function rulesOf(access: readonly Access[]): PolicyRule[] {
  const byResource = new Map<string, { group: string; resource: string; names: string; verbs: Set<Verb> }>();
  for (const a of access) {
    const resource = a.subresource ? `${a.type.plural}/${a.subresource}` : a.type.plural;
    const names = [...(a.resourceNames ?? [])].sort().join(',');
    const key = `${a.type.group}|${resource}|${names}`;
    const entry = byResource.get(key) ?? { group: a.type.group, resource, names, verbs: new Set<Verb>() };
    for (const v of a.verbs) entry.verbs.add(v);
    byResource.set(key, entry);
  }
  const rules = new Map<string, PolicyRule>();
  for (const e of byResource.values()) {
    const verbs = VERB_ORDER.filter((v) => e.verbs.has(v));
    const key = `${e.group}|${verbs.join(',')}|${e.names}`;
    const rule = rules.get(key) ?? {
      apiGroups: [e.group],
      resources: [],
      verbs,
      ...(e.names ? { resourceNames: e.names.split(',') } : {}),
    };
    rule.resources.push(e.resource);
    rules.set(key, rule);
  }
  for (const r of rules.values()) r.resources.sort();
  const order = (r: PolicyRule) =>
    [r.apiGroups[0], r.resources[0], r.resourceNames ? 1 : 0, r.resourceNames ?? '', r.verbs].join(' ');
  return [...rules.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
