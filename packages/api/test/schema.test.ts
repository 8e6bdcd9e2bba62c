import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kinds, Sample, toStructural } from '@plinth/api';
import { Type } from '@sinclair/typebox';

const valid = {
  apiVersion: 'test.plinth.dev/v1alpha1',
  kind: 'Sample',
  metadata: { name: 'a' },
  spec: { message: 'hello' },
};

describe('kind schema', () => {
  it('accepts a valid object once defaults are applied', () => {
    assert.deepEqual(Sample.validate(valid), []);
    assert.deepEqual(Sample.withDefaults({ message: 'hi' } as never), { message: 'hi', replicas: 1, mode: 'fast' });
  });

  it('names every bad field in kubectl path form', () => {
    const issues = Sample.validate({ ...valid, spec: { message: '', replicas: 11, mode: 'turbo', tags: ['ok', 7] } });
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual([...new Set(paths)], ['spec.message', 'spec.mode', 'spec.replicas', 'spec.tags[1]']);
    assert.match(issues.find((i) => i.path === 'spec.replicas')?.message ?? '', /10/);
  });

  it('rejects a wrong apiVersion or kind', () => {
    const paths = Sample.validate({ ...valid, apiVersion: 'v1', kind: 'Pod' }).map((i) => i.path);
    assert.ok(paths.includes('apiVersion') && paths.includes('kind'), `got ${paths.join(', ')}`);
  });
});

describe('structural schema rendering', () => {
  it('turns literals into enums and keeps only structural keywords', () => {
    const s = toStructural(
      Type.Object({ a: Type.Literal('x'), b: Type.Optional(Type.Record(Type.String(), Type.Integer())) }),
    );
    assert.deepEqual(s, {
      type: 'object',
      properties: {
        a: { type: 'string', enum: ['x'] },
        b: { type: 'object', additionalProperties: { type: 'integer' } },
      },
      required: ['a'],
    });
  });

  it('renders a CRD with status subresource, printer columns and defaults, identically every time', () => {
    const crd = Sample.crd() as { spec: { versions: Record<string, unknown>[] } };
    assert.equal(JSON.stringify(crd), JSON.stringify(Sample.crd()));
    const v = crd.spec.versions[0] as {
      subresources: unknown;
      additionalPrinterColumns: { name: string }[];
      schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, { default?: unknown }> } } } };
    };
    assert.deepEqual(v.subresources, { status: {} });
    assert.deepEqual(
      v.additionalPrinterColumns.map((c) => c.name),
      ['Replicas', 'Ready', 'Age'],
    );
    assert.equal(v.schema.openAPIV3Schema.properties.spec.properties.replicas?.default, 1);
    assert.ok(!JSON.stringify(crd).includes('anyOf'), 'structural schemas may not use anyOf for enums');
  });

  it('has one CRD per kind with unique names', () => {
    const names = kinds.map((k) => k.crdName);
    assert.equal(new Set(names).size, names.length);
  });
});
