// Status writing shared by every reconcile: server-side apply of the status subresource under
// the operator's field manager, and standard conditions stamped with observedGeneration.
import type { Condition } from '@plinth/api';
import {
  type ConditionInput,
  type KubeClient,
  type KubeObject,
  type ReconcileFailure,
  Resources,
  type ResourceType,
  RetryAfterError,
  setCondition,
} from '@plinth/kube';

/** Applies `status` to the object's status subresource. */
export function statusWriter<S>(client: KubeClient, type: ResourceType, apiVersion: string, fieldManager: string) {
  return async (obj: { metadata: { name?: string; namespace?: string } }, status: S): Promise<void> => {
    await client.apply(
      type,
      {
        apiVersion,
        kind: type.kind,
        metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
        status,
      } as KubeObject,
      { fieldManager, subresource: 'status' },
    );
  };
}

/** The object's conditions with `list` set, each for the object's current generation. */
export function withConditions(
  obj: { metadata: { generation?: number }; status?: { conditions?: Condition[] } },
  list: ConditionInput[],
  now?: Date,
): Condition[] {
  let c = obj.status?.conditions;
  for (const x of list) c = setCondition(c, x, { observedGeneration: obj.metadata.generation, now });
  return c ?? [];
}

export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

/**
 * A reader of Secret values in one namespace for one reconcile (each Secret fetched once);
 * a missing Secret or key calls `missing` with a reason and a message naming it.
 */
export function secretReader(
  client: KubeClient,
  namespace: string,
  missing: (reason: 'SecretNotFound' | 'SecretKeyNotFound', message: string) => Promise<never>,
) {
  const cache = new Map<string, Promise<SecretObject | undefined>>();
  return async (ref: { name: string; key: string }): Promise<string> => {
    let secret = cache.get(ref.name);
    if (!secret) {
      secret = client.get<SecretObject>(Resources.Secret, { namespace, name: ref.name });
      cache.set(ref.name, secret);
    }
    const s = await secret;
    if (!s) return missing('SecretNotFound', `Secret ${namespace}/${ref.name} does not exist`);
    const value = s.data?.[ref.key];
    if (value === undefined)
      return missing('SecretKeyNotFound', `Secret ${namespace}/${ref.name} has no key "${ref.key}"`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
}

/**
 * For a reconcile that must wait on something the object names: writes Ready=False with the
 * reason and message (and lastError) to status, then retries after `retryMs`.
 */
export function waiter<
  O extends { metadata: { name?: string; namespace?: string; generation?: number }; status?: S },
  S extends { conditions?: Condition[]; lastError?: string; observedGeneration?: number },
>(write: (obj: O, status: S) => Promise<void>, retryMs: number) {
  return async (obj: O, reason: string, message: string): Promise<never> => {
    await write(obj, {
      ...obj.status,
      observedGeneration: obj.metadata.generation,
      lastError: message,
      conditions: withConditions(obj, [{ type: 'Ready', status: 'False', reason, message }]),
    } as S);
    throw new RetryAfterError(retryMs, message);
  };
}

/** The usual onError: Degraded=True with the error (InvalidSpec when terminal), lastError set. */
export function degradedOnError<
  O extends {
    metadata: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: string };
    status?: S;
  },
  S extends { conditions?: Condition[]; lastError?: string },
>(write: (obj: O, status: S) => Promise<void>) {
  return async (failure: ReconcileFailure, obj: O | undefined): Promise<void> => {
    if (!obj || obj.metadata.deletionTimestamp) return;
    const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
    await write(obj, {
      ...obj.status,
      lastError: message,
      conditions: withConditions(obj, [
        { type: 'Degraded', status: 'True', reason: failure.terminal ? 'InvalidSpec' : 'ReconcileError', message },
      ]),
    } as S);
  };
}
