export type { Access, PolicyRule, Verb } from './access.ts';
export { APPLY, READ, rulesOf } from './access.ts';
export { APPLIED_HASH, applyCached, statesAll } from './apply.ts';
export type { KubeList, KubeObject, ObjectMeta, ObjectRef, OwnerReference } from './client.ts';
export { KubeClient, keyOf, parseKey, refOf } from './client.ts';
export type { ConditionInput, ConditionStatus } from './conditions.ts';
export { ConditionType, getCondition, isConditionTrue, setCondition } from './conditions.ts';
export type { ControllerOptions, ReconcileContext, ReconcileFailure, ReconcileResult } from './controller.ts';
export { Controller, specOrMetadataChanged } from './controller.ts';
export { ensureCrd } from './crd.ts';
export {
  isConflict,
  isForbidden,
  isInvalid,
  isNotFound,
  KubeApiError,
  PlinthError,
  RetryAfterError,
  TerminalError,
} from './errors.ts';
export type { InformerEvent, InformerHandler, InformerOptions } from './informer.ts';
export { Informer } from './informer.ts';
export { InformerFactory, type InformerScope } from './informers.ts';
export type { LeaderElectorOptions } from './lease.ts';
export { LeaderElector, leaderElectionAccess } from './lease.ts';
export type { Logger } from './log.ts';
export { createLogger, silentLogger } from './log.ts';
export type { EventInput } from './meta.ts';
export {
  eventAccess,
  hasFinalizer,
  ownerReference,
  recordEvent,
  restrictedContainer,
  restrictedPod,
  setFinalizer,
} from './meta.ts';
export type { WorkQueueOptions } from './queue.ts';
export { WorkQueue } from './queue.ts';
export { getReplicas, REPLICAS_MANAGER, replicasAccess, setReplicas } from './replicas.ts';
export type { ResourceType } from './resources.ts';
export { apiVersionOf, pathFor, Resources, resourceOf } from './resources.ts';
