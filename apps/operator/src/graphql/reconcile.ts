import {
  DatabaseKind,
  type DatabaseObject,
  GraphQLApiKind,
  type GraphQLApiObject,
  type GraphqlConfig,
  graphqlPrefix,
  graphqlServiceName,
  MANAGED_BY,
  MANAGED_SELECTOR,
  type Placement,
} from '@plinth/api';
import {
  type Access,
  APPLY,
  applyCached,
  getCondition,
  type KubeClient,
  type KubeObject,
  ownerReference,
  READ,
  type ReconcileContext,
  Resources,
  type ResourceType,
  resourceOf,
} from '@plinth/kube';
import {
  type ConnectionInfo,
  ConnectionSecretError,
  connectionInfo,
  credentialsSecretName,
  databaseName,
} from '@plinth/pg-access';
import type { OperatorConfig } from '../config.ts';
import { CONFIGURED_TYPES, renderConfiguredWorkload } from '../configured.ts';
import type { Caches } from '../function/reconcile.ts';
import { type RouteOwnership, routeConflictCondition } from '../routes.ts';
import { reporter, type SecretOf, secretReader, statusWriter, withConditions } from '../status.ts';

export const GraphQLApiType = resourceOf(GraphQLApiKind);
export const LABEL = 'plinth.dev/graphql-api';

/** The API's config file (pure). */
export function graphqlConfig(
  api: GraphQLApiObject,
  inputs: { server: ConnectionInfo; database: string; authenticatorPassword: string; jwtSecret?: string },
): GraphqlConfig {
  const spec = GraphQLApiKind.withDefaults(api.spec);
  const { server } = inputs;
  return {
    database: {
      host: server.host,
      port: server.port,
      database: inputs.database,
      user: spec.authenticator,
      password: inputs.authenticatorPassword,
      ...(server.ca ? { ca: server.ca } : {}),
      ...(server.sslDisabled ? { sslmode: 'disable' as const } : {}),
    },
    schemas: spec.schemas,
    roles: spec.roles,
    ...(spec.anonymousRole ? { anonymousRole: spec.anonymousRole } : {}),
    jwt: {
      ...(inputs.jwtSecret !== undefined ? { secret: inputs.jwtSecret } : {}),
      ...(spec.jwt.jwksUri ? { jwksUrl: spec.jwt.jwksUri } : {}),
      ...(spec.jwt.issuer ? { issuer: spec.jwt.issuer } : {}),
      ...(spec.jwt.audience ? { audience: spec.jwt.audience } : {}),
      roleClaim: spec.jwt.roleClaim,
    },
    limits: spec.limits,
    introspection: spec.introspection,
  };
}

/** The Secret, ServiceAccount, Deployment and Service of a GraphQLApi (pure). */
export function renderGraphqlApi(
  api: GraphQLApiObject,
  config: GraphqlConfig,
  image: string,
  placement: Placement = {},
): KubeObject[] {
  const spec = GraphQLApiKind.withDefaults(api.spec);
  const ns = api.metadata.namespace ?? 'default';
  const name = graphqlServiceName(api.metadata.name ?? '');
  const selector = { [LABEL]: api.metadata.name ?? '' };
  const labels = { ...selector, 'app.kubernetes.io/name': 'plinth-graphql', ...MANAGED_BY };
  const owner = [ownerReference(api as KubeObject)];
  return [
    ...renderConfiguredWorkload({
      name,
      namespace: ns,
      labels,
      selector,
      owner,
      replicas: spec.replicas,
      placement,
      config: { file: 'graphql.json', env: 'PLINTH_GRAPHQL_CONFIG', content: config },
      container: {
        name: 'graphql',
        image,
        env: [
          { name: 'PORT', value: '8080' },
          { name: 'PLINTH_ADMIN_PORT', value: '9090' },
        ],
        ports: [
          { name: 'http', containerPort: 8080 },
          { name: 'metrics', containerPort: 9090 },
        ],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
        resources: { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } },
      },
      volumes: [
        { volume: { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, mount: { name: 'tmp', mountPath: '/tmp' } },
      ],
    }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels, ownerReferences: owner },
      spec: { selector, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] },
    },
  ] as unknown as KubeObject[];
}

/** What the GraphQLApi reconcile reads (from the shared caches) and writes. */
export const graphqlAccess: Access[] = [
  { type: GraphQLApiType, verbs: READ },
  { type: GraphQLApiType, subresource: 'status', verbs: ['patch'] },
  { type: GraphQLApiType, subresource: 'finalizers', verbs: ['update'] }, // owner of its children
  { type: resourceOf(DatabaseKind), verbs: READ },
  ...Object.values(CONFIGURED_TYPES).map((type) => ({ type, verbs: [...READ, ...APPLY] as const })),
];

