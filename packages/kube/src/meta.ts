// Object metadata helpers: owner references, finalizers, Events.

import { createHash } from 'node:crypto';
import type { Access } from './access.ts';
import type { KubeClient, KubeObject, OwnerReference } from './client.ts';
import { isConflict } from './errors.ts';
import { Resources, type ResourceType } from './resources.ts';

/** An owner reference to `owner`; controller=true makes it the managing controller. */
export function ownerReference(owner: KubeObject, opts: { controller?: boolean } = {}): OwnerReference {
  const { apiVersion, kind, metadata } = owner;
  if (!apiVersion || !kind || !metadata?.name || !metadata.uid) {
    throw new Error('owner needs apiVersion, kind, metadata.name and metadata.uid');
  }
  const controller = opts.controller ?? true;
  return { apiVersion, kind, name: metadata.name, uid: metadata.uid, controller, blockOwnerDeletion: controller };
}

export const hasFinalizer = (obj: KubeObject, finalizer: string): boolean =>
  obj.metadata?.finalizers?.includes(finalizer) ?? false;

/**
 * Adds or removes a finalizer with a merge patch guarded by resourceVersion, so a concurrent
 * change makes it fail with 409 (and the reconcile retries) instead of losing someone's edit.
 */
export async function setFinalizer<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  obj: T,
  finalizer: string,
  present: boolean,
): Promise<T> {
  const current = obj.metadata?.finalizers ?? [];
  if (current.includes(finalizer) === present) return obj;
  const finalizers = present ? [...current, finalizer] : current.filter((f) => f !== finalizer);
  const name = obj.metadata?.name ?? '';
  return client.mergePatch<T>(
    rt,
    { namespace: obj.metadata?.namespace, name },
    { metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } },
  );
}

/** What recordEvent needs: an Event is read, made, or its count raised. */
export const eventAccess: Access[] = [{ type: Resources.Event, verbs: ['get', 'create', 'patch'] }];

export interface EventInput {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** The reporting component, e.g. `plinth-operator`. */
  component: string;
}

/**
 * Records a core/v1 Event about `obj` (shown by `kubectl describe`). The same event again (the
 * same object, type, reason and message: a retry loop) is one Event whose count and
 * lastTimestamp go up, as the kubelet's aggregation does, not one Event per try.
 */
export async function recordEvent(client: KubeClient, obj: KubeObject, event: EventInput): Promise<void> {
  const ns = obj.metadata?.namespace ?? 'default';
  const now = new Date().toISOString();
  const message = event.message.slice(0, 1024);
  const id = createHash('sha256')
    .update([obj.metadata?.uid ?? obj.metadata?.name, event.type, event.reason, message].join('\0'))
    .digest('hex')
    .slice(0, 16);
  const name = `${(obj.metadata?.name ?? 'object').slice(0, 200)}.${id}`;
  // Made first (most Events are new); one that exists already is counted on.
  const created = await client
    .create(Resources.Event, {
      metadata: { namespace: ns, name },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata?.name,
        namespace: obj.metadata?.namespace,
        uid: obj.metadata?.uid,
        resourceVersion: obj.metadata?.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message,
      source: { component: event.component },
      reportingComponent: event.component,
      reportingInstance: event.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    } as KubeObject)
    .then(
      () => true,
      (e: unknown) => {
        if (isConflict(e)) return false;
        throw e;
      },
    );
  if (created) return;
  const existing = await client.get<KubeObject & { count?: number }>(Resources.Event, { namespace: ns, name });
  await client.mergePatch(
    Resources.Event,
    { namespace: ns, name },
    { count: (existing?.count ?? 1) + 1, lastTimestamp: now },
  );
}

/** The securityContext every container Plinth runs gets (Pod Security "restricted"). */
export const restrictedContainer = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * The pod-level securityContext for the same. fsGroup makes mounted Secrets and ConfigMaps
 * (mode 0440) readable by the pod's user.
 */
export const restrictedPod = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  fsGroup: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};
