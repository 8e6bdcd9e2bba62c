export {
  type Component,
  catalog,
  type HealthCheck,
  PLINTH_NAMESPACE,
  PLINTH_VERSION,
  plinthManifests,
} from './catalog/index.ts';
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
export { FLUX_NAMESPACE, kustomizations, plan, type RenderedComponent, render, renderFiles } from './render.ts';
