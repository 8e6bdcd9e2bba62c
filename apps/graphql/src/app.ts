// plinth-graphql: PostGraphile 5 over one database, connected as a least-privileged
// authenticator role. Each request is authenticated first (401/403 before any SQL runs); the
// verified claims become pgSettings, which PostGraphile applies with set_config(..., true)
// inside the request's transaction: `role` is SET LOCAL ROLE, the rest are jwt.claims.* for
// RLS. Depth and cost limits and the introspection switch are GraphQL validation rules.
import './env.ts';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { type GraphqlConfig, PLINTH_VERSION } from '@plinth/api';
import { GraphQLError, getOperationAST, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { postgraphile } from 'postgraphile';
import { isSafeError } from 'postgraphile/grafast';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { type AuthConfig, AuthError, makeVerifier, pgSettingsFor } from './auth.ts';
import { markReadOnly, pgService } from './pg-client.ts';

export { type GraphqlConfig, GraphqlConfigFile } from '@plinth/api';
export { type AuthConfig, AuthError, type JwtConfig, pgSettingsFor } from './auth.ts';

export interface GraphqlApi {
  /** The API (what the gateway routes to): /graphql, /, and /healthz. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Metrics and health, for a port that stays inside the cluster: /metrics, /healthz. */
  adminListener: (req: IncomingMessage, res: ServerResponse) => void;
  registry: Registry;
  /** Resolves once the schema is built (introspection of the database done). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const requestContext = new WeakMap<IncomingMessage, Record<string, string>>();

export function build(config: GraphqlConfig, deps: { logger?: Logger; registry?: Registry } = {}): GraphqlApi {
  const log = deps.logger ?? pino({ name: 'plinth-graphql', level: process.env.PLINTH_LOG_LEVEL ?? 'info' });
  const registry = deps.registry ?? new Registry();
  if (!deps.registry) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'plinth_graphql_requests_total',
    help: 'GraphQL HTTP requests by status code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'plinth_graphql_request_duration_seconds',
    help: 'GraphQL request latency, authentication included.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'plinth_graphql_auth_failures_total',
    help: 'Requests refused before any SQL ran, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });

  const db = config.database;
  const pool = new pg.Pool({
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.user,
    password: db.password,
    ssl: db.ca ? { ca: db.ca } : db.sslmode === 'disable' ? false : { rejectUnauthorized: true },
    max: config.poolSize ?? 10,
  });
  pool.on('error', (e) => log.error({ err: e }, 'idle PostgreSQL connection failed'));
  const auth: AuthConfig | undefined = config.jwt
    ? {
        jwt: config.jwt,
        roles: config.roles ?? [],
        ...(config.anonymousRole ? { anonymousRole: config.anonymousRole } : {}),
      }
    : undefined;
  const verify = config.jwt ? makeVerifier(config.jwt) : undefined;

  const rejected = new Counter({
    name: 'plinth_graphql_rejected_total',
    help: 'Operations refused by a limit before execution, by limit.',
    labelNames: ['limit'],
    registers: [registry],
  });
  // The limits report a validation error (a 400-class GraphQL response), never throw.
  const limit = (name: string) => ({
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, err: GraphQLError) => {
        rejected.inc({ limit: name });
        ctx?.reportError(err);
      },
    ],
  });
  const rules = [
    ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
    maxDepthRule({ n: config.limits?.maxDepth ?? 12, ignoreIntrospection: true, ...limit('depth') }),
    costLimitRule({ maxCost: config.limits?.maxCost ?? 5000, ignoreIntrospection: true, ...limit('cost') }),
  ];
  /**
   * Errors PostgreSQL raises for the caller's own request (permissions, RLS, constraints,
   * bad data, RAISE EXCEPTION) are shown as they are, with their SQLSTATE, and so are
   * PostGraphile's safe errors ("no values were deleted"); anything else is logged with an id
   * and masked.
   */
  const maskError = (error: GraphQLError): GraphQLError => {
    const code = (error.originalError as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && /^(42501|23...|22...|P0001)$/.test(code)) {
      return new GraphQLError(error.originalError?.message ?? error.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: { code },
      });
    }
    if (!error.originalError || error.originalError instanceof GraphQLError) return error;
    const original = error.originalError;
    // PostGraphile reports a mutation that matched no row it may touch as a plain Error.
    const notFound = /^No values were (deleted|updated) in collection /.test(original.message);
    if (isSafeError(original) || notFound) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: isSafeError(original) ? (original.extensions ?? {}) : { code: 'NOT_FOUND' },
      });
    }
    const id = randomUUID();
    log.error({ err: error.originalError, errorId: id, path: error.path }, 'GraphQL request failed');
    return new GraphQLError(`internal error (logged as ${id})`, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
    });
  };
  const preset: GraphileConfig.Preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [pgService(pool, config.schemas, (e) => log.warn({ err: e }, 'pipelined COMMIT failed'))],
    grafserv: { graphqlPath: '/graphql', graphiql: false, websockets: false, maxRequestLength: 100_000, maskError },
    grafast: {
      explain: false,
      context: (ctx, args) => {
        const req = ctx.node?.req;
        const settings = req ? requestContext.get(req) : undefined;
        if (!settings) return {};
        const pgSettings = { ...settings }; // one object per operation
        const op = getOperationAST(args.document, args.operationName);
        if (op?.operation === 'query') markReadOnly(pgSettings);
        return { pgSettings };
      },
    },
    plugins: [
      {
        name: 'PlinthValidationRules',
        version: PLINTH_VERSION,
        grafserv: {
          middleware: {
            setPreset(next, event) {
              event.validationRules.push(...rules);
              return next();
            },
          },
        },
      },
    ],
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const handler = serv.createHandler();

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const adminListener = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.url !== '/metrics') return json(res, 404, { error: 'not found: /metrics, /healthz' });
    void registry.metrics().then((m) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(m);
    });
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url === '/healthz') return json(res, 200, { status: 'ok' });
    const end = duration.startTimer();
    res.once('finish', () => {
      end();
      requests.inc({ code: String(res.statusCode) });
    });
    // Behind the gateway the route prefix is stripped, so the API is served at / as well.
    if (url === '/' || url.startsWith('/?')) req.url = `/graphql${url.slice(1)}`;
    else if (!url.startsWith('/graphql')) return json(res, 404, { errors: [{ message: 'not found: POST /graphql' }] });
    if (!auth || !verify) return handler(req, res);
    const header = req.headers.authorization;
    verify(header)
      .then((claims) => {
        requestContext.set(req, pgSettingsFor(claims, auth));
        handler(req, res);
      })
      .catch((e: unknown) => {
        if (e instanceof AuthError) {
          authFailures.inc({ reason: e.reason });
          const challenge = e.status === 401 ? { 'www-authenticate': `Bearer error="invalid_token"` } : undefined;
          return json(res, e.status, { errors: [{ message: e.message, extensions: { code: e.reason } }] }, challenge);
        }
        log.error({ err: e }, 'authentication unavailable');
        json(res, 503, { errors: [{ message: 'authentication is unavailable; try again' }] });
      });
  };

  return {
    listener,
    adminListener,
    registry,
    async ready() {
      await serv.ready();
    },
    async close() {
      await pgl.release(); // releases the server too
      await pool.end();
    },
  };
}
