// Pure rendering of a Function revision's children: same input, same output, to the byte.
import {
  DefaultHandlers,
  FUNCTION_LABELS,
  type FunctionObject,
  InlineSourceFiles,
  MANAGED_BY,
  placementSpec,
  type RevisionTemplate,
  sourceConfigMapName,
} from '@plinth/api';
import { defaultPrefix } from '@plinth/faas';
import { type KubeObject, ownerReference, restrictedContainer, restrictedPod } from '@plinth/kube';
import type { OperatorConfig } from '../config.ts';

export const LABELS = FUNCTION_LABELS;
export const TEMPLATE_HASH = 'plinth.dev/template-hash';

const CODE_DIR = '/var/plinth/function';
const SOURCE_DIR = '/var/plinth/source';

export interface RevisionInput {
  fn: FunctionObject;
  revision: string;
  template: RevisionTemplate;
  hash: string;
}

const serviceAccountName = (fn: string) => `fn-${fn}`;
/**
 * How long a stopping instance keeps serving before SIGTERM: the time for the gateway to see its
 * endpoint terminating (a watch event, milliseconds) with a wide margin, so a rollout or a
 * scale-down never sends a request to an instance that has stopped accepting.
 */
export const PRESTOP_SECONDS = 3;

function labels(fn: string, revision?: string): Record<string, string> {
  return {
    [LABELS.function]: fn,
    ...(revision ? { [LABELS.revision]: revision } : {}),
    ...MANAGED_BY,
  };
}

/** One ServiceAccount per function: no API access, no token mounted. */
export function renderServiceAccount(fn: FunctionObject): KubeObject {
  const name = fn.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: serviceAccountName(name),
      namespace: fn.metadata.namespace,
      labels: labels(name),
      ownerReferences: [ownerReference(fn)],
    },
    automountServiceAccountToken: false,
  } as KubeObject;
}

