// `plinth db plan <name> [-n namespace]`: what applying a Database now would change (read-only),
// and what was applied last. Reads the Database and its server's Secret with your kubeconfig (a
// platform server's Secret lives in the platform namespace, PLINTH_NAMESPACE, default
// plinth-system: only those who may read it can plan against it). PLINTH_PG_GRANTABLE_ROLES
// should match the operator's.
import { parseArgs } from 'node:util';
import { DatabaseKind, type DatabaseObject } from '@plinth/api';
import { KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { databaseSettingsFromEnv, planDatabase } from '@plinth/pg-access';

export async function db(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { namespace: { type: 'string', short: 'n', default: 'default' }, kubeconfig: { type: 'string' } },
  });
  const [sub, name] = positionals;
  if (sub !== 'plan' || !name) {
    process.stderr.write('usage: plinth db plan <name> [-n namespace] [--kubeconfig file]\n');
    return 2;
  }
  const client = KubeClient.load(values.kubeconfig ?? process.env.KUBECONFIG);
  const d = await client.get<DatabaseObject & KubeObject>(resourceOf(DatabaseKind), {
    namespace: values.namespace,
    name,
  });
  if (!d) {
    process.stderr.write(`plinth db plan: Database ${values.namespace}/${name} not found\n`);
    return 1;
  }
  try {
    // The operator's settings, from the same variables (PLINTH_NAMESPACE, PLINTH_PG_GRANTABLE_ROLES).
    const config = databaseSettingsFromEnv();
    const secretOf = (namespace: string, name: string) =>
      client.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, { namespace, name });
    const steps = await planDatabase(secretOf, d, config.platformNamespace, config.grantableRoles);
    if (steps.length === 0) process.stdout.write(`Database ${values.namespace}/${name} is in sync: nothing to apply\n`);
    else {
      process.stdout.write(`Database ${values.namespace}/${name}: ${steps.length} step(s) to apply\n`);
      for (const s of steps)
        process.stdout.write(`  ${s.sql};${s.destructive ? '  -- DESTRUCTIVE' : ''}  -- ${s.reason}\n`);
    }
    const last = d.status?.lastAppliedPlan ?? [];
    process.stdout.write(`last applied (${last.length} step(s)):\n${last.map((s) => `  ${s};\n`).join('')}`);
    return 0;
  } catch (e) {
    process.stderr.write(`plinth db plan: ${(e as Error).message}\n`);
    return 1;
  }
}
