// Status writing shared by every reconcile: server-side apply of the status subresource under
// the operator's field manager, and standard conditions stamped with observedGeneration.
import { isDeepStrictEqual } from 'node:util';
import type { Condition } from '@plinth/api';
import {
  type ConditionInput,
  type KubeClient,
  type KubeObject,
  type ReconcileFailure,
  type ResourceType,
  RetryAfterError,
  recordEvent,
  setCondition,
  TerminalError,
} from '@plinth/kube';

/**
 * Applies `status` to the object's status subresource, unless the object (as the cache holds
 * it) already has exactly that status: a reconcile of a converged object writes nothing.
 * `foreign` names status fields another field manager writes (left out of the comparison).
 */
export function statusWriter<S>(
  client: KubeClient,
  type: ResourceType,
  apiVersion: string,
  fieldManager: string,
  foreign: readonly string[] = [],
) {
  const plain = (x: unknown) => JSON.parse(JSON.stringify(x ?? {}));
  return async (obj: { metadata: { name?: string; namespace?: string }; status?: unknown }, status: S) => {
    const current = { ...(obj.status as Record<string, unknown> | undefined) };
    for (const k of foreign) delete current[k];
    if (isDeepStrictEqual(plain(current), plain(status))) return;
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

/** Reads a Secret: from the operator's shared cache, or the API server (the CLI). */
export type SecretOf = (
  namespace: string,
  name: string,
) => Promise<SecretObject | undefined> | SecretObject | undefined;

/**
 * A reader of Secret values in one namespace, from the shared Secret cache; a missing Secret or
 * key calls `missing` with a reason and a message naming it.
 */
export function secretReader(
  secretOf: SecretOf,
  namespace: string,
  missing: (reason: 'SecretNotFound' | 'SecretKeyNotFound', message: string) => Promise<never>,
) {
  return async (ref: { name: string; key: string }): Promise<string> => {
    const s = await secretOf(namespace, ref.name);
    if (!s) return missing('SecretNotFound', `Secret ${namespace}/${ref.name} does not exist`);
    const value = s.data?.[ref.key];
    if (value === undefined)
      return missing('SecretKeyNotFound', `Secret ${namespace}/${ref.name} has no key "${ref.key}"`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
}

type Reported = {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; generation?: number; deletionTimestamp?: string };
};
type ReportedStatus = { conditions?: Condition[]; lastError?: string; observedGeneration?: number };

/**
 * How every kind reports trouble, the same way: status (Ready/Degraded with a reason, lastError)
 * and a Warning Event (aggregated: a retry loop raises one Event's count). For a reconcile:
 * `waiting` (something it names is missing: Ready=False, retried after `retryMs`), `refuse` (the
 * spec cannot work: Ready=False and Degraded=True, not retried until it changes), and `onError`,
 * the controller's handler for anything else thrown (Degraded=True; with `notReadyOnError`, Ready=False
 * too, for kinds whose readiness a failed apply undoes).
 */
export function reporter<O extends Reported & { status?: S }, S extends ReportedStatus>(opts: {
  client: KubeClient;
  write: (obj: O, status: S) => Promise<void>;
  component: string;
  retryMs: number;
  notReadyOnError?: string;
}) {
  const event = (obj: O, reason: string, message: string) =>
    recordEvent(opts.client, obj as KubeObject, { type: 'Warning', reason, message, component: opts.component }).catch(
      () => {}, // an Event is best effort: the status already says it
    );
  const report = async (obj: O, list: ConditionInput[], message: string, generation: boolean) => {
    await opts.write(obj, {
      ...obj.status,
      ...(generation ? { observedGeneration: obj.metadata.generation } : {}),
      lastError: message,
      conditions: withConditions(obj, list),
    } as S);
  };
  return {
    async waiting(obj: O, reason: string, message: string): Promise<never> {
      await report(obj, [{ type: 'Ready', status: 'False', reason, message }], message, true);
      await event(obj, reason, message);
      throw new RetryAfterError(opts.retryMs, message);
    },
    async refuse(obj: O, reason: string, message: string): Promise<never> {
      const list: ConditionInput[] = [
        { type: 'Ready', status: 'False', reason, message },
        { type: 'Degraded', status: 'True', reason, message },
      ];
      await report(obj, list, message, true);
      await event(obj, reason, message);
      throw new TerminalError(message, { reported: true });
    },
    async onError(failure: ReconcileFailure, obj: O | undefined): Promise<void> {
      if (!obj || obj.metadata.deletionTimestamp) return;
      if (failure.error instanceof TerminalError && failure.error.reported) return; // refuse() did
      const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
      // No retry delay in the Event: the same failure again is the same Event, its count raised.
      const next = failure.terminal ? 'will not retry until the spec changes' : 'retrying with backoff';
      const reason = failure.terminal ? 'InvalidSpec' : (opts.notReadyOnError ?? 'ReconcileError');
      const degraded: ConditionInput = { type: 'Degraded', status: 'True', reason, message };
      // A spec that cannot work is not Ready; a transient failure leaves Ready as it was, unless
      // the kind says a failed reconcile undoes it.
      const notReady = failure.terminal || opts.notReadyOnError !== undefined;
      await report(
        obj,
        notReady ? [{ ...degraded, type: 'Ready', status: 'False' }, degraded] : [degraded],
        message,
        failure.terminal,
      );
      await event(obj, reason, `${message} (${next})`);
    },
  };
}
