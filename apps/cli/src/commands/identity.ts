// `plinth identity check <user> --config identity.yaml [--password-stdin]`: binds to the real
// directory as the configured service account, finds the user, and prints the groups Dex will
// put in their token and the names Kubernetes will see; each misconfiguration (bad bind DN or
// password, wrong base DN, TLS, unreachable server, unknown user, wrong user password) fails
// with what to fix.
// `plinth identity render --config identity.yaml [--out dir]`: Dex's config and the API
// server's AuthenticationConfiguration, rendered from the same file.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type IdentityConfig,
  IdentityError,
  lookupUser,
  parseIdentityConfig,
  renderAuthenticationConfiguration,
  renderDexConfig,
} from '@plinth/tenancy';
import { parse, stringify } from 'yaml';

const USAGE = `usage:
  plinth identity check <username> --config <identity.yaml|platform.yaml> [--password-stdin]
  plinth identity render --config <identity.yaml|platform.yaml> [--out <dir>] [--issuer-ca <pem file>]
`;

export async function identity(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'password-stdin': { type: 'boolean', default: false },
      out: { type: 'string' },
      'issuer-ca': { type: 'string' },
    },
  });
  const [sub, username] = positionals;
  if (!values.config || (sub !== 'check' && sub !== 'render') || (sub === 'check' && !username)) {
    process.stderr.write(USAGE);
    return 2;
  }
  let config: IdentityConfig;
  try {
    // An identity file, or a platform config with an identity section.
    const doc = parse(readFileSync(values.config, 'utf8')) as Record<string, unknown> | null;
    config = parseIdentityConfig(doc && 'identity' in doc ? doc.identity : doc);
  } catch (e) {
    process.stderr.write(`plinth identity: ${values.config}: ${(e as Error).message}\n`);
    return 2;
  }
  if (sub === 'render') {
    const dex = renderDexConfig(config, {
      web: { https: '0.0.0.0:5556', tlsCert: '/etc/dex/tls/tls.crt', tlsKey: '/etc/dex/tls/tls.key' },
      clientSecretEnv: 'DEX_CLIENT_SECRET',
      bindPasswordEnv: 'LDAP_BIND_PASSWORD',
      storage: 'kubernetes',
    });
    const auth = renderAuthenticationConfiguration(
      config,
      values['issuer-ca'] ? readFileSync(values['issuer-ca'], 'utf8') : undefined,
    );
    if (!values.out) {
      process.stdout.write(`# dex.yaml\n${stringify(dex)}---\n# authentication-config.yaml\n${stringify(auth)}`);
      return 0;
    }
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'dex.yaml'), stringify(dex));
    writeFileSync(join(values.out, 'authentication-config.yaml'), stringify(auth));
    process.stdout.write(`wrote ${values.out}/dex.yaml and ${values.out}/authentication-config.yaml\n`);
    return 0;
  }
  const password = values['password-stdin'] ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined;
  try {
    const u = await lookupUser(config, username ?? '', password);
    const out = process.stdout;
    out.write(`directory  ${config.ldap.url} (${config.ldap.preset}), bound as ${config.ldap.bindDN}\n`);
    out.write(`user       ${u.dn}\n`);
    out.write(`username   ${u.username}${u.email ? `   email ${u.email}` : ''}\n`);
    if (password !== undefined) out.write('password   accepted by the directory\n');
    if (!u.groups.length) out.write('groups     (none)\n');
    for (const [i, g] of u.groups.entries()) {
      out.write(`${i ? '          ' : 'groups    '} ${g.name}${g.via ? `   (nested, through ${g.via})` : ''}\n`);
    }
    const name = u.email ? `${config.usernamePrefix}${u.email}` : '(no email: Dex will refuse this user)';
    out.write(
      `Kubernetes will see user ${name} in groups ${u.groups.map((g) => `${config.groupsPrefix}${g.name}`).join(', ') || '(none)'}\n`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof IdentityError)) throw e;
    process.stderr.write(`plinth identity check: ${e.message}\n`);
    return 1;
  }
}
