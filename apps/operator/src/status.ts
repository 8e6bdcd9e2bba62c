// Status writing shared by every reconcile: server-side apply of the status subresource under
// the operator's field manager, and standard conditions stamped with observedGeneration.
import type { Condition } from '@plinth/api';
import { type ConditionInput, type KubeClient, type KubeObject, type ResourceType, setCondition } from '@plinth/kube';

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

/** The securityContext every container Plinth runs gets (Pod Security "restricted"). */
export const restrictedContainer = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The pod-level securityContext for the same. */
export const restrictedPod = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};
