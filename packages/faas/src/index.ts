export {
  type AutoscalerOptions,
  type Decision,
  decide,
  defaultAutoscalerOptions,
  newScaleState,
  type Sample,
  type ScaleState,
  type ScalingSpec,
} from './autoscale.ts';
export { buildGo, buildJava, hashSources, interpretedRuntime, JAVA_FLAGS, RUNTIMES_DIR } from './build.ts';
export {
  BuildError,
  checkRequirements,
  type DeclaredDependencies,
  DependencyError,
  declaredDependencies,
  dependencyCache,
  dependencyFiles,
  type FunctionFiles,
  functionWithDependencies,
  type InstalledDependencies,
  installDependencies,
  PYTHON_PACKAGES,
} from './deps.ts';
export { LocalBackend, type LocalBackendOptions, type LocalFunction } from './local.ts';
export {
  type FunctionManifest,
  loadFunctionManifests,
  loadSecretManifests,
  loadTenantManifests,
  loadTriggerManifests,
  ManifestError,
  type TriggerManifest,
} from './manifests.ts';
export { WarmPool, type WarmPoolOptions } from './pool.ts';
export { freePort, type Instance, type ProcessSpec, startProcess, waitHttp } from './process.ts';
export {
  claimKey,
  defaultPrefix,
  type FunctionBackend,
  fenceRoutes,
  functionClaim,
  grantedPrefixes,
  graphqlApiClaim,
  type HeldRoute,
  heldRoute,
  holds,
  normalizePrefix,
  type Route,
  type RouteClaim,
  type RouteGrant,
  type RouteOwnerKind,
  type RouteRefusal,
  type RouteResolution,
  type RouteTarget,
  resolveRoutes,
  tenantGrant,
} from './routes.ts';
export { type ConcurrencySource, gatewayStatsSource } from './stats.ts';
export {
  type ConnectorConfig,
  ConnectorConfigFile,
  ConnectorConfigSchema,
  connectorConfig,
  type ResolvedSecrets,
  secretRefs,
} from './trigger.ts';
