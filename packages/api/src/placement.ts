// Where Plinth's pods run: a node selector and tolerations applied to the platform's own
// Deployments (operator, gateway) and to everything the operator renders (function revisions,
// connectors, GraphQL APIs). Set once in the platform config; the operator reads it from
// PLINTH_PLACEMENT (JSON).
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const PlacementSchema = Type.Object(
  {
    nodeSelector: Type.Optional(
      Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 63 }), {
        description: 'Node labels every Plinth pod requires.',
      }),
    ),
    tolerations: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.Optional(Type.String({ maxLength: 317 })),
            operator: Type.Optional(Type.Union([Type.Literal('Exists'), Type.Literal('Equal')])),
            value: Type.Optional(Type.String({ maxLength: 63 })),
            effect: Type.Optional(
              Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')]),
            ),
          },
          { additionalProperties: false },
        ),
        { maxItems: 16, description: 'Taints every Plinth pod tolerates.' },
      ),
    ),
  },
  { additionalProperties: false, description: "Where Plinth's pods and the pods it renders run." },
);
export type Placement = Static<typeof PlacementSchema>;

/** The pod spec fields for a placement (nothing when it is empty). */
export const placementSpec = (p: Placement | undefined): Record<string, unknown> => ({
  ...(p?.nodeSelector && Object.keys(p.nodeSelector).length ? { nodeSelector: p.nodeSelector } : {}),
  ...(p?.tolerations?.length ? { tolerations: p.tolerations } : {}),
});

/** A placement from PLINTH_PLACEMENT's JSON; throws naming what is wrong. */
export function parsePlacement(json: string | undefined): Placement {
  if (!json) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new Error(`PLINTH_PLACEMENT is not JSON: ${(e as Error).message}`);
  }
  const errors = [...Value.Errors(PlacementSchema, doc)];
  if (errors.length) {
    throw new Error(`PLINTH_PLACEMENT: ${errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ')}`);
  }
  return doc as Placement;
}