/** For inline source: an immutable ConfigMap per revision holding the handler file. */
export function renderSourceConfigMap({ fn, revision, template }: RevisionInput): KubeObject | undefined {
  if (template.source?.inline === undefined || !template.runtime) return undefined;
  const name = fn.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${revision}-source`,
      namespace: fn.metadata.namespace,
      labels: labels(name, revision),
      ownerReferences: [ownerReference(fn)],
    },
    immutable: true,
    data: { [InlineSourceFiles[template.runtime]]: template.source.inline },
  } as KubeObject;
}

/** The revision's Deployment. `replicas` is left to the autoscaler (its own field manager). */
export function renderDeployment(input: RevisionInput, config: OperatorConfig): KubeObject {
  const { fn, revision, template, hash } = input;
  const name = fn.metadata.name ?? '';
  const runtime = template.runtime;
  const handler = template.handler ?? (runtime ? DefaultHandlers[runtime] : undefined);
  const compiled = runtime === 'go' || runtime === 'java';
  const volumes: Record<string, unknown>[] = [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }];
  const initContainers: Record<string, unknown>[] = [];
  const mounts: Record<string, unknown>[] = [{ name: 'tmp', mountPath: '/tmp' }];

  if (template.source) {
    // Where the source files are: a ConfigMap (the revision's own for inline code) or an archive.
    const src = template.source;
    if (src.archive) {
      volumes.push({ name: 'source', emptyDir: {} });
      initContainers.push({
        name: 'fetch',
        image: config.fetchImage,
        command: ['plinth-fetch'],
        args: [src.archive.url, SOURCE_DIR, ...(src.archive.sha256 ? [`--sha256=${src.archive.sha256}`] : [])],
        volumeMounts: [{ name: 'source', mountPath: SOURCE_DIR }],
        securityContext: restrictedContainer,
      });
    } else {
      volumes.push({
        name: 'source',
        configMap: { name: sourceConfigMapName(template, revision) },
      });
    }
    if (compiled && runtime) {
      // The builder's scratch (the Go build cache of the standard library alone is ~100 MB).
      volumes.push({ name: 'function', emptyDir: {} }, { name: 'build-tmp', emptyDir: { sizeLimit: '2Gi' } });
      initContainers.push({
        name: 'build',
        image: config.builderImages[runtime],
        args: ['--source', SOURCE_DIR, '--out', CODE_DIR, '--handler', handler ?? ''],
        volumeMounts: [
          { name: 'source', mountPath: SOURCE_DIR, readOnly: true },
          { name: 'function', mountPath: CODE_DIR },
          { name: 'build-tmp', mountPath: '/tmp' },
        ],
        securityContext: restrictedContainer,
      });
      mounts.push({ name: 'function', mountPath: CODE_DIR, readOnly: true });
    } else {
      mounts.push({ name: 'source', mountPath: CODE_DIR, readOnly: true });
    }
  }

  const env: Record<string, unknown>[] = [
    ...(template.source ? [{ name: 'PLINTH_FUNCTION_DIR', value: CODE_DIR }] : []),
    ...(handler ? [{ name: 'PLINTH_HANDLER', value: handler }] : []),
    { name: 'PLINTH_DRAIN_SECONDS', value: String(Math.min(template.timeoutSeconds, 60)) },
    ...(template.env ?? []),
  ];
  const r = template.resources;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r?.cpu) requests.cpu = r.cpu;
  if (r?.memory) {
    requests.memory = r.memory;
    limits.memory = r.memory;
  }
  if (r?.gpu) limits['nvidia.com/gpu'] = String(r.gpu);
  const resources = Object.keys(requests).length || Object.keys(limits).length ? { requests, limits } : undefined;

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: revision,
      namespace: fn.metadata.namespace,
      labels: labels(name, revision),
      annotations: { [TEMPLATE_HASH]: hash },
      ownerReferences: [ownerReference(fn)],
    },
    spec: {
      revisionHistoryLimit: 0,
      selector: { matchLabels: { [LABELS.revision]: revision } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: { labels: labels(name, revision), annotations: { [TEMPLATE_HASH]: hash } },
        spec: {
          serviceAccountName: serviceAccountName(name),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: PRESTOP_SECONDS + Math.min(template.timeoutSeconds, 60) + 10,
          securityContext: restrictedPod,
          ...placementSpec({
            ...config.placement,
            tolerations: [
              ...(config.placement.tolerations ?? []),
              ...(r?.gpu
                ? [{ key: 'nvidia.com/gpu', operator: 'Exists' as const, effect: 'NoSchedule' as const }]
                : []),
            ],
          }),
          ...(initContainers.length ? { initContainers } : {}),
          containers: [
            {
              name: 'function',
              image: template.image ?? (runtime ? config.runtimeImages[runtime] : ''),
              ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
              env,
              ...(template.envFrom?.length ? { envFrom: template.envFrom } : {}),
              ...(resources ? { resources } : {}),
              readinessProbe: { httpGet: { path: '/_/ready', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
              livenessProbe: { httpGet: { path: '/_/health', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
              startupProbe: { httpGet: { path: '/_/health', port: 'http' }, periodSeconds: 1, failureThreshold: 120 },
              // The kubelet sleeps itself (no binary in the image), then the runtime drains.
              lifecycle: { preStop: { sleep: { seconds: PRESTOP_SECONDS } } },
              volumeMounts: mounts,
              securityContext: restrictedContainer,
            },
          ],
          volumes,
        },
      },
    },
  } as KubeObject;
}

export function renderService({ fn, revision }: RevisionInput): KubeObject {
  const name = fn.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: revision,
      namespace: fn.metadata.namespace,
      labels: labels(name, revision),
      ownerReferences: [ownerReference(fn)],
    },
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.revision]: revision },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  } as KubeObject;
}

export function functionURL(fn: FunctionObject, config: OperatorConfig): string {
  if (fn.spec.http.host) return `http://${fn.spec.http.host}`;
  return `${config.gatewayURL}${fn.spec.http.path ?? defaultPrefix(fn.metadata.namespace ?? 'default', fn.metadata.name ?? '')}`;
}
