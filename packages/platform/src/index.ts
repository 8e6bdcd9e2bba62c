export {
  type Component,
  catalog,
  type HealthCheck,
  PLINTH_NAMESPACE,
  PLINTH_VERSION,
  plinthManifests,
} from './catalog/index.ts';
export { gatewayRules, operatorRules } from './catalog/rbac.generated.ts';
export {
  type ComponentKey,
  ConfigError,
  definePlatform,
  loadConfig,
  type PlatformConfig,
  type PlatformConfigInput,
  PlatformConfigSchema,
  resolveConfig,
} from './config.ts';
export {
  type ComponentStatus,
  Discovery,
  down,
  InstallError,
  type Progress,
  resourceSummary,
  status,
  type UpResult,
  up,
} from './install.ts';
export { FLUX_NAMESPACE, kustomizations, plan, type RenderedComponent, render, renderFiles } from './render.ts';
