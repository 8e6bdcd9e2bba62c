export { kinds, Sample } from './kinds/index.ts';
export {
  type Condition,
  ConditionSchema,
  ConditionsSchema,
  defineKind,
  type Kind,
  type KindDefinition,
  type KindObject,
  type ObjectMeta,
  type ObjectOf,
  type OwnerReference,
  type PrinterColumn,
  type SpecOf,
  type StatusOf,
  StringEnum,
  toStructural,
  type ValidationIssue,
} from './schema.ts';
