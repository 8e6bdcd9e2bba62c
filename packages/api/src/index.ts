export { ConfigError, type ConfigFile, type ConfigRule, configFile } from './config.ts';
export {
  DEFAULT_IMAGES,
  DEFAULT_REGISTRY,
  type ImageSource,
  imageRef,
  PLINTH_IMAGES,
  PLINTH_VERSION,
  type PlinthImage,
} from './images.ts';
export * from './kinds/index.ts';
export { MANAGED_BY, MANAGED_BY_LABEL, MANAGED_SELECTOR } from './labels.ts';
export { type Placement, PlacementSchema, parsePlacement, placementSpec } from './placement.ts';
export {
  type Condition,
  ConditionSchema,
  ConditionsSchema,
  defineKind,
  HeldRouteSchema,
  HttpRouteSchema,
  IMAGE_REFERENCE,
  ImageReference,
  type Kind,
  type KindDefinition,
  type KindObject,
  type NameRule,
  nameRules,
  type ObjectMeta,
  type ObjectOf,
  type OwnerReference,
  PatternString,
  type PrinterColumn,
  type SpecOf,
  type SpecRule,
  type StatusOf,
  StringEnum,
  toStructural,
  type ValidationIssue,
} from './schema.ts';
