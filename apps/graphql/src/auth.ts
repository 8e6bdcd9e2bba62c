// Who a request is: a bearer JWT verified against a JWKS (an OIDC issuer) or a shared secret,
// or nobody (the anonymous role). What PostgreSQL sees: `role` (applied as SET LOCAL ROLE
// inside the request's transaction) and every scalar claim as `jwt.claims.<name>`, for RLS
// policies to read with current_setting('jwt.claims.sub', true).
import type { GraphqlJwtConfig } from '@plinth/api';
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';

export type JwtConfig = GraphqlJwtConfig;

export interface AuthConfig {
  jwt: JwtConfig;
  /** Roles a token may name; anything else is refused with 403. */
  roles: string[];
  /** The role of requests without a token; without it they get 401. */
  anonymousRole?: string;
}

/** An authentication failure with the HTTP status and a reason for metrics. */
export class AuthError extends Error {
  readonly status: 401 | 403;
  readonly reason: string;
  constructor(status: 401 | 403, reason: string, message: string) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
    this.reason = reason;
  }
}

const CLAIM_NAME = /^[a-z_][a-z0-9_]{0,51}$/i;

/** The pgSettings for a verified token's claims, or for anonymous (pure). */
export function pgSettingsFor(claims: JWTPayload | undefined, config: AuthConfig): Record<string, string> {
  if (!claims) {
    if (!config.anonymousRole) {
      throw new AuthError(401, 'missing', 'a bearer token is required: send Authorization: Bearer <JWT>');
    }
    return { role: config.anonymousRole };
  }
  const claim = config.jwt.roleClaim ?? 'role';
  const role = claims[claim];
  if (typeof role !== 'string' || !role) {
    throw new AuthError(403, 'no-role', `the token has no "${claim}" claim naming a role`);
  }
  if (!config.roles.includes(role)) {
    throw new AuthError(403, 'role-not-allowed', `role "${role}" is not one this API lets tokens assume`);
  }
  const settings: Record<string, string> = { role };
  for (const [key, value] of Object.entries(claims)) {
    if (!CLAIM_NAME.test(key) || value === null || value === undefined) continue;
    settings[`jwt.claims.${key}`] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return settings;
}

export type Verifier = (authorization: string | undefined) => Promise<JWTPayload | undefined>;

/** Verifies `Authorization: Bearer <JWT>`; undefined when there is no header. */
export function makeVerifier(jwt: JwtConfig): Verifier {
  if (!!jwt.secret === !!jwt.jwksUrl) throw new Error('jwt: set exactly one of secret or jwksUrl');
  const key: Uint8Array | JWTVerifyGetKey = jwt.secret
    ? new TextEncoder().encode(jwt.secret)
    : createRemoteJWKSet(new URL(jwt.jwksUrl ?? ''), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  const options = {
    ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
    ...(jwt.audience ? { audience: jwt.audience } : {}),
    algorithms: jwt.secret
      ? ['HS256', 'HS384', 'HS512']
      : ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    clockTolerance: jwt.clockToleranceSeconds ?? 30,
  };
  // Verified tokens, by their exact text, for at most a minute: a client sends the same token
  // on every request, and the signature cannot change without the text changing. Expiry is
  // still checked on every use.
  const verified = new Map<string, { payload: JWTPayload; until: number }>();
  const CACHE_MS = 60_000;
  const CACHE_MAX = 10_000;
  return async (authorization) => {
    if (authorization === undefined) return undefined;
    const [scheme, token, ...rest] = authorization.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length) {
      throw new AuthError(401, 'malformed', 'the Authorization header must be "Bearer <JWT>"');
    }
    const now = Date.now();
    const hit = verified.get(token);
    if (hit && now < hit.until) return hit.payload;
    if (hit) verified.delete(token);
    try {
      const { payload } =
        typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
      if (verified.size >= CACHE_MAX) verified.delete(verified.keys().next().value ?? '');
      verified.set(token, { payload, until: Math.min(exp, now + CACHE_MS) });
      return payload;
    } catch (e) {
      throw toAuthError(e);
    }
  };
}

function toAuthError(e: unknown): AuthError {
  if (e instanceof errors.JWKSTimeout) throw e; // the issuer is slow: our problem, not the caller's
  if (e instanceof errors.JWTExpired) return new AuthError(401, 'expired', 'the token has expired');
  if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey) {
    return new AuthError(401, 'bad-signature', 'the token signature does not verify');
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    return new AuthError(401, 'bad-claims', `the token's "${e.claim}" claim is not accepted: ${e.message}`);
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return new AuthError(401, 'bad-algorithm', e.message);
  if (e instanceof errors.JOSEError) return new AuthError(401, 'invalid', `the token is not valid: ${e.message}`);
  throw e; // a JWKS fetch failing is our problem, not the caller's (503)
}
