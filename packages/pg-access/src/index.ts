export { applyDeclaration, DestructivePlanError, declaredTables, planFor } from './apply.ts';
export { MANAGED_PREFIX, readCatalog } from './catalog.ts';
export { plan, policyHash, qualified } from './plan.ts';
export * from './types.ts';
