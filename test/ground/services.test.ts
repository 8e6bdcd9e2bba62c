// The ground's PostgreSQL, Kafka and OpenLDAP, reached the way Plinth's code will reach them:
// over TLS, with the clients Plinth depends on (pg, @platformatic/kafka, ldapts); and the real
// node and registry: a pod of an image pushed to the ground registry, its network, and what it
// reaches (the API server, PostgreSQL, Kafka, LDAP), with nothing leaving the machine.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import {
  eventually,
  GROUND_DIR,
  ground,
  groundKafka,
  groundPg,
  groundRealNodePlacement,
  requireGround,
  uniqueName,
} from './env.ts';

describe('PostgreSQL', () => {
  it('accepts a query over verified TLS as the test superuser', async () => {
    await requireGround('postgres');
    const client = new pg.Client(groundPg('postgres'));
    await client.connect();
    try {
      const { rows } = await client.query<{ sum: number; ssl: boolean; superuser: boolean }>(
        `select 40 + $1::int as sum,
                (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl,
                (select rolsuper from pg_roles where rolname = current_user) as superuser`,
        [2],
      );
      assert.deepEqual(rows[0], { sum: 42, ssl: true, superuser: true });
    } finally {
      await client.end();
    }
  });
});

describe('Kafka over SASL_SSL', () => {
  const base = () => {
    const { sasl: _, ...tlsOnly } = groundKafka();
    return tlsOnly;
  };

  it('round-trips a message authenticated with SCRAM-SHA-512', async () => {
    await requireGround('kafka');
    const sasl = {
      mechanism: 'SCRAM-SHA-512' as const,
      username: ground('KAFKA_SASL_USER'),
      password: ground('KAFKA_SASL_PASSWORD'),
    };
    const topic = uniqueName('ground');
    const producer = new Producer({
      ...base(),
      clientId: 'ground-test',
      sasl,
      serializers: stringSerializers,
      autocreateTopics: true,
    });
    const consumer = new Consumer({
      ...base(),
      clientId: 'ground-test',
      groupId: uniqueName('ground-group'),
      sasl,
      deserializers: stringDeserializers,
    });
    try {
      await eventually(
        'the producer to send (topic auto-creation)',
        async () => {
          await producer.send({ messages: [{ topic, key: 'k', value: 'hello over SASL_SSL' }] });
          return true;
        },
        30_000,
        500,
      );
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true });
      const received = await new Promise<{ key: string; value: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
        stream.once('data', (m) => {
          clearTimeout(timer);
          resolve({ key: m.key, value: m.value });
        });
      });
      assert.deepEqual(received, { key: 'k', value: 'hello over SASL_SSL' });
      await stream.close();
    } finally {
      await consumer.close(true);
      await producer.close();
    }
  });

  it('refuses a wrong password with an authentication error', async () => {
    await requireGround('kafka');
    const producer = new Producer({
      ...base(),
      clientId: 'ground-test-bad',
      retries: 0,
      sasl: { mechanism: 'SCRAM-SHA-512', username: ground('KAFKA_SASL_USER'), password: 'not-the-password' },
      serializers: stringSerializers,
    });
    try {
      await assert.rejects(producer.send({ messages: [{ topic: 'never', value: 'x' }] }), (e: unknown) => {
        const codes = errorChain(e).map((x) => x.code);
        assert.ok(
          codes.includes('PLT_KFK_AUTHENTICATION'),
          `expected an authentication error, got ${codes.join(' > ')}`,
        );
        return true;
      });
    } finally {
      await producer.close();
    }
  });
});

/** The error, its AggregateError members and its causes, depth first. */
function errorChain(e: unknown): { code?: string; message: string }[] {
  if (!(e instanceof Error)) return [];
  const members = e instanceof AggregateError ? e.errors : [];
  return [
    { code: (e as { code?: string }).code, message: e.message },
    ...members.flatMap(errorChain),
    ...errorChain(e.cause),
  ];
}

