// A Plinth process the operator runs for an object (a KafkaTrigger's connector, a GraphQLApi's
// server): its config file in a Secret of its own, a ServiceAccount without a token, and a
// restricted Deployment that mounts the file read-only and carries the file's hash on its pod
// template, so a changed config (a rotated password) rolls the pods. Pure.
import { createHash } from 'node:crypto';
import { type Placement, placementSpec } from '@plinth/api';
import {
  type KubeObject,
  type OwnerReference,
  Resources,
  type ResourceType,
  restrictedContainer,
  restrictedPod,
} from '@plinth/kube';

export const CONFIG_HASH = 'plinth.dev/config-hash';

/** The types of what renderConfiguredWorkload makes, and a Service beside it, by kind. */
export const CONFIGURED_TYPES: Record<string, ResourceType> = {
  Secret: Resources.Secret,
  ServiceAccount: Resources.ServiceAccount,
  Deployment: Resources.Deployment,
  Service: Resources.Service,
};
const CONFIG_DIR = '/etc/plinth';

export interface ConfiguredWorkload {
  name: string;
  namespace: string;
  /** On every object and the pods; includes `selector`. */
  labels: Record<string, string>;
  selector: Record<string, string>;
  owner: OwnerReference[];
  replicas: number;
  placement: Placement;
  /** The config file: its name under /etc/plinth, the variable that points the process at it, and its content. */
  config: { file: string; env: string; content: unknown };
  /** The one container: everything but the config mount, the security context and the env it always gets. */
  container: { name: string; image: string; env?: Record<string, unknown>[] } & Record<string, unknown>;
  /** More volumes (and the container's volumeMounts for them). */
  volumes?: { volume: Record<string, unknown>; mount: Record<string, unknown> }[];
  terminationGracePeriodSeconds?: number;
}

/** The config Secret, the ServiceAccount and the Deployment, in the order they are applied. */
export function renderConfiguredWorkload(w: ConfiguredWorkload): KubeObject[] {
  const json = JSON.stringify(w.config.content, null, 2);
  const hash = createHash('sha256').update(json).digest('hex').slice(0, 16);
  const metadata = (name: string) => ({ name, namespace: w.namespace, labels: w.labels, ownerReferences: w.owner });
  const { env = [], ...container } = w.container;
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(`${w.name}-config`),
      type: 'Opaque',
      data: { [w.config.file]: Buffer.from(json).toString('base64') },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(w.name), automountServiceAccountToken: false },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(w.name),
      spec: {
        replicas: w.replicas,
        selector: { matchLabels: w.selector },
        template: {
          metadata: { labels: w.labels, annotations: { [CONFIG_HASH]: hash } },
          spec: {
            serviceAccountName: w.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPod,
            ...placementSpec(w.placement),
            ...(w.terminationGracePeriodSeconds !== undefined
              ? { terminationGracePeriodSeconds: w.terminationGracePeriodSeconds }
              : {}),
            containers: [
              {
                ...container,
                env: [
                  { name: w.config.env, value: `${CONFIG_DIR}/${w.config.file}` },
                  ...env,
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                ],
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  ...(w.volumes ?? []).map((v) => v.mount),
                ],
                securityContext: restrictedContainer,
              },
            ],
            volumes: [
              { name: 'config', secret: { secretName: `${w.name}-config`, defaultMode: 0o440 } },
              ...(w.volumes ?? []).map((v) => v.volume),
            ],
          },
        },
      },
    },
  ] as unknown as KubeObject[];
}
