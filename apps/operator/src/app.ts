// The operator: build(deps) wires one controller per kind; main.ts adds leader election.
import {
  type DatabaseObject,
  FUNCTION_LABELS,
  type FunctionObject,
  type GraphQLApiObject,
  type KafkaTriggerObject,
  MANAGED_SELECTOR,
  POOL,
  type TenantObject,
} from '@plinth/api';
import { type ConcurrencySource, gatewayStatsSource, secretRefs } from '@plinth/faas';
import {
  type Access,
  Controller,
  type ControllerOptions,
  eventAccess,
  InformerFactory,
  type KubeClient,
  type KubeObject,
  type Logger,
  Resources,
  type ResourceType,
  silentLogger,
} from '@plinth/kube';
import type { OperatorConfig } from './config.ts';
import { DatabaseType, databaseAccess, databaseReconciler } from './database/reconcile.ts';
import { autoscalerAccess, ClusterAutoscaler, type DeploymentObject } from './function/autoscaler.ts';
import { type Caches, FunctionType, functionAccess, functionReconciler } from './function/reconcile.ts';
import { GraphQLApiType, graphqlAccess, graphqlReconciler } from './graphql/reconcile.ts';
import { RouteOwnership, routesAccess } from './routes.ts';
import type { SecretObject, SecretOf } from './status.ts';
import { TenantType, tenantAccess, tenantReconciler } from './tenant/reconcile.ts';
import { KafkaTriggerType, triggerAccess, triggerReconciler } from './trigger/reconcile.ts';

/**
 * Everything the operator does in the API, as its parts declare it: the source of the
 * operator's ClusterRole (npm run gen:rbac). The controllers read their primary, owned and
 * watched types through the same shared caches, so each part's READ covers them.
 */
export const operatorAccess: Access[] = [
  ...functionAccess,
  ...autoscalerAccess,
  ...triggerAccess,
  ...databaseAccess,
  ...graphqlAccess,
  ...tenantAccess,
  ...routesAccess,
  ...eventAccess,
];

export interface OperatorDeps {
  client: KubeClient;
  config: OperatorConfig;
  logger?: Logger;
  /** Watch one namespace (tests); all when omitted. */
  namespace?: string;
  /** Where in-flight counts come from; default: the gateways in config.gatewayStatsURLs. */
  concurrency?: ConcurrencySource;
  /** Every object reconciled again this often (default config.resyncSeconds). */
  resyncMs?: number;
  autoscaleIntervalMs?: number;
  now?: () => number;
}

export interface Operator {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly autoscaler: ClusterAutoscaler;
}