describe('OpenLDAP', () => {
  it('binds as the service account and returns the seeded groups, nested and AD-shaped', async () => {
    await requireGround('ldap');
    const client = new LdapClient({
      url: ground('LDAPS_URL'),
      tlsOptions: { ca: readFileSync(ground('LDAP_CA_FILE')) },
    });
    try {
      await client.bind(ground('LDAP_BIND_DN'), ground('LDAP_BIND_PASSWORD'));
      // AD-style lookup of the user: sAMAccountName, and memberOf kept by the memberof overlay.
      const { searchEntries: users } = await client.search(ground('LDAP_USERS_DN'), {
        filter: '(sAMAccountName=alice)',
        attributes: ['dn', 'userPrincipalName', 'memberOf'],
      });
      assert.equal(users.length, 1);
      const alice = users[0];
      assert.equal(alice?.userPrincipalName, 'alice@plinth.test');
      assert.equal(alice?.memberOf, 'cn=backend,ou=groups,dc=plinth,dc=test');
      // OpenLDAP-style group search by member DN, then one level of nesting.
      const groupsOf = async (dn: string) =>
        (
          await client.search(ground('LDAP_GROUPS_DN'), {
            filter: `(&(objectClass=groupOfNames)(member=${dn}))`,
            attributes: ['cn'],
          })
        ).searchEntries.map((e) => ({ dn: e.dn, cn: String(e.cn) }));
      const direct = await groupsOf(alice?.dn ?? '');
      assert.deepEqual(
        direct.map((g) => g.cn),
        ['backend'],
      );
      const nested = await groupsOf(direct[0]?.dn ?? '');
      assert.deepEqual(
        nested.map((g) => g.cn),
        ['team-a-developers'],
      );
    } finally {
      await client.unbind();
    }
  });

  it('rejects a wrong password with invalid credentials', async () => {
    await requireGround('ldap');
    const client = new LdapClient({ url: ground('LDAP_URL') });
    await assert.rejects(
      client.bind('uid=alice,ou=people,dc=plinth,dc=test', 'wrong'),
      /Invalid Credentials|InvalidCredentials/i,
    );
    await client.bind('uid=alice,ou=people,dc=plinth,dc=test', ground('LDAP_TEST_USER_PASSWORD'));
    await client.unbind();
  });
});

