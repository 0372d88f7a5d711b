// What can be checked of an OIDC identity token before Fulcio sees it: that it is a JWT (three
// base64url parts, a JSON claims object) and, when it says when it expires, that it has not.
// The signature is Fulcio's to verify; this only turns "no usable token" into an early, clear error.

/** Claims of an identity token that Kiln reads (all optional in the JWT itself). */
export interface IdentityTokenClaims {
  iss?: string;
  sub?: string;
  email?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
}

/** Why a token is unusable, or the claims of a usable one. */
export type IdentityTokenCheck = { ok: true; claims: IdentityTokenClaims } | { ok: false; reason: string };

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Checks `token` at `nowMs`: a JWT whose claims decode, not expired. */
export function checkIdentityToken(token: string, nowMs: number): IdentityTokenCheck {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !parts[0] || !parts[1]) return { ok: false, reason: 'not a JWT (expected three dot-separated base64url parts)' };
  if (!BASE64URL.test(parts[0]) || !BASE64URL.test(parts[1])) return { ok: false, reason: 'not a JWT (a part is not base64url)' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'not a JWT (its claims are not JSON)' };
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return { ok: false, reason: 'not a JWT (its claims are not a JSON object)' };
  const record = claims as Record<string, unknown>;
  const read: IdentityTokenClaims = {};
  if (typeof record.iss === 'string') read.iss = record.iss;
  if (typeof record.sub === 'string') read.sub = record.sub;
  if (typeof record.email === 'string') read.email = record.email;
  if (record.exp !== undefined) {
    if (typeof record.exp !== 'number' || !Number.isFinite(record.exp)) return { ok: false, reason: 'its exp claim is not a number' };
    read.exp = record.exp;
    if (record.exp * 1000 <= nowMs) return { ok: false, reason: `it expired at ${new Date(record.exp * 1000).toISOString()}` };
  }
  return { ok: true, claims: read };
}
