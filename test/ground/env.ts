// How tests reach the test ground. Everything comes from test/ground/ground.env, written by
// `test/ground/up`. A test that needs a service which is not up fails with a message naming
// the command to run; nothing is skipped.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GROUND_DIR = import.meta.dirname;
export const ENV_FILE = join(GROUND_DIR, 'ground.env');

export type GroundService = 'kubernetes' | 'postgres' | 'kafka' | 'ldap' | 'registry' | 'node';

export class GroundNotUpError extends Error {
  constructor(what: string) {
    super(`${what}. Start the test ground with \`test/ground/up\` (status: \`test/ground/status\`).`);
    this.name = 'GroundNotUpError';
  }
}

let cached: Record<string, string> | undefined;

/** All variables of ground.env. */
export function groundEnv(): Record<string, string> {
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(ENV_FILE, 'utf8');
  } catch {
    throw new GroundNotUpError(`${ENV_FILE} does not exist`);
  }
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m?.[1]) env[m[1]] = m[2] ?? '';
  }
  cached = env;
  return env;
}

/** One variable of ground.env; throws if it is missing. */
export function ground(name: string): string {
  const value = groundEnv()[name];
  if (value === undefined || value === '') throw new GroundNotUpError(`${name} is missing from ${ENV_FILE}`);
  return value;
}

const endpoints: Record<GroundService, () => string> = {
  kubernetes: () => new URL(ground('K8S_SERVER')).host,
  postgres: () => `${ground('PGHOST')}:${ground('PGPORT')}`,
  kafka: () => ground('KAFKA_BOOTSTRAP_SASL_SSL'),
  ldap: () => new URL(ground('LDAP_URL')).host,
  registry: () => ground('REGISTRY'),
  node: () => `${ground('NODE_IP')}:${ground('KUBELET_PORT')}`,
};

/** Fails (never skips) when a service's port does not accept connections. */
export async function requireGround(...services: GroundService[]): Promise<void> {
  for (const service of services) {
    const hostPort = endpoints[service]();
    const i = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, i);
    const port = Number(hostPort.slice(i + 1));
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port, timeout: 3000 });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      const fail = (why: string) => {
        socket.destroy();
        reject(new GroundNotUpError(`The test ground's ${service} is not answering at ${hostPort} (${why})`));
      };
      socket.once('timeout', () => fail('timeout'));
      socket.once('error', (e) => fail((e as NodeJS.ErrnoException).code ?? e.message));
    });
  }
}

/** Waits until `check` returns a value other than undefined/false, or fails after timeoutMs. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A name unique to this test run, valid as a Kubernetes name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Client options for the ground's Kafka SASL_SSL listener (SCRAM-SHA-512, verified TLS), in the
 * shape @platformatic/kafka takes: spread them into a Producer, Consumer or Admin.
 */
export function groundKafka() {
  return {
    bootstrapBrokers: [ground('KAFKA_BOOTSTRAP_SASL_SSL')],
    tls: { ca: readFileSync(ground('KAFKA_CA_FILE'), 'utf8'), servername: 'localhost' },
    sasl: {
      mechanism: 'SCRAM-SHA-512' as const,
      username: ground('KAFKA_SASL_USER'),
      password: ground('KAFKA_SASL_PASSWORD'),
    },
  };
}

/**
 * pg client config for the ground's PostgreSQL over verified TLS: the test superuser, or the
 * given user and password.
 */
export function groundPg(database: string, login?: { user: string; password: string }) {
  return {
    host: ground('PGHOST'),
    port: Number(ground('PGPORT')),
    user: login?.user ?? ground('PGUSER'),
    password: login?.password ?? ground('PGPASSWORD'),
    database,
    ssl: { ca: readFileSync(ground('PGSSLROOTCERT'), 'utf8'), servername: 'localhost' },
  };
}

/**
 * The stringData of a Database connection Secret for the ground's PostgreSQL (superuser,
 * verified TLS): what a platform admin would put in the cluster.
 */
export function groundPgSecretData(): Record<string, string> {
  return {
    host: ground('PGHOST'),
    port: ground('PGPORT'),
    username: ground('PGUSER'),
    password: ground('PGPASSWORD'),
    'ca.crt': readFileSync(ground('PGSSLROOTCERT'), 'utf8'),
  };
}

/**
 * The `ldap` section of a Plinth identity config for the ground's slapd (OpenLDAP preset over
 * verified LDAPS, the read-only service account); writes the bind password to a file of its own.
 */
export function groundLdapIdentity(): Record<string, string> {
  const passwordFile = join(mkdtempSync(join(tmpdir(), 'plinth-ldap-')), 'bind-password');
  writeFileSync(passwordFile, ground('LDAP_BIND_PASSWORD'), { mode: 0o600 });
  return {
    preset: 'openldap',
    url: ground('LDAPS_URL'),
    caFile: ground('LDAP_CA_FILE'),
    bindDN: ground('LDAP_BIND_DN'),
    bindPasswordFile: passwordFile,
    userBaseDN: ground('LDAP_USERS_DN'),
    groupBaseDN: ground('LDAP_GROUPS_DN'),
  };
}

/**
 * pg client config for the ground's PostgreSQL as a pod reaches it (the node IP, verified TLS
 * for that address): the test superuser, or the given user and password.
 */
export function groundPodPg(database: string, login?: { user: string; password: string }) {
  return {
    host: ground('POD_PGHOST'),
    port: Number(ground('POD_PGPORT')),
    user: login?.user ?? ground('PGUSER'),
    password: login?.password ?? ground('PGPASSWORD'),
    database,
    ssl: { ca: readFileSync(ground('PGSSLROOTCERT'), 'utf8') },
  };
}

/** groundPgSecretData with the address pods use: for Secrets that pods on the real node read. */
export function groundPodPgSecretData(): Record<string, string> {
  return { ...groundPgSecretData(), host: ground('POD_PGHOST'), port: ground('POD_PGPORT') };
}

/** groundKafka for pods: the SASL_SSL listener on the node IP, advertised as such. */
export function groundPodKafka() {
  return {
    ...groundKafka(),
    bootstrapBrokers: [ground('POD_KAFKA_BOOTSTRAP_SASL_SSL')],
    tls: { ca: readFileSync(ground('KAFKA_CA_FILE'), 'utf8') },
  };
}

/**
 * What a pod spec needs to run on the ground's real node rather than on a kwok node: the node's
 * label as a nodeSelector and a toleration of its taint. Spread into a pod spec.
 */
export function groundRealNodePlacement() {
  const [key = '', value = ''] = ground('NODE_LABEL').split('=');
  return {
    nodeSelector: { [key]: value },
    tolerations: [{ key, operator: 'Exists' as const, effect: 'NoSchedule' as const }],
  };
}

/**
 * A platform config file with only Plinth's own part: the parts installed through Flux (which
 * the ground does not run) switched off, plus `extra` (and `plinth`, the settings of Plinth's
 * own part). JSON, which the config loader reads as it reads YAML.
 */
export function plinthOnlyConfig(extra: Record<string, unknown> = {}, plinth: Record<string, unknown> = {}): string {
  const off = { enabled: false };
  const file = join(mkdtempSync(join(tmpdir(), 'plinth-config-')), 'platform.json');
  writeFileSync(
    file,
    JSON.stringify({
      profile: 'dev',
      ...extra,
      components: {
        certManager: off,
        gateway: off,
        kafka: off,
        postgres: off,
        registry: off,
        monitoring: off,
        logging: off,
        headlamp: off,
        ...(Object.keys(plinth).length ? { plinth } : {}),
      },
    }),
  );
  return file;
}
