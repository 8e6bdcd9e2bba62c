export { applyDeclaration, DestructivePlanError, planFor, runOne, shownSql } from './apply.ts';
export { declaredTables, emptyCatalog, MANAGED_PREFIX, readCatalog } from './catalog.ts';
export {
  type CheckOptions,
  checkDeclaration,
  DeclarationError,
  declarationProblems,
  expressionProblem,
} from './check.ts';
export {
  type ConnectionInfo,
  ConnectionSecretError,
  connectionInfo,
  credentialsSecretName,
  DATABASE_MARKER,
  databaseName,
  databaseOwner,
  databaseSettingsFromEnv,
  declarationFor,
  openConnection,
  ownerRoleOf,
  planDatabase,
  SERVER_LABEL,
  SERVER_NAMESPACES,
  type SecretData,
  type SecretSource,
} from './database.ts';
export { plan, policyHash, qualified } from './plan.ts';
export * from './types.ts';
