// Sample: the smallest complete kind. It exists to exercise the schema pipeline and the
// controller kit against a real API server; it lives in the test.plinth.dev group so the
// installer never ships it.
import { Type } from '@sinclair/typebox';
import { ConditionsSchema, defineKind, type ObjectOf, StringEnum } from '../schema.ts';

export const Sample = defineKind({
  group: 'test.plinth.dev',
  version: 'v1alpha1',
  kind: 'Sample',
  plural: 'samples',
  shortNames: ['smp'],
  categories: ['plinth-test'],
  scope: 'Namespaced',
  description: 'A sample kind used by Plinth to test its schema pipeline and controller kit.',
  spec: Type.Object({
    message: Type.String({ minLength: 1, maxLength: 253, description: 'Text the controller copies to status.' }),
    replicas: Type.Integer({ minimum: 0, maximum: 10, default: 1, description: 'Desired copies, 0 to 10.' }),
    mode: StringEnum(['fast', 'safe'] as const, { default: 'fast', description: 'How eagerly to converge.' }),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 16 })),
  }),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer()),
    echo: Type.Optional(Type.String()),
    conditions: Type.Optional(ConditionsSchema),
  }),
  printerColumns: [
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
});
export type Sample = ObjectOf<typeof Sample>;
