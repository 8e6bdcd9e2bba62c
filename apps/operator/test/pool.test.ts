// The warm pool's plan, as the operator renders it: which namespaces get a pool of which runtime,
// what the gateway may read there, and which specialized pods have done their job. Pure: the
// pool on the real node is exercised by test/e2e-pods and bench/coldstart-cluster.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FunctionKind, type FunctionObject, type FunctionSpec, POOL } from '@plinth/api';
import type { KubeObject } from '@plinth/kube';
import { configFromEnv } from '../src/config.ts';
import { planPools, renderPool, renderPoolAccess, retirePooledPods } from '../src/function/pool.ts';

const fn = (name: string, spec: Partial<FunctionSpec>, latest = `${name}-00001`): FunctionObject =>
  ({
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name, namespace: 'team-a', uid: `uid-${name}` },
    spec: FunctionKind.withDefaults(spec as FunctionSpec),
    status: { latestCreatedRevision: latest },
  }) as FunctionObject;

describe('the warm pool plan', () => {
  it('pools node and python functions whose code and env a pool pod can be handed, and no others', () => {
    const plan = planPools([
      fn('inline', { runtime: 'node', source: { inline: 'export default () => 1' } }),
      fn('cm', { runtime: 'python', source: { configMap: { name: 'cm-code' } }, env: [{ name: 'A', value: 'b' }] }),
      fn('secret-env', {
        runtime: 'node',
        source: { inline: 'x' },
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      }),
      fn('env-from', { runtime: 'node', source: { inline: 'x' }, envFrom: [{ secretRef: { name: 's' } }] }),
      fn('opted-out', {
        runtime: 'node',
        source: { inline: 'x' },
        scaling: { pool: false } as FunctionSpec['scaling'],
      }),
      fn('compiled', { runtime: 'go', source: { inline: 'package main' } }),
      fn('archive', { runtime: 'node', source: { archive: { url: 'https://example.test/f.tgz' } } }),
      fn('gpu', { runtime: 'python', source: { inline: 'x' }, resources: { gpu: 1 } }),
    ]);
    assert.deepEqual(
      Object.fromEntries(
        [...plan].map(([r, p]) => [r, { owners: p.owners.map((o) => o.metadata.name), sources: p.sources }]),
      ),
      {
        node: { owners: ['inline'], sources: ['inline-00001-source'] },
        python: { owners: ['cm'], sources: ['cm-code'] },
      },
    );
  });

  it("renders a namespace's pool: generic pods, a Service, and a Role for the gateway limited to the pooled code", () => {
    const config = configFromEnv({ PLINTH_POOL_SIZE: '2', PLINTH_NAMESPACE: 'plinth-system' });
    const owners = [
      fn('a', { runtime: 'node', source: { inline: 'x' } }),
      fn('b', { runtime: 'node', source: { inline: 'y' } }),
    ];
    const [deployment, service, role, binding] = [
      ...renderPool('team-a', 'node', owners, config),
      ...renderPoolAccess('team-a', owners, ['a-00001-source'], config),
    ] as (KubeObject & {
      spec?: {
        replicas?: number;
        selector?: unknown;
        template: {
          spec: { automountServiceAccountToken: boolean; containers: { image: string; env: { name: string }[] }[] };
        };
      };
      rules?: Record<string, unknown>[];
      subjects?: Record<string, unknown>[];
    })[];
    assert.equal(deployment?.metadata?.name, POOL.name('node'));
    assert.equal(deployment?.spec?.replicas, 2);
    const pod = deployment?.spec?.template.spec;
    assert.equal(pod?.automountServiceAccountToken, false, 'a pool pod holds no API credentials');
    assert.equal(pod?.containers[0]?.image, config.runtimeImages.node);
    assert.equal(
      pod?.containers[0]?.env.some((e) => e.name === 'PLINTH_FUNCTION_DIR'),
      false,
      'generic',
    );
    assert.deepEqual(
      deployment?.metadata?.ownerReferences?.map((o) => [o.name, o.controller]),
      [
        ['a', false],
        ['b', false],
      ],
      'owned by every Function it serves, so it goes with the last',
    );
    assert.deepEqual(service?.spec?.selector, { [POOL.label]: 'node' });
    assert.deepEqual(role?.rules, [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['a-00001-source'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
    ]);
    assert.deepEqual(binding?.subjects, [
      { kind: 'ServiceAccount', name: 'plinth-gateway', namespace: 'plinth-system' },
    ]);
  });

  it('retires a specialized pod once its revision has its own ready pod or leaves traffic, or after idling at zero as long as the Function scales to zero after', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    const pod = (name: string, revision: string, secondsAgo: number, deleting = false) =>
      ({
        metadata: {
          name,
          labels: { 'plinth.dev/revision': revision },
          annotations: { [POOL.specializedAt]: new Date(now - secondsAgo * 1000).toISOString() },
          ...(deleting ? { deletionTimestamp: '2026-12-04T00:00:00Z' } : {}),
        },
      }) as KubeObject;
    const pods = [
      pod('left-traffic', 'f-00001', 1),
      pod('own-pod-ready', 'f-00002', 1),
      pod('idled-out', 'f-00003', 301),
      pod('serving-at-zero', 'f-00004', 100),
      pod('own-pod-starting', 'f-00005', 500),
      pod('already-going', 'f-00001', 1, true),
    ];
    const revisions = {
      serving: new Set(['f-00002', 'f-00003', 'f-00004', 'f-00005']),
      ownReady: new Set(['f-00002']),
      atZero: new Set(['f-00003', 'f-00004']),
    };
    assert.deepEqual(retirePooledPods(pods, revisions, 300_000, now), {
      retire: ['left-traffic', 'own-pod-ready', 'idled-out'],
      recheckInMs: 200_000,
    });
  });

  it('refuses a pool size that is not a whole number from 0 to 20', () => {
    assert.throws(
      () => configFromEnv({ PLINTH_POOL_SIZE: '-1' }),
      /PLINTH_POOL_SIZE must be a whole number from 0 to 20, got "-1"/,
    );
    assert.equal(configFromEnv({ PLINTH_POOL_SIZE: '0' }).poolSize, 0);
  });
});
