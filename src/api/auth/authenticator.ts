// Turns a bearer token into a user: a static token from MLR_API_TOKENS (compared by SHA-256 hash in
// constant time), or a JWT from the configured OIDC issuer (verified against its JWKS with `jose`).
import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { hashToken, type Config } from '../../config';
import type { Principal } from '../../domain/user';

export interface Authenticator {
  /** The user the token belongs to, or undefined for an unknown, expired or malformed token. */
  authenticate(token: string): Promise<Principal | undefined>;
}

/** Prefix of every owner name that comes from the identity provider (static users match USER_NAME, no ':'). */
export const OIDC_OWNER_PREFIX = 'oidc:';

const looksLikeJwt = (t: string): boolean => t.split('.').length === 3 && t.length < 16_384;

function staticTokens(config: Config): (token: string) => Principal | undefined {
  const users = config.apiUsers.map((u) => ({ ...u, hash: Buffer.from(u.tokenHash, 'hex') }));
  return (token) => {
    const given = Buffer.from(hashToken(token), 'hex');
    // Every entry is compared, so the time taken does not say which one matched.
    let found: Principal | undefined;
    for (const u of users) if (timingSafeEqual(u.hash, given) && !found) found = { name: u.name, admin: u.admin };
    return found;
  };
}

async function discoverJwks(issuer: string): Promise<URL> {
  const res = await fetch(new URL('.well-known/openid-configuration', issuer.endsWith('/') ? issuer : `${issuer}/`), {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`OIDC discovery at ${issuer} answered ${res.status}`);
  const doc = (await res.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${issuer} has no jwks_uri`);
  return new URL(doc.jwks_uri);
}

function oidc(config: Config): ((token: string) => Promise<Principal | undefined>) | undefined {
  const issuer = config.MLR_OIDC_ISSUER;
  if (!issuer) return undefined;
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const getKeys = () =>
    (keys ??= (async () => {
      const url = config.MLR_OIDC_JWKS_URL ? new URL(config.MLR_OIDC_JWKS_URL) : await discoverJwks(issuer);
      return createRemoteJWKSet(url, { timeoutDuration: 5000, cooldownDuration: 30_000 });
    })().catch((err: unknown) => {
      keys = undefined;
      throw err;
    }));
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, await getKeys(), {
        issuer,
        audience: config.MLR_OIDC_AUDIENCE,
        algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256', 'EdDSA'],
      });
      const subject = payload[config.MLR_OIDC_USER_CLAIM];
      if (typeof subject !== 'string' || !subject || subject.length > 256) return undefined;
      // Owners from the identity provider live in their own namespace: subject "alice" is never the
      // static-token user alice, and no subject can name a marker such as the admin stream's "*".
      return { name: `${OIDC_OWNER_PREFIX}${subject}`, admin: config.oidcAdmins.includes(subject) };
    } catch {
      return undefined;
    }
  };
}

export function createAuthenticator(config: Config): Authenticator {
  const bySecret = staticTokens(config);
  const byJwt = oidc(config);
  return {
    async authenticate(token) {
      if (!token) return undefined;
      const user = bySecret(token);
      if (user) return user;
      return byJwt && looksLikeJwt(token) ? byJwt(token) : undefined;
    },
  };
}
