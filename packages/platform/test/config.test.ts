// The platform config: YAML and TypeScript files through one schema, profile defaults, and a
// bad config refused before anything touches a cluster, with each problem named by its field.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, resolveConfig } from '@plinth/platform';

const problems = (input: unknown) => {
  try {
    resolveConfig(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  assert.fail('the config was accepted');
};

describe('platform config', () => {
  it('fills in the profile defaults', () => {
    const dev = resolveConfig({});
    assert.equal(dev.domain, 'plinth.localhost');
    assert.equal(dev.tls.issuer, 'selfSigned');
    assert.equal(dev.replicas, 1);
    assert.equal(dev.storage.sizes.kafka, '10Gi');
    assert.deepEqual(
      Object.entries(dev.enabled)
        .filter(([, on]) => !on)
        .map(([k]) => k),
      ['mesh', 'streamingSql', 'nfs', 'dex', 'gpu', 'vcluster'],
    );
    const prod = resolveConfig({
      profile: 'prod',
      domain: 'example.com',
      tls: { acme: { email: 'ops@example.com', dns01: { provider: 'route53', secretName: 'aws' } } },
    });
    assert.equal(prod.tls.issuer, 'acme');
    assert.equal(prod.replicas, 3);
    assert.equal(prod.plinthReplicas, 2);
    assert.equal(prod.storage.sizes.kafka, '100Gi');
    assert.equal(prod.enabled.mesh, true);
  });

  it('names the field of an unknown key, a wrong type, and what prod cannot do without', () => {
    assert.deepEqual(problems({ domian: 'example.com' }), ['domian: unknown field']);
    assert.deepEqual(problems({ components: { kafka: { replicas: 'three' } } }), [
      'components.kafka.replicas: Expected integer (got "three")',
    ]);
    assert.deepEqual(problems({ profile: 'prod' }), [
      'domain: required for the prod profile (the base domain, e.g. example.com)',
      'tls.acme: required when tls.issuer is acme (the prod default): email and dns01 solver',
    ]);
    assert.deepEqual(problems({ storage: { loki: '10GB' } }), [
      'storage.loki: Expected string to match \'^[0-9]+(Mi|Gi|Ti)$\' (got "10GB")',
    ]);
    assert.deepEqual(problems({ components: { dex: { enabled: true } } }), [
      'identity: required when components.dex is enabled',
    ]);
  });

  it('reads YAML and TypeScript configs through the same schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-config-'));
    writeFileSync(
      join(dir, 'p.yaml'),
      'profile: dev\ndomain: dev.example.com\ncomponents:\n  gpu: { enabled: true }\n',
    );
    writeFileSync(
      join(dir, 'p.ts'),
      "export default { profile: 'dev', domain: 'dev.example.com', components: { gpu: { enabled: true } } };\n",
    );
    assert.deepEqual(await loadConfig(join(dir, 'p.ts')), await loadConfig(join(dir, 'p.yaml')));
    writeFileSync(join(dir, 'bad.ts'), "export default { profile: 'staging' };\n");
    await assert.rejects(loadConfig(join(dir, 'bad.ts')), /bad\.ts: invalid platform config:\n {2}profile: /);
    writeFileSync(join(dir, 'bad.yaml'), 'profile: [dev\n');
    await assert.rejects(
      loadConfig(join(dir, 'bad.yaml')),
      /bad\.yaml: invalid platform config:\n {2}\(root\): not valid YAML/,
    );
  });
});