/** Runs a command; resolves with its stdout, rejects with its stderr. */
function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
) {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

const kubectl = (args: string[], input?: string) =>
  run(ground('KUBECTL'), args, { input, env: { KUBECONFIG: ground('KUBECONFIG') } });
const kubectlJson = async <T>(args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
const crictl = (args: string[]) => run(ground('CRICTL'), ['--config', ground('CRICTL_CONFIG'), ...args]);

type Pod = {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { imageID: string }[];
  };
};

/**
 * GETs a URL from the host on a connection of its own (so a Service balances each request);
 * resolves with the parsed JSON body.
 */
function getJson(url: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

/** The guard table's drop counters, keyed "chain: comment". */
async function guardCounters(): Promise<Map<string, number>> {
  const out = await run('nft', ['-j', 'list', 'table', 'inet', ground('NODE_GUARD_TABLE')]);
  const counters = new Map<string, number>();
  type Rule = { chain: string; comment?: string; expr: { counter?: { packets: number } }[] };
  for (const item of (JSON.parse(out) as { nftables: { rule?: Rule }[] }).nftables) {
    const rule = item.rule;
    const counter = rule?.expr.find((e) => e.counter)?.counter;
    if (rule && counter) counters.set(`${rule.chain}: ${rule.comment ?? ''}`, counter.packets);
  }
  return counters;
}

describe('the real node', () => {
  const ns = uniqueName('ground-node');
  let image = '';
  let digest = '';
  let pods: Pod[] = [];
  const ip = (i: number) => pods[i]?.status.podIP ?? '';
  let clusterIP = '';

  before(async () => {
    await requireGround('kubernetes', 'registry', 'node');
    // A locally built image: the ground's static probe in one layer, pushed with crane.
    const dir = mkdtempSync(join(tmpdir(), 'ground-image-'));
    try {
      mkdirSync(join(dir, 'rootfs'));
      copyFileSync(ground('GROUND_PROBE_BIN'), join(dir, 'rootfs', 'probe'));
      chmodSync(join(dir, 'rootfs', 'probe'), 0o755);
      image = `${ground('REGISTRY')}/ground-test/probe:${uniqueName('t')}`;
      digest = (
        await run('bash', [
          ground('OCI_LAYOUT_SCRIPT'),
          join(dir, 'rootfs'),
          join(dir, 'layout'),
          image,
          '["/probe"]',
          '65534',
        ])
      ).trim();
      await run(ground('CRANE'), ['push', join(dir, 'layout'), image], {
        env: { SSL_CERT_FILE: ground('REGISTRY_CA_FILE') },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const probe = (name: string, placement: object) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            ...placement,
            terminationGracePeriodSeconds: 2,
            securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'probe',
                image,
                ports: [{ name: 'http', containerPort: 8080 }],
                env: [
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'CA_FILE', value: '/etc/ground-ca/ca.crt' },
                ],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
                securityContext: {
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'ground-ca', mountPath: '/etc/ground-ca' }],
              },
            ],
            volumes: [{ name: 'ground-ca', configMap: { name: 'ground-ca' } }],
          },
        },
      },
    });
    const service = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 'http' }] },
    });
    await kubectl(['create', 'namespace', ns]);
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'ground-ca', namespace: ns },
            data: { 'ca.crt': readFileSync(ground('GROUND_CA_FILE'), 'utf8') },
          },
          probe('probe', groundRealNodePlacement()),
          service('probe'),
          // kwok's: simulated pods whose IPs exist nowhere.
          probe('ghost', { nodeSelector: { type: 'kwok' } }),
          service('ghost'),
        ],
      }),
    );
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/probe', '--timeout=90s']);
    pods = (await kubectlJson<{ items: Pod[] }>(['-n', ns, 'get', 'pods', '-l', 'app=probe'])).items;
    clusterIP = (await kubectlJson<{ spec: { clusterIP: string } }>(['-n', ns, 'get', 'service', 'probe'])).spec
      .clusterIP;
  });

  after(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => {});
  });

  it('runs pods of an image pushed to the ground registry on the real node, Ready, answering on their pod IPs', async () => {
    assert.equal(pods.length, 2);
    // kwok leaves the real node and its pods alone.
    type Managed = { metadata: { managedFields?: { manager: string }[] } };
    const managers = (o: Managed) => (o.metadata.managedFields ?? []).map((f) => f.manager);
    const node = await kubectlJson<Managed>(['get', 'node', ground('NODE_NAME'), '--show-managed-fields']);
    const managed = await kubectlJson<{ items: Managed[] }>([
      '-n',
      ns,
      'get',
      'pods',
      '-l',
      'app=probe',
      '--show-managed-fields',
    ]);
    for (const m of [node, ...managed.items].flatMap(managers)) assert.doesNotMatch(m, /kwok/);
    for (const [i, pod] of pods.entries()) {
      assert.equal(pod.spec.nodeName, ground('NODE_NAME'));
      assert.equal(pod.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
      assert.ok(pod.status.containerStatuses?.[0]?.imageID.endsWith(`@${digest}`), 'the pushed image ran');
      assert.match(ip(i), /^10\.88\.0\./);
      assert.deepEqual(await getJson(`http://${ip(i)}:8080/`), { pod: pod.metadata.name, ip: ip(i), path: '/' });
    }
  });

  it('answers through a ClusterIP Service from the host, and from another pod by IP, ClusterIP and DNS name', async () => {
    const seen = new Set<unknown>();
    await eventually('both pods to answer on the ClusterIP from the host', async () => {
      seen.add((await getJson(`http://${clusterIP}/`)).pod);
      return seen.size === 2;
    });
    const names = new Set(pods.map((p) => p.metadata.name));
    for (const url of [`http://${ip(1)}:8080/`, `http://${clusterIP}/`, `http://probe.${ns}.svc.cluster.local/`]) {
      const res = await getJson(`http://${ip(0)}:8080/get?url=${encodeURIComponent(url)}`);
      assert.equal(res.status, 200, `${url} from pod 0: ${JSON.stringify(res)}`);
      assert.ok(names.has(JSON.parse(String(res.body)).pod), url);
    }
  });

  it('serves kubectl logs, exec and port-forward through the API server', async () => {
    const name = pods[0]?.metadata.name ?? '';
    assert.match(await kubectl(['-n', ns, 'logs', name]), /probe listening on :8080/);
    assert.equal(await kubectl(['-n', ns, 'exec', name, '--', '/probe', 'echo', 'from', 'exec']), 'from exec\n');
    const forward = spawn(ground('KUBECTL'), ['-n', ns, 'port-forward', `pod/${name}`, ':8080'], {
      env: { ...process.env, KUBECONFIG: ground('KUBECONFIG') },
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        let out = '';
        forward.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /127\.0\.0\.1:(\d+) ->/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        forward.once('exit', (code) => reject(new Error(`kubectl port-forward exited (${code}): ${out}`)));
      });
      assert.equal((await getJson(`http://127.0.0.1:${port}/`)).pod, name);
    } finally {
      forward.kill();
    }
  });

  it('lets a pod reach the API server through the kubernetes Service with its ServiceAccount token', async () => {
    const api = await getJson(`http://${ip(0)}:8080/api?path=/api`);
    assert.equal(api.status, 200, JSON.stringify(api));
    assert.equal(JSON.parse(String(api.body)).kind, 'APIVersions');
    // Authenticated as the pod's ServiceAccount, which may not list Secrets.
    const secrets = await getJson(`http://${ip(0)}:8080/api?path=/api/v1/namespaces/${ns}/secrets`);
    assert.equal(secrets.status, 403);
    assert.match(String(secrets.body), new RegExp(`system:serviceaccount:${ns}:default`));
  });

  it('lets pods reach PostgreSQL, Kafka and LDAP at the pod addresses', async () => {
    await requireGround('postgres', 'kafka', 'ldap');
    // From the pod itself: TLS verified against the ground CA for the address pods use.
    const ldaps = new URL(ground('POD_LDAPS_URL')).host;
    for (const [addr, starttls] of [
      [`${ground('POD_PGHOST')}:${ground('POD_PGPORT')}`, 'postgres'],
      [ground('POD_KAFKA_BOOTSTRAP_SASL_SSL'), ''],
      [ldaps, ''],
    ]) {
      const res = await getJson(`http://${ip(0)}:8080/tls?addr=${addr}&starttls=${starttls}`);
      assert.equal(res.verified, true, `${addr} from the pod: ${JSON.stringify(res)}`);
    }
    // Plinth's clients from the pod's network namespace (its address, its routes): a query, a
    // produced and consumed message, an LDAP bind and search.
    const id = (await crictl(['pods', '--name', pods[0]?.metadata.name ?? '', '--namespace', ns, '-q'])).trim();
    type Inspect = { info: { runtimeSpec: { linux: { namespaces: { type: string; path?: string }[] } } } };
    const netns = (JSON.parse(await crictl(['inspectp', id])) as Inspect).info.runtimeSpec.linux.namespaces.find(
      (n) => n.type === 'network',
    )?.path;
    assert.ok(netns, 'the pod has a network namespace');
    const out = await run('nsenter', [`--net=${netns}`, process.execPath, join(GROUND_DIR, 'node', 'pod-clients.ts')], {
      timeoutMs: 90_000,
    });
    assert.deepEqual(JSON.parse(out), {
      addresses: [ip(0)],
      postgres: { ok: { client: `${ip(0)}/32`, ssl: true } },
      kafka: { ok: { value: 'from a pod' } },
      ldap: { ok: { userPrincipalName: 'alice@plinth.test' } },
    });
  });

  it("keeps the host's kernel settings: the kubelet only changed its own covered copies", async () => {
    const baseline = Object.fromEntries(
      readFileSync(ground('NODE_HOST_BASELINE'), 'utf8')
        .split('\n')
        .filter((l) => /^SYSCTL_/.test(l))
        .map((l) => l.split('=') as [string, string]),
    );
    const kubelet = readFileSync(join(ground('GROUND_STATE'), 'run', 'kubelet.pid'), 'utf8').trim();
    // What the kubelet sets (kernel defaults it wants), and where it sets it.
    for (const [key, kubeletValue] of [
      ['kernel/panic_on_oops', '1'],
      ['kernel/panic', '10'],
      ['vm/overcommit_memory', '1'],
    ] as const) {
      const host = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
      assert.equal(host, baseline[`SYSCTL_${key.replace('/', '_').toUpperCase()}`], `the host's ${key}`);
      assert.equal(
        readFileSync(`/proc/${kubelet}/root/proc/sys/${key}`, 'utf8').trim(),
        kubeletValue,
        `the kubelet's ${key}`,
      );
    }
  });

  it('drops traffic to a kwok-backed Service at the guards instead of sending it off the machine', async () => {
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/ghost', '--timeout=60s']);
    const ghostIP = (await kubectlJson<{ spec: { clusterIP: string } }>(['-n', ns, 'get', 'service', 'ghost'])).spec
      .clusterIP;
    const kwokIP = (await kubectlJson<{ items: Pod[] }>(['-n', ns, 'get', 'pods', '-l', 'app=ghost'])).items[0]?.status
      .podIP;
    assert.ok(kwokIP && !kwokIP.startsWith('10.88.'), `a kwok pod IP: ${kwokIP}`);
    // Without the guards these would follow the default route: that is why they exist.
    assert.doesNotMatch(await run('ip', ['route', 'get', kwokIP]), new RegExp(`dev ${ground('NODE_BRIDGE')}`));
    await eventually('kube-proxy to program the kwok Service', async () =>
      (await run('nft', ['list', 'table', 'ip', 'kube-proxy'])).includes(kwokIP),
    );
    const before = await guardCounters();
    // From the host: the ClusterIP is DNATed to the kwok pod IP, and the SYN is dropped.
    const hostResult = await new Promise<string>((resolve) => {
      const socket = connect({ host: ghostIP, port: 80, timeout: 1500 });
      const done = (why: string) => {
        socket.destroy();
        resolve(why);
      };
      socket.once('connect', () => done('connected'));
      socket.once('timeout', () => done('timeout'));
      socket.once('error', (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
    });
    assert.notEqual(hostResult, 'connected');
    // From a pod: forwarded, dropped before it leaves the bridge.
    const podResult = await getJson(
      `http://${ip(0)}:8080/get?timeout=2s&url=${encodeURIComponent(`http://${ghostIP}/`)}`,
    );
    assert.ok(podResult.error, JSON.stringify(podResult));
    const afterCounters = await guardCounters();
    const grew = (key: string) => (afterCounters.get(key) ?? 0) - (before.get(key) ?? 0);
    assert.ok(grew('guard_out: to a kwok pod IP (kube-proxy DNAT)') >= 1, 'the host packets were dropped');
    assert.ok(grew('guard_fwd: from a pod, off the bridge') >= 1, "the pod's packets were dropped");
  });
});
