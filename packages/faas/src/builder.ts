// `builder --runtime go|java --source DIR --out DIR --handler NAME`: the entrypoint of the
// builder images, run as the init container of a Go or Java function's revision. It builds
// with the same steps as `plinth dev` (build.ts), in --out, which the function container
// mounts at the same path, and leaves what the runtime image starts:
//   go:   <out>/function, the static binary (runtime-go's entrypoint)
//   java: <out>/java.args, the JVM's argument file naming the jars and the AppCDS archive
//         at their final paths (runtime-java's entrypoint is `java @<out>/java.args`)
// Exits 0 when built, 1 with the compiler's output when the build fails, 2 on bad arguments.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BuildError, buildGo, buildJava } from './build.ts';

export async function runBuilder(argv: string[]): Promise<number> {
  let values: { runtime?: string; source?: string; out?: string; handler?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runtime: { type: 'string' },
        source: { type: 'string' },
        out: { type: 'string' },
        handler: { type: 'string' },
      },
    }));
  } catch (e) {
    process.stderr.write(`builder: ${(e as Error).message}\n`);
    return 2;
  }
  const { runtime, source, out } = values;
  if ((runtime !== 'go' && runtime !== 'java') || !source || !out) {
    process.stderr.write('usage: builder --runtime go|java --source DIR --out DIR [--handler NAME]\n');
    return 2;
  }
  const handler = values.handler || (runtime === 'go' ? 'Handle' : 'Handler');
  const started = Date.now();
  try {
    if (runtime === 'go') {
      const spec = await buildGo(source, handler, out);
      copyFileSync(spec.command, join(out, 'function'));
    } else {
      const spec = await buildJava(source, handler, out);
      writeFileSync(join(out, 'java.args'), `${spec.args.join('\n')}\n`);
    }
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    process.stderr.write(`builder: ${e.message}\n`);
    return 1;
  }
  process.stdout.write(
    `${JSON.stringify({ level: 'info', msg: 'built', runtime, handler, ms: Date.now() - started })}\n`,
  );
  return 0;
}

if (import.meta.main) {
  runBuilder(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`builder: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
