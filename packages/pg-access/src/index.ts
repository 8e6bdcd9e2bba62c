export { applyDeclaration, DestructivePlanError, planFor, runOne, shownSql } from './apply.ts';
export { declaredTables, MANAGED_PREFIX, readCatalog } from './catalog.ts';
export {
  type CheckOptions,
  checkDeclaration,
  DeclarationError,
  declarationProblems,
  expressionProblem,
} from './check.ts';
export { plan, policyHash, qualified } from './plan.ts';
export * from './types.ts';