export function build(deps: OperatorDeps): Operator {
  // Route ownership is settled over the whole cluster, whatever deps.namespace says; a change
  // requeues the Functions and GraphQLApis (in scope) whose RouteConflict appears or clears.
  // One watch and cache per type for the whole operator, shared by every controller, route
  // ownership, the autoscaler and the reconciles (which read from it instead of the API server).
  const informers = new InformerFactory(deps.client, deps.logger ?? silentLogger);
  // Made before the controllers start (which starts every informer made so far).
  const caches: Caches = <T extends KubeObject>(type: ResourceType, labelSelector?: string) =>
    informers.informer<T>(type, { namespace: deps.namespace, labelSelector });
  // Secrets from the cache, except (in tests scoped to one namespace) those outside the scope,
  // such as a platform database server's in the platform namespace.
  const secretCache = caches<SecretObject>(Resources.Secret);
  const secretOf: SecretOf = (namespace, name) =>
    deps.namespace && namespace !== deps.namespace
      ? deps.client.get<SecretObject>(Resources.Secret, { namespace, name })
      : secretCache.get({ namespace, name });
  const routes = new RouteOwnership({
    client: deps.client,
    informers,
    logger: deps.logger,
    onChange: (kind, ns, name) => {
      if (deps.namespace && ns !== deps.namespace) return;
      (kind === 'Function' ? functionController : graphqlController).queue.add(`${ns}/${name}`);
    },
    onTenantChange: (name) => tenantController.queue.add(name),
    fieldManager: `${deps.config.fieldManager}-routes`,
  });
  const functions = functionReconciler({ client: deps.client, config: deps.config, routes, caches });
  // One controller per kind, each owning the Deployments its reconcile creates, each watching
  // what its reconcile reads, each resynced so drift outside Kubernetes is repaired.
  const controller = <T extends KubeObject>(
    name: string,
    type: ResourceType,
    r: { reconcile: ControllerOptions<T>['reconcile']; onError: ControllerOptions<T>['onError'] },
    extra: Partial<ControllerOptions<T>> = {},
  ) =>
    new Controller<T>({
      name,
      client: deps.client,
      type,
      namespace: deps.namespace,
      reconcile: r.reconcile,
      onError: r.onError,
      logger: deps.logger ?? silentLogger,
      informers,
      ownedSelector: MANAGED_SELECTOR,
      resyncMs: deps.resyncMs ?? deps.config.resyncSeconds * 1000,
      concurrency: deps.config.reconcileWorkers,
      ...extra,
    });
  const named = (obj: KubeObject) => obj.metadata?.name ?? '';
  const functionController = controller<FunctionObject>('function', FunctionType, functions, {
    owns: [Resources.Deployment],
    // A pool pod the gateway specialized joins its Function (by label, not owner): the Function
    // retires it once the revision's own pod is ready.
    watches: [
      {
        type: Resources.Pod,
        labelSelector: `${POOL.pooled}=true`,
        affected: (pod, fns) => fns.filter((f) => f.metadata.name === pod.metadata?.labels?.[FUNCTION_LABELS.function]),
      },
    ],
  });
  const autoscaler = new ClusterAutoscaler({
    client: deps.client,
    source:
      deps.concurrency ??
      gatewayStatsSource(deps.config.gatewayStatsURLs, (url, e) =>
        deps.logger?.warn({ gateway: url, err: e.message }, 'cannot read gateway stats'),
      ),
    functions: () => functionController.informer.list(deps.namespace),
    deployment: (namespace, name) =>
      caches<DeploymentObject>(Resources.Deployment, MANAGED_SELECTOR).get({ namespace, name }),
    intervalMs: deps.autoscaleIntervalMs,
    now: deps.now,
    logger: deps.logger,
  });
  const triggers = triggerReconciler({ client: deps.client, config: deps.config, caches, secretOf });
  const triggerController = controller<KafkaTriggerObject>('kafka-trigger', KafkaTriggerType, triggers, {
    owns: [Resources.Deployment],
    watches: [
      // The Function's path is the delivery target.
      { type: FunctionType, affected: (fn, ts) => ts.filter((t) => t.spec.functionRef.name === named(fn)) },
      // A rotated password or CA rolls the connector (its config hash changes).
      {
        type: Resources.Secret,
        affected: (secret, ts) =>
          ts.filter((t) => Object.values(secretRefs(t)).some((ref) => ref?.name === named(secret))),
      },
    ],
  });
  const databases = databaseReconciler({ client: deps.client, config: deps.config, caches, secretOf });
  const databaseController = controller<DatabaseObject>('database', DatabaseType, databases, {
    concurrency: 1,
    watches: [
      {
        type: Resources.Secret,
        affected: (secret, dbs) => dbs.filter((d) => d.spec.connectionSecretRef?.name === named(secret)),
      },
    ],
  });
  const graphql = graphqlReconciler({ client: deps.client, config: deps.config, routes, caches, secretOf });
  const graphqlController = controller<GraphQLApiObject>('graphql-api', GraphQLApiType, graphql, {
    owns: [Resources.Deployment],
    watches: [
      {
        type: DatabaseType,
        affected: (db, apis) => apis.filter((a) => a.spec.databaseRef.name === db.metadata?.name),
      },
      // The JWT secret, and the authenticator's password (a Secret of the Database's): a
      // rotation rolls the GraphQL pods (their config hash changes).
      {
        type: Resources.Secret,
        affected: (secret, apis) =>
          apis.filter(
            (a) =>
              a.spec.jwt?.secretRef?.name === named(secret) || named(secret).startsWith(`${a.spec.databaseRef.name}-`),
          ),
      },
    ],
  });
  const tenants = tenantReconciler({
    client: deps.client,
    config: deps.config,
    routes,
    // A Tenant's objects are in its namespaces, whatever deps.namespace says.
    caches: <T extends KubeObject>(type: ResourceType, labelSelector?: string) =>
      informers.informer<T>(type, { labelSelector }),
  });
  const tenantController = controller<TenantObject>('tenant', TenantType, tenants, {
    owns: [Resources.ResourceQuota, Resources.LimitRange, Resources.NetworkPolicy, Resources.RoleBinding],
    concurrency: 1,
    namespace: undefined, // a Tenant's objects are in its namespaces, whatever deps.namespace says
  });
  const controllers = [functionController, triggerController, databaseController, graphqlController, tenantController];
  return {
    autoscaler,
    start: async () => {
      await routes.start();
      await Promise.all(controllers.map((c) => c.start()));
      autoscaler.start();
    },
    stop: async () => {
      autoscaler.stop();
      await Promise.all(controllers.map((c) => c.stop()));
      informers.stop();
      routes.stop();
    },
  };
}

export { configFromEnv, type OperatorConfig } from './config.ts';
export { ClusterAutoscaler } from './function/autoscaler.ts';
export { functionReconciler } from './function/reconcile.ts';
export * as render from './function/render.ts';
