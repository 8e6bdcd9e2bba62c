// Standard conditions (Ready / Progressing / Degraded) set through one pure helper, so every
// controller writes them the same way and `kubectl wait --for=condition=Ready` works.
import type { Condition } from '@plinth/api';

export const ConditionType = { Ready: 'Ready', Progressing: 'Progressing', Degraded: 'Degraded' } as const;
export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  /** CamelCase, machine-readable: why the status is what it is. */
  reason: string;
  /** For people: what is happening and, when something is wrong, what to do. */
  message: string;
}

/**
 * Returns the conditions with `next` set. lastTransitionTime moves only when the status
 * changes; observedGeneration records which spec generation the condition describes.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  opts: { observedGeneration?: number; now?: Date } = {},
): Condition[] {
  const now = (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const cond: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : now,
    ...(opts.observedGeneration !== undefined ? { observedGeneration: opts.observedGeneration } : {}),
  };
  if (i >= 0) list[i] = cond;
  else list.push(cond);
  return list;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}
