// Named errors with stable codes. Reconcile outcomes are decided by error class:
// TerminalError stops retrying, RetryAfterError waits a fixed delay, anything else backs off.

export class PlinthError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A Status returned by the API server (4xx/5xx). */
export class KubeApiError extends PlinthError {
  readonly statusCode: number;
  readonly reason: string;
  readonly details: unknown;
  constructor(statusCode: number, reason: string, message: string, details?: unknown) {
    super(`PLINTH_KUBE_${reason ? reason.toUpperCase() : statusCode}`, message);
    this.statusCode = statusCode;
    this.reason = reason;
    this.details = details;
  }
}

/** The object cannot converge until a person changes it; do not retry. */
export class TerminalError extends PlinthError {
  /** Already written to status and Events by whoever threw it: onError need not repeat it. */
  readonly reported: boolean;
  constructor(message: string, options?: ErrorOptions & { reported?: boolean }) {
    super('PLINTH_TERMINAL', message, options);
    this.reported = options?.reported ?? false;
  }
}

/** Expected to clear by itself; retry after the given delay without counting as a failure. */
export class RetryAfterError extends PlinthError {
  readonly delayMs: number;
  constructor(delayMs: number, message: string, options?: ErrorOptions) {
    super('PLINTH_RETRY_AFTER', message, options);
    this.delayMs = delayMs;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.statusCode === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.statusCode === 409;
export const isForbidden = (e: unknown): boolean => e instanceof KubeApiError && e.statusCode === 403;
export const isInvalid = (e: unknown): boolean => e instanceof KubeApiError && e.statusCode === 422;
