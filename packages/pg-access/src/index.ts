export { applyDeclaration, DestructivePlanError, planFor } from './apply.ts';
export { declaredTables, MANAGED_PREFIX, readCatalog } from './catalog.ts';
export { plan, policyHash, qualified } from './plan.ts';
export * from './types.ts';
