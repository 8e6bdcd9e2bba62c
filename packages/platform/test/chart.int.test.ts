// charts/plinth with a real helm (built by the test ground): it lints, its values are
// schema-checked with the bad field named, and for the same settings it renders exactly the
// objects `plinth up` applies (plinthManifests), so the chart and the installer cannot drift.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ground } from '@plinth/ground';
import { catalog, PLINTH_NAMESPACE, plinthManifests, resolveConfig } from '@plinth/platform';
import { parseAllDocuments } from 'yaml';

const chart = join(import.meta.dirname, '..', '..', '..', 'charts', 'plinth');
const helm = (...args: string[]) => promisify(execFile)(ground('HELM'), args, { maxBuffer: 16 << 20 });
const template = async (...set: string[]) =>
  parseAllDocuments(
    (
      await helm(
        'template',
        'plinth',
        chart,
        '-n',
        PLINTH_NAMESPACE,
        '--kube-version',
        ground('K8S_VERSION'),
        '--include-crds',
        ...set.flatMap((s) => ['--set', s]),
      )
    ).stdout,
  )
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null)
    .filter((o): o is NonNullable<typeof o> => !!o);
const key = (o: { kind?: string; metadata?: { name?: string } }) => `${o.kind}/${o.metadata?.name}`;
const byKey = (xs: { kind?: string; metadata?: { name?: string } }[]) =>
  Object.fromEntries(xs.map((o) => [key(o), JSON.parse(JSON.stringify(o))]).sort(([a], [b]) => a.localeCompare(b)));

describe('charts/plinth', () => {
  it('lints', async () => {
    const { stdout } = await helm('lint', chart, '--kube-version', ground('K8S_VERSION'));
    assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  for (const [name, set, config] of [
    ['dev defaults', [], { components: { certManager: { enabled: false } } }],
    [
      'replicated, TLS, platform admins',
      ['replicas=2', 'tls.enabled=true', 'domain=example.com', 'platformAdminGroups={platform-admins}'],
      { domain: 'example.com', components: { plinth: { replicas: 2 } }, platformAdminGroups: ['platform-admins'] },
    ],
    [
      'placed on labelled, tainted nodes, a bigger warm pool',
      [
        'placement.nodeSelector.pool=plinth',
        'placement.tolerations[0].key=dedicated',
        'placement.tolerations[0].operator=Exists',
        'placement.tolerations[0].effect=NoSchedule',
        'poolSize=3',
      ],
      {
        components: { certManager: { enabled: false }, plinth: { poolSize: 3 } },
        placement: {
          nodeSelector: { pool: 'plinth' },
          tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    ],
  ] as const) {
    it(`renders what plinth up applies (${name})`, async () => {
      const c = resolveConfig(config);
      const plinth = catalog.find((k) => k.name === 'plinth');
      const expected = [...plinthManifests(c), ...(plinth?.config?.(c) ?? [])].filter((o) => o.kind !== 'Namespace');
      assert.deepEqual(byKey(await template(...set)), byKey(expected));
    });
  }

  it('refuses bad values, naming them', async () => {
    for (const [set, message] of [
      ['replicas=0', /at '\/replicas': minimum: got 0, want 1/],
      ['domain=Not_A_Domain', /at '\/domain': '.*' does not match pattern/],
      ['replica=2', /additional properties 'replica' not allowed/],
    ] as const) {
      await assert.rejects(template(set), (e: { stderr?: string }) => message.test(e.stderr ?? ''), set);
    }
  });
});
