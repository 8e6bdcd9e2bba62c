import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs to stdout; level from PLINTH_LOG_LEVEL (default info). Children carry context. */
export function createLogger(name: string, level = process.env.PLINTH_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name } });
}

/** A logger that drops everything: the default where no logger is passed. */
export const silentLogger: Logger = pino({ level: 'silent' });
