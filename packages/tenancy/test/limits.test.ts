// A quota on cpu or memory makes the API server refuse every pod that does not set that
// resource's request and limit, so a tenant under such a quota always gets a LimitRange that
// fills them in: what `limits` declares, else the documented defaults.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantObject } from '@plinth/api';
import { DEFAULT_CONTAINER_LIMITS, renderLimits, renderTenantNamespace } from '@plinth/tenancy';

const tenant = (spec: Partial<TenantObject['spec']>): TenantObject =>
  ({
    apiVersion: 'plinth.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: 'team-a' },
    spec: { namespaces: ['team-a'], ...spec },
  }) as TenantObject;
const limitRange = (spec: Partial<TenantObject['spec']>) =>
  renderTenantNamespace(tenant(spec), 'team-a', { groupsPrefix: 'oidc:', platformNamespace: 'plinth-system' }).find(
    (o) => o.kind === 'LimitRange',
  ) as unknown as { spec: { limits: Record<string, unknown>[] } } | undefined;

describe('tenant LimitRange', () => {
  it('gives a quota on cpu and memory default limits and requests when limits says nothing', () => {
    assert.deepEqual(limitRange({ quota: { cpu: '2', memory: '4Gi' } })?.spec.limits, [
      {
        type: 'Container',
        default: { cpu: DEFAULT_CONTAINER_LIMITS.cpu.limit, memory: DEFAULT_CONTAINER_LIMITS.memory.limit },
        defaultRequest: { cpu: DEFAULT_CONTAINER_LIMITS.cpu.request, memory: DEFAULT_CONTAINER_LIMITS.memory.request },
      },
    ]);
    assert.deepEqual(DEFAULT_CONTAINER_LIMITS, {
      cpu: { limit: '1', request: '100m' },
      memory: { limit: '512Mi', request: '128Mi' },
    });
  });

  it('defaults only the resources the quota constrains', () => {
    assert.deepEqual(renderLimits(undefined, { memory: '1Gi', pods: 10 }), {
      limits: [{ type: 'Container', default: { memory: '512Mi' }, defaultRequest: { memory: '128Mi' } }],
    });
    assert.equal(renderLimits(undefined, { pods: 10, storage: '10Gi' }), undefined);
    assert.equal(limitRange({}), undefined);
    assert.equal(limitRange({ quota: { pods: 5 } }), undefined);
  });

  it('keeps what limits declares and completes it as Kubernetes would, so both are always set', () => {
    // The default limit follows max; the default request follows the default limit.
    assert.deepEqual(renderLimits({ maxCpu: '2', defaultMemory: '1Gi' }, { cpu: '8', memory: '8Gi' }), {
      limits: [
        {
          type: 'Container',
          default: { cpu: '2', memory: '1Gi' },
          defaultRequest: { cpu: '2', memory: '1Gi' },
          max: { cpu: '2' },
        },
      ],
    });
    // A request alone: the limit is the request (never below it).
    assert.deepEqual(renderLimits({ defaultRequestCpu: '250m' }, { cpu: '8' }), {
      limits: [{ type: 'Container', default: { cpu: '250m' }, defaultRequest: { cpu: '250m' } }],
    });
    // Everything declared: as declared.
    const l = { defaultCpu: '500m', defaultMemory: '256Mi', defaultRequestCpu: '100m', defaultRequestMemory: '128Mi' };
    assert.deepEqual(renderLimits(l, { cpu: '4', memory: '8Gi' }), {
      limits: [
        {
          type: 'Container',
          default: { cpu: '500m', memory: '256Mi' },
          defaultRequest: { cpu: '100m', memory: '128Mi' },
        },
      ],
    });
    // No quota: only what is declared, as before.
    assert.deepEqual(renderLimits({ maxMemory: '2Gi' }, undefined), {
      limits: [{ type: 'Container', max: { memory: '2Gi' } }],
    });
  });
});
