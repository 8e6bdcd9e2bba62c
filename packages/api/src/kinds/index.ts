import { DatabaseKind } from './database.ts';
import { FunctionKind } from './function.ts';

export {
  GraphQLApiKind,
  type GraphQLApiObject,
  type GraphQLApiSpec,
  GraphQLApiSpecSchema,
  type GraphqlConfig,
  GraphqlConfigFile,
  GraphqlConfigSchema,
  type GraphqlJwtConfig,
  GraphqlJwtConfigSchema,
  graphqlPrefix,
  graphqlServiceName,
} from './graphql-api.ts';

import { GraphQLApiKind } from './graphql-api.ts';
import { KafkaTriggerKind } from './kafka-trigger.ts';
import { Sample } from './sample.ts';
import { TenantKind } from './tenant.ts';

/**
 * The kinds Plinth serves (group plinth.dev): `plinth up` and the chart install their CRDs, the
 * operator reconciles them, the platform roles grant them. Lists of them (plurals, kind names)
 * are derived from this one.
 */
export const plinthKinds = [FunctionKind, KafkaTriggerKind, DatabaseKind, GraphQLApiKind, TenantKind] as const;
/** Every kind Plinth defines: the served ones and Sample (test-only); the CRD generator renders one file per entry. */
export const kinds = [...plinthKinds, Sample] as const;
export {
  type ColumnPrivilege,
  ColumnPrivileges,
  DatabaseKind,
  type DatabaseObject,
  type DatabasePrivilege,
  DatabasePrivileges,
  type DatabaseSpec,
  DatabaseSpecSchema,
  type DefaultPrivilegeObject,
  DefaultPrivilegeObjects,
  type FunctionPrivilege,
  FunctionPrivileges,
  type PolicyCommand,
  PolicyCommands,
  type SchemaPrivilege,
  SchemaPrivileges,
  type SequencePrivilege,
  SequencePrivileges,
  type TablePrivilege,
  TablePrivileges,
} from './database.ts';
export {
  DEFAULT_POOL_SIZE,
  DefaultHandlers,
  FUNCTION_LABELS,
  FunctionKind,
  FunctionNameRule,
  type FunctionObject,
  type FunctionSpec,
  FunctionSpecSchema,
  InlineSourceFiles,
  POOL,
  type PoolRuntime,
  PoolRuntimes,
  poolRuntime,
  type ResolvedTarget,
  type RevisionTemplate,
  type Runtime,
  Runtimes,
  resolveTraffic,
  revisionName,
  revisionNumber,
  revisionTemplate,
  sourceConfigMapName,
  templateHash,
} from './function.ts';
export {
  consumerGroupId,
  KafkaTriggerKind,
  type KafkaTriggerObject,
  type KafkaTriggerSpec,
  KafkaTriggerSpecSchema,
  SaslMechanisms,
} from './kafka-trigger.ts';
export { TenantKind, type TenantObject, type TenantSpec, TenantSpecSchema } from './tenant.ts';
export { Sample };