export function graphqlReconciler(deps: {
  client: KubeClient;
  config: OperatorConfig;
  /** Whether the gateway routes this API's path and host (RouteConflict when not). */
  routes?: Pick<RouteOwnership, 'hold'>;
  caches: Caches;
  /** Secrets, also those of the platform's servers outside the operator's scope. */
  secretOf: SecretOf;
}) {
  const { client, config } = deps;
  const databases = deps.caches<DatabaseObject & KubeObject>(resourceOf(DatabaseKind));
  const managed = (type: ResourceType) => deps.caches(type, MANAGED_SELECTOR);
  type Status = NonNullable<GraphQLApiObject['status']>;
  const applyStatus = statusWriter<Status>(client, GraphQLApiType, GraphQLApiKind.apiVersion, config.fieldManager, [
    'route',
  ]);
  // status.route is RouteOwnership.hold's (its own field manager): never stated here.
  const writeStatus = (api: { metadata: { name?: string; namespace?: string } }, { route: _, ...status }: Status) =>
    applyStatus(api, status);

  /** Waits for something the API names; the reason goes to status and the reconcile retries. */
  const report = reporter<GraphQLApiObject, Status>({
    client,
    write: writeStatus,
    component: config.fieldManager,
    retryMs: 10_000,
  });
  const waiting = report.waiting;

  async function reconcile(ctx: ReconcileContext<GraphQLApiObject>): Promise<void> {
    const api = ctx.object;
    if (!api || api.metadata.deletionTimestamp) return; // owned objects go with it
    const ns = api.metadata.namespace ?? 'default';
    const spec = GraphQLApiKind.withDefaults(api.spec);
    // A path or host that another object holds, or that the namespace's Tenant does not grant.
    // An accepted claim is recorded in status.route first: from then on it keeps them.
    const refusal = await deps.routes?.hold('GraphQLApi', api);
    if (refusal) {
      return writeStatus(api, {
        ...api.status,
        observedGeneration: api.metadata.generation,
        lastError: refusal.message,
        conditions: withConditions(api, [routeConflictCondition(refusal)]),
      });
    }
    const secretValue = secretReader(deps.secretOf, ns, (reason, message) => waiting(api, reason, message));

    const db = databases.get({ namespace: ns, name: spec.databaseRef.name });
    if (!db) return waiting(api, 'DatabaseNotFound', `Database ${ns}/${spec.databaseRef.name} does not exist`);
    const authenticator = db.spec.roles.find((r) => r.name === spec.authenticator);
    if (!authenticator?.login) {
      return waiting(
        api,
        'AuthenticatorNotDeclared',
        `Database ${spec.databaseRef.name} declares no login role "${spec.authenticator}"; add it with login: true and memberOf: [${spec.roles.join(', ')}]`,
      );
    }
    const missing = [...spec.roles, ...(spec.anonymousRole ? [spec.anonymousRole] : [])].filter(
      (r) => !authenticator.memberOf?.includes(r),
    );
    if (missing.length) {
      return waiting(
        api,
        'AuthenticatorNotMember',
        `the authenticator "${spec.authenticator}" must be a member of ${missing.join(', ')} in Database ${spec.databaseRef.name}`,
      );
    }
    if (getCondition(db.status?.conditions, 'Ready')?.status !== 'True') {
      return waiting(api, 'DatabaseNotReady', `Database ${spec.databaseRef.name} is not ready yet`);
    }
    let server: ConnectionInfo;
    try {
      server = await connectionInfo(deps.secretOf, db, config.platformNamespace);
    } catch (e) {
      if (e instanceof ConnectionSecretError) return waiting(api, 'ConnectionSecretNotFound', e.message);
      throw e;
    }
    const cfg = graphqlConfig(api, {
      server,
      database: databaseName(db),
      authenticatorPassword: await secretValue({
        name: credentialsSecretName(db, spec.authenticator),
        key: 'password',
      }),
      ...(spec.jwt.secretRef ? { jwtSecret: await secretValue(spec.jwt.secretRef) } : {}),
    });
    for (const obj of renderGraphqlApi(api, cfg, config.graphqlImage, config.placement)) {
      const type = CONFIGURED_TYPES[obj.kind ?? ''];
      if (type) await applyCached(client, managed(type), type, obj, { fieldManager: config.fieldManager });
    }

    const name = graphqlServiceName(api.metadata.name ?? '');
    const d = managed(Resources.Deployment).get({ namespace: ns, name }) as
      | (KubeObject & { status?: { availableReplicas?: number } })
      | undefined;
    const available = d?.status?.availableReplicas ?? 0;
    const url = `${config.gatewayURL}${graphqlPrefix(api)}`;
    await writeStatus(api, {
      observedGeneration: api.metadata.generation,
      url,
      readyReplicas: available,
      conditions: withConditions(api, [
        available > 0 || spec.replicas === 0
          ? {
              type: 'Ready',
              status: 'True',
              reason: 'Available',
              message: `serving ${spec.schemas.join(', ')} at ${url}`,
            }
          : { type: 'Ready', status: 'False', reason: 'Starting', message: `${name} has no available replica yet` },
        { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
      ]),
    });
  }

  const { onError } = report;

  return { reconcile, onError };
}
