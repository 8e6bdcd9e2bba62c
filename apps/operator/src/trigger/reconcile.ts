// The KafkaTrigger reconcile: resolve the Function's URL (through the gateway's in-cluster
// Service, with its CA when it serves TLS) and the Secrets the trigger names, render the
// connector's config into a Secret of its own, and run the connector as a Deployment. The config's hash is on the pod template, so a changed password
// rolls the connector. Status: Ready when the connector is available.
import {
  FunctionKind,
  type FunctionObject,
  KafkaTriggerKind,
  type KafkaTriggerObject,
  MANAGED_BY,
  MANAGED_SELECTOR,
} from '@plinth/api';
import { connectorConfig, defaultPrefix, secretRefs } from '@plinth/faas';
import {
  type Access,
  APPLY,
  applyCached,
  type ConditionInput,
  type KubeClient,
  type KubeObject,
  ownerReference,
  READ,
  type ReconcileContext,
  Resources,
  type ResourceType,
  resourceOf,
} from '@plinth/kube';
import type { OperatorConfig } from '../config.ts';
import { CONFIGURED_TYPES, renderConfiguredWorkload } from '../configured.ts';
import type { Caches } from '../function/reconcile.ts';
import { reporter, type SecretOf, secretReader, statusWriter, withConditions } from '../status.ts';

export const KafkaTriggerType = resourceOf(KafkaTriggerKind);

/** What the KafkaTrigger reconcile reads (from the shared caches) and writes. */
export const triggerAccess: Access[] = [
  { type: KafkaTriggerType, verbs: READ },
  { type: KafkaTriggerType, subresource: 'status', verbs: ['patch'] },
  { type: KafkaTriggerType, subresource: 'finalizers', verbs: ['update'] }, // owner of its children
  { type: resourceOf(FunctionKind), verbs: READ },
  { type: Resources.Secret, verbs: [...READ, ...APPLY] },
  { type: Resources.ServiceAccount, verbs: [...READ, ...APPLY] },
  { type: Resources.Deployment, verbs: [...READ, ...APPLY] },
];

export interface TriggerDeps {
  client: KubeClient;
  config: OperatorConfig;
  caches: Caches;
  secretOf: SecretOf;
}

export function triggerReconciler(deps: TriggerDeps) {
  const { client, config } = deps;
  const manager = { fieldManager: config.fieldManager };
  const functions = deps.caches<FunctionObject & KubeObject>(resourceOf(FunctionKind));
  const managed = (type: ResourceType) => deps.caches(type, MANAGED_SELECTOR);
  const deployments = managed(Resources.Deployment);
  /** Applies a child unless the cache shows it already as rendered. */
  const apply = (type: ResourceType, obj: KubeObject) => applyCached(client, managed(type), type, obj, manager);

  const writeStatus = statusWriter<NonNullable<KafkaTriggerObject['status']>>(
    client,
    KafkaTriggerType,
    KafkaTriggerKind.apiVersion,
    config.fieldManager,
  );
  const conditions = (t: KafkaTriggerObject, list: ConditionInput[]) => withConditions(t, list);

  /** Waits for something the trigger names; the reason goes to status and the reconcile retries. */
  const report = reporter<KafkaTriggerObject, NonNullable<KafkaTriggerObject['status']>>({
    client,
    write: writeStatus,
    component: config.fieldManager,
    retryMs: 15_000,
  });
  const waiting = report.waiting;

  async function reconcile(ctx: ReconcileContext<KafkaTriggerObject>): Promise<void> {
    const t = ctx.object;
    if (!t || t.metadata.deletionTimestamp) return;
    const ns = t.metadata.namespace ?? 'default';
    const name = `kt-${t.metadata.name}`;
    const spec = KafkaTriggerKind.withDefaults(t.spec);

    const fn = functions.get({ namespace: ns, name: spec.functionRef.name });
    if (!fn) return waiting(t, 'FunctionNotFound', `Function ${ns}/${spec.functionRef.name} does not exist`);
    const fnSpec = FunctionKind.withDefaults(fn.spec);
    const prefix = fnSpec.http.path ?? defaultPrefix(ns, spec.functionRef.name);
    // Delivered inside the cluster: the public URL may not be reachable from a pod.
    const target = `${config.gatewayInternalURL}${prefix}`;

    const read = secretReader(deps.secretOf, ns, (reason, message) => waiting(t, reason, message));
    const values: Record<string, string | undefined> = {};
    for (const [role, ref] of Object.entries(secretRefs(t))) values[role] = ref ? await read(ref) : undefined;
    const labels = { 'plinth.dev/kafka-trigger': t.metadata.name ?? '', ...MANAGED_BY };
    const objects = renderConfiguredWorkload({
      name,
      namespace: ns,
      labels,
      selector: { 'plinth.dev/kafka-trigger': t.metadata.name ?? '' },
      owner: [ownerReference(t as KubeObject)],
      replicas: 1,
      placement: config.placement,
      config: {
        file: 'connector.json',
        env: 'PLINTH_CONNECTOR_CONFIG',
        content: connectorConfig(t, target, values, config.gatewayCA),
      },
      container: {
        name: 'connector',
        image: config.connectorImage,
        env: [{ name: 'PLINTH_METRICS_PORT', value: '9090' }],
        ports: [{ name: 'metrics', containerPort: 9090 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 5 },
        resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
      },
      terminationGracePeriodSeconds: 30,
    });
    for (const obj of objects) await apply(CONFIGURED_TYPES[obj.kind ?? ''] ?? Resources.Secret, obj);

    const d = deployments.get({ namespace: ns, name }) as
      | (KubeObject & { status?: { availableReplicas?: number } })
      | undefined;
    const available = (d?.status?.availableReplicas ?? 0) > 0;
    await writeStatus(t, {
      observedGeneration: t.metadata.generation,
      ...(t.status?.lag !== undefined ? { lag: t.status.lag } : {}),
      conditions: conditions(t, [
        available
          ? {
              type: 'Ready',
              status: 'True',
              reason: 'ConnectorAvailable',
              message: `delivering ${spec.topics.join(', ')} to ${target}${spec.path === '/' ? '' : spec.path}`,
            }
          : { type: 'Ready', status: 'False', reason: 'ConnectorStarting', message: `connector ${name} is starting` },
        { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
      ]),
    });
  }

  const { onError } = report;

  return { reconcile, onError };
}
