// Server-side apply that skips the request when the shared cache shows it would change
// nothing: the object was last applied from the same rendering (a hash in an annotation) and
// every field the rendering states still has that value (so a hand edit of a field the
// operator owns is repaired). A level-triggered reconcile then costs no writes when it runs
// again on a converged object, as most of its runs do.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KubeClient, KubeObject } from './client.ts';
import type { Informer } from './informer.ts';
import type { ResourceType } from './resources.ts';

/** The hash of the rendering last applied, on every object applyCached writes. */
export const APPLIED_HASH = 'plinth.dev/applied-hash';

/** Whether every field `want` states has the same value in `have` (arrays element by element, same length). */
export function statesAll(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => statesAll(w, have[i]));
  }
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(
      ([k, v]) => v === undefined || statesAll(v, (have as Record<string, unknown>)[k]),
    );
  }
  return isDeepStrictEqual(want, have);
}

/**
 * Applies `obj` unless `cache` holds it as applied from this same rendering with every stated
 * field intact. Returns whether a request was made.
 */
export async function applyCached<T extends KubeObject>(
  client: KubeClient,
  cache: Informer<KubeObject>,
  type: ResourceType,
  obj: T,
  opts: { fieldManager: string },
): Promise<boolean> {
  const hash = createHash('sha256').update(JSON.stringify(obj)).digest('base64url').slice(0, 16);
  const stamped = {
    ...obj,
    metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [APPLIED_HASH]: hash } },
  };
  const live = cache.get({ namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? '' });
  // Objects in a list carry no apiVersion and kind: compare the rest.
  const { apiVersion: _, kind: __, ...stated } = stamped;
  if (live?.metadata?.annotations?.[APPLIED_HASH] === hash && statesAll(stated, live)) return false;
  await client.apply(type, stamped, opts);
  return true;
}
