import { describe, expect, it } from 'vitest';
import { checkIdentityToken } from './oidc-token.ts';

const part = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const jwt = (claims: unknown) => `${part({ alg: 'RS256' })}.${part(claims)}.c2ln`;
const NOW = Date.parse('2026-12-05T00:00:00Z');

describe('checkIdentityToken', () => {
  it('reads the claims of a JWT that has not expired', () => {
    expect(checkIdentityToken(jwt({ iss: 'https://oidc.example', sub: 'ci', email: 'a@example.com', exp: NOW / 1000 + 60, aud: 'sigstore' }), NOW)).toEqual({ ok: true, claims: { iss: 'https://oidc.example', sub: 'ci', email: 'a@example.com', exp: NOW / 1000 + 60 } });
    // No exp claim: nothing to check against.
    expect(checkIdentityToken(`  ${jwt({ sub: 'ci' })}\n`, NOW)).toEqual({ ok: true, claims: { sub: 'ci' } });
  });

  it('refuses a token that expired, at or before now, naming when', () => {
    expect(checkIdentityToken(jwt({ exp: NOW / 1000 }), NOW)).toEqual({ ok: false, reason: 'it expired at 2026-12-05T00:00:00.000Z' });
    expect(checkIdentityToken(jwt({ exp: 1577836800 }), NOW)).toEqual({ ok: false, reason: 'it expired at 2020-01-01T00:00:00.000Z' });
    expect(checkIdentityToken(jwt({ exp: '1577836800' }), NOW)).toEqual({ ok: false, reason: 'its exp claim is not a number' });
  });

  it.each([
    ['', 'not a JWT (expected three dot-separated base64url parts)'],
    ['opaque-access-token', 'not a JWT (expected three dot-separated base64url parts)'],
    [`${part({})}.${part({})}`, 'not a JWT (expected three dot-separated base64url parts)'],
    [`${part({})}..sig`, 'not a JWT (expected three dot-separated base64url parts)'],
    [`${part({})}.a+b/c.sig`, 'not a JWT (a part is not base64url)'],
    [`${part({})}.${part('not json')}.sig`, 'not a JWT (its claims are not JSON)'],
    [`${part({})}.${part([1, 2])}.sig`, 'not a JWT (its claims are not a JSON object)'],
    [`${part({})}.${part('null')}.sig`, 'not a JWT (its claims are not a JSON object)'],
  ])('refuses %j: %s', (token, reason) => {
    expect(checkIdentityToken(token, NOW)).toEqual({ ok: false, reason });
  });
});
