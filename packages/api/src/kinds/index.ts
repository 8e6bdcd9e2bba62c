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

/** Every kind Plinth defines; the CRD generator renders one file per entry. */
export const kinds = [DatabaseKind, FunctionKind, GraphQLApiKind, KafkaTriggerKind, Sample, TenantKind] as const;
export { DatabaseKind, type DatabaseObject, type DatabaseSpec, DatabaseSpecSchema } from './database.ts';
export {
  DEFAULT_POOL_SIZE,
  DefaultHandlers,
  FUNCTION_LABELS,
  FunctionKind,
  FunctionNameRule,
  type FunctionObject,
  type FunctionSpec,
  FunctionSpecSchema,
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
