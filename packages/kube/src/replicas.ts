// A Deployment's replica count has one writer in Plinth: whoever sets it (the Function
// reconcile for a new or retired revision, the autoscaler, the gateway waking a revision from
// zero) goes through setReplicas, with one field manager and one mechanism (a merge patch of
// the scale subresource, which needs only `deployments/scale`). The Deployment applied by the
// operator never states replicas, so the two never fight over the field.
import type { Access } from './access.ts';
import type { KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import { pathFor, Resources } from './resources.ts';

/** The field manager that owns `spec.replicas` of every revision Deployment. */
export const REPLICAS_MANAGER = 'plinth-autoscaler';

/** What setReplicas needs (getReplicas adds get). */
export const replicasAccess: Access[] = [{ type: Resources.Deployment, subresource: 'scale', verbs: ['patch'] }];

export async function setReplicas(
  client: KubeClient,
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  await client.request('PATCH', pathFor(Resources.Deployment, { namespace, name, subresource: 'scale' }), {
    body: { spec: { replicas } },
    contentType: 'application/merge-patch+json',
    query: { fieldManager: REPLICAS_MANAGER },
  });
}

/** The replicas a Deployment asks for, from its scale subresource (undefined when it is gone). */
export async function getReplicas(client: KubeClient, namespace: string, name: string): Promise<number | undefined> {
  const scale = await client
    .request<{ spec?: { replicas?: number } }>(
      'GET',
      pathFor(Resources.Deployment, { namespace, name, subresource: 'scale' }),
    )
    .catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
  return scale ? (scale.spec?.replicas ?? 0) : undefined;
}
