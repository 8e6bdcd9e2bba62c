// Config files of Plinth's processes (the Kafka trigger connector's, the GraphQL server's): one
// TypeBox schema each, the source of its TypeScript type, which the writer (the operator, which
// renders the file) and the reader (the process, which checks it once at start) both import.
// A file that does not match is refused with every problem named by its field's JSON pointer,
// e.g. `connector config /bootstrapServers/0: Expected string`.
import { readFileSync } from 'node:fs';
import type { Static, TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
// The StringEnum kind and the error messages of StringEnum and PatternString are registered there.
import './schema.ts';

/** A check across fields that the schema cannot state; `field` is the JSON pointer it names, without the leading `/`. */
export interface ConfigRule<T> {
  field: string;
  check: (config: T) => boolean;
  message: string;
}

/** A config file a process cannot start with. */
export class ConfigError extends Error {
  readonly code = 'PLINTH_CONFIG';
  /** One line per problem: `<pointer>: <what is wrong>`. */
  readonly problems: readonly string[];
  constructor(what: string, problems: string[], source?: string) {
    super(`${source ? `${source}: ` : ''}${problems.map((p) => `${what} ${p}`).join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface ConfigFile<S extends TSchema> {
  /** What the file is, as the errors name it (e.g. `connector config`). */
  readonly what: string;
  readonly schema: S;
  /** The document, typed, when it matches the schema and every rule; otherwise throws a ConfigError. */
  check(doc: unknown, source?: string): Static<S>;
  /** Reads a JSON file and checks it; a missing, unreadable or non-JSON file is a ConfigError too. */
  read(file: string): Static<S>;
}

/** A config file's schema with its checker, compiled on first use. */
export function configFile<S extends TSchema>(
  what: string,
  schema: S,
  rules: readonly ConfigRule<Static<S>>[] = [],
): ConfigFile<S> {
  let compiled: TypeCheck<S> | undefined;
  const check = (doc: unknown, source?: string): Static<S> => {
    compiled ??= TypeCompiler.Compile(schema);
    if (!compiled.Check(doc)) {
      // A missing property is reported twice (required, then its type): keep the first per field.
      const byField = new Map<string, string>();
      for (const e of compiled.Errors(doc)) if (!byField.has(e.path)) byField.set(e.path, e.message);
      throw new ConfigError(
        what,
        [...byField].map(([path, message]) => `${path || '/'}: ${message}`),
        source,
      );
    }
    const broken = rules.filter((r) => !r.check(doc)).map((r) => `/${r.field}: ${r.message}`);
    if (broken.length) throw new ConfigError(what, broken, source);
    return doc;
  };
  return {
    what,
    schema,
    check,
    read: (file) => {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new ConfigError(what, [`is not a readable JSON file: ${(e as Error).message}`], file);
      }
      return check(doc, file);
    },
  };
}
