#!/usr/bin/env node
// plinth: one file per command under commands/. Every command only reads and writes
// Kubernetes resources, or (dev) runs them locally; nothing exists only here.
import { db } from './commands/db.ts';
import { dev } from './commands/dev.ts';
import { identity } from './commands/identity.ts';
import { init } from './commands/init.ts';
import { downCommand, renderCommand, statusCommand, upCommand } from './commands/platform.ts';

const USAGE = `plinth: a Kubernetes platform, driven by custom resources

usage:
  plinth dev [dir] [--port N] [--host H]   run every Function under dir (default .) locally
  plinth init <dir> --runtime <lang>       a new function from a template (node, python, go, java)
  plinth db plan <name> [-n namespace]     what applying a Database would change, and what was applied
  plinth identity check <user> -c <file>   the groups a directory user gets in Kubernetes (LDAP/AD)
  plinth identity render -c <file>         Dex's config and the API server's authentication config
  plinth render [-c platform.yaml] [--out dir]  the GitOps directory for a platform config
  plinth up [-c platform.yaml]             install or converge the platform in the current context
  plinth status [-c platform.yaml]         health of every component and of Plinth's resources
  plinth down [--delete-volumes] [--delete-resources]  remove what up installed (volume claims stay by default)
  plinth help                              this text
`;

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case 'dev':
    process.exitCode = await dev(args);
    break;
  case 'init':
    process.exitCode = init(args);
    break;
  case 'db':
    process.exitCode = await db(args);
    break;
  case 'render':
    process.exitCode = await renderCommand(args);
    break;
  case 'up':
    process.exitCode = await upCommand(args);
    break;
  case 'status':
    process.exitCode = await statusCommand(args);
    break;
  case 'down':
    process.exitCode = await downCommand(args);
    break;
  case 'identity':
    process.exitCode = await identity(args);
    break;
  case undefined:
  case 'help':
  case '--help':
  case '-h':
    process.stdout.write(USAGE);
    break;
  default:
    process.stderr.write(`plinth: unknown command "${command}"\n\n${USAGE}`);
    process.exitCode = 2;
}
