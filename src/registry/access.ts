import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { SignJWT, jwtVerify } from 'jose';
import type { KeyObject } from 'node:crypto';
import { RegistryError } from './errors.ts';
import { repositoryGlob } from './format/patterns.ts';

/** One action on a repository. */
export type Action = 'pull' | 'push' | 'delete';

/** What a request needs: actions on repositories (empty for `/v2/`). */
export interface AccessRequest {
  repository: string;
  actions: Action[];
}

/** A per-repository rule from the config file; the first rule whose pattern matches wins. */
export interface AccessRule {
  /** Glob over repository names: `*` matches within one path component, `**` across components. */
  repository: string;
  /** Anonymous clients may pull. */
  public: boolean;
  /** User names allowed each action; `*` means any authenticated user. */
  pull: string[];
  push: string[];
  delete: string[];
}

/** Token-flow settings (Docker/OCI bearer tokens). */
export interface TokenSettings {
  realm: string;
  service: string;
  issuer: string;
  expiresInSeconds: number;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Who is calling. */
export interface Principal {
  user?: string;
  /** Access granted by a bearer token (instead of rules). */
  tokenAccess?: { type: string; name: string; actions: string[] }[];
  /** Client address, for the loopback-only anonymous mode. */
  remoteAddress: string;
}

/** The registry's access-control configuration. */
export interface AccessConfig {
  /** No users configured: anonymous pull, push and delete for loopback clients only; others are denied. */
  open: boolean;
  users: Map<string, string>;
  rules: AccessRule[];
  token?: TokenSettings;
}

/** Reads an htpasswd file of bcrypt entries (`user:$2y$…`); other hash kinds are refused by name. */
export async function loadHtpasswd(path: string): Promise<Map<string, string>> {
  const users = new Map<string, string>();
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new RegistryError('CONFIG_INVALID', `${path}: cannot read htpasswd file: ${(error as Error).message}`, { cause: error, detail: { path } });
  });
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const colon = trimmed.indexOf(':');
    const hash = trimmed.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
      throw new RegistryError('CONFIG_INVALID', `${path}:${index + 1}: not a bcrypt htpasswd entry (use htpasswd -B)`, { detail: { path, line: index + 1 } });
    }
    users.set(trimmed.slice(0, colon), hash.replace(/^\$2y\$/, '$2b$'));
  });
  return users;
}

/** Sets `user`'s entry in htpasswd text to `hash` (replacing an existing line, else appending),
 *  keeping every other line as it was. Pure. */
export function setHtpasswdEntry(text: string, user: string, hash: string): string {
  if (!/^[^:\s#][^:\s]*$/.test(user)) throw new RegistryError('CONFIG_INVALID', `htpasswd user name ${JSON.stringify(user)} must be non-empty, without ':' or spaces, and not start with '#'`, { detail: { user } });
  const lines = text.length ? text.replace(/\n$/, '').split('\n') : [];
  const index = lines.findIndex((line) => line.trim().startsWith(`${user}:`));
  if (index >= 0) lines[index] = `${user}:${hash}`;
  else lines.push(`${user}:${hash}`);
  return `${lines.join('\n')}\n`;
}

/** A bcrypt hash in the `$2y$` form htpasswd -B writes (and Distribution reads). */
export async function hashHtpasswdPassword(password: string, cost = 10): Promise<string> {
  return (await bcrypt.hash(password, cost)).replace(/^\$2[ab]\$/, '$2y$');
}

const DEFAULT_RULE: AccessRule = { repository: '**', public: true, pull: ['*'], push: ['*'], delete: ['*'] };

/** Decides access and authenticates callers; keeps verified basic credentials in a small cache so
 *  bcrypt (deliberately slow) runs once per credential, not once per request. */
export class AccessController {
  readonly config: AccessConfig;
  readonly #rules: { rule: AccessRule; pattern: RegExp }[];
  readonly #verified = new Map<string, string>();

  constructor(config: AccessConfig) {
    this.config = config;
    this.#rules = [...config.rules, DEFAULT_RULE].map((rule) => ({ rule, pattern: repositoryGlob(rule.repository) }));
  }

  /** Actions `principal` may take on `repository`, ignoring token claims. */
  allowedActions(principal: Principal, repository: string): Action[] {
    if (this.config.open) {
      return isLoopback(principal.remoteAddress) ? ['pull', 'push', 'delete'] : [];
    }
    const rule = this.#rules.find((entry) => entry.pattern.test(repository))!.rule;
    const user = principal.user;
    const allowed: Action[] = [];
    const may = (list: string[]) => user !== undefined && (list.includes('*') || list.includes(user));
    if (rule.public || may(rule.pull)) allowed.push('pull');
    if (may(rule.push)) allowed.push('push');
    if (may(rule.delete)) allowed.push('delete');
    return allowed;
  }

  /** Verifies a user's password against the htpasswd entries. */
  async checkPassword(user: string, password: string): Promise<boolean> {
    const hash = this.config.users.get(user);
    if (!hash) return false;
    const key = `${user}\0${password}`;
    if (this.#verified.get(key) === hash) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.#verified.size > 1000) this.#verified.clear();
      this.#verified.set(key, hash);
    }
    return ok;
  }

  /** Turns an Authorization header into a principal; throws UNAUTHORIZED for bad credentials. */
  async authenticate(header: string | undefined, remoteAddress: string): Promise<Principal> {
    if (!header || this.config.open) return { remoteAddress };
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      // Empty credentials (`Basic Og==`, what skopeo sends after a Basic challenge when it has none)
      // mean anonymous, as in Distribution: public repositories stay pullable.
      if (decoded === ':' || decoded === '') return { remoteAddress };
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      if (colon > 0 && (await this.checkPassword(user, decoded.slice(colon + 1)))) return { user, remoteAddress };
      throw this.challenge([], 'invalid username or password');
    }
    if (scheme?.toLowerCase() === 'bearer' && this.config.token) {
      const token = this.config.token;
      try {
        const { payload } = await jwtVerify(value, token.publicKey, { issuer: token.issuer, audience: token.service, clockTolerance: 30 });
        const access = Array.isArray(payload.access) ? (payload.access as Principal['tokenAccess']) : [];
        return { ...(payload.sub ? { user: payload.sub } : {}), tokenAccess: access ?? [], remoteAddress };
      } catch (error) {
        throw this.challenge([], 'invalid or expired token', 'invalid_token', error);
      }
    }
    throw this.challenge([], `unsupported authorization scheme ${JSON.stringify(scheme)}`);
  }

  /** Actions granted on `repository`: a bearer token's claims when the principal has one, else the rules. */
  #granted(principal: Principal, repository: string): string[] {
    return principal.tokenAccess
      ? principal.tokenAccess.filter((entry) => entry.type === 'repository' && entry.name === repository).flatMap((entry) => entry.actions)
      : this.allowedActions(principal, repository);
  }

  /** True when `principal` may take `action` on `repository`, judged exactly as `authorize` does. */
  permits(principal: Principal, repository: string, action: Action): boolean {
    const granted = this.#granted(principal, repository);
    return granted.includes(action) || granted.includes('*');
  }

  /** Throws UNAUTHORIZED (with a challenge) or DENIED unless `principal` may do everything in `needs`. */
  authorize(principal: Principal, needs: AccessRequest[]): void {
    const missing: { Type: string; Name: string; Action: string }[] = [];
    for (const need of needs) {
      for (const action of need.actions) {
        if (!this.permits(principal, need.repository, action)) missing.push({ Type: 'repository', Name: need.repository, Action: action });
      }
    }
    if (missing.length === 0) return;
    const authenticated = principal.user !== undefined || principal.tokenAccess !== undefined;
    if (this.config.open || (authenticated && !principal.tokenAccess)) {
      throw new RegistryError('DENIED', `access to ${missing.map((item) => `${item.Name}:${item.Action}`).join(', ')} is denied`, { detail: { access: missing } });
    }
    throw this.challenge(needs, 'authentication required', principal.tokenAccess ? 'insufficient_scope' : undefined, undefined, missing);
  }

  /** A 401 with the WWW-Authenticate challenge the configured scheme calls for. */
  challenge(needs: AccessRequest[], message: string, error?: string, cause?: unknown, missing?: unknown[]): RegistryError {
    const token = this.config.token;
    let header: string;
    if (token) {
      const scope = needs.map((need) => `repository:${need.repository}:${need.actions.join(',')}`).join(' ');
      header = `Bearer realm="${token.realm}",service="${token.service}"${scope ? `,scope="${scope}"` : ''}${error ? `,error="${error}"` : ''}`;
    } else {
      header = 'Basic realm="kiln-registry"';
    }
    return new RegistryError('UNAUTHORIZED', message, { cause, headers: { 'www-authenticate': header }, ...(missing ? { detail: { access: missing } } : {}) });
  }

  /** Issues a bearer token for the requested scopes, granting the intersection with what the caller
   *  may do (partial and empty grants are not errors). */
  async issueToken(principal: Principal, scopes: string[], now: number): Promise<{ token: string; access_token: string; expires_in: number; issued_at: string }> {
    const token = this.config.token;
    if (!token) throw new RegistryError('UNSUPPORTED', 'the token endpoint is not configured');
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const scope of scopes.flatMap((value) => value.split(' ')).filter(Boolean)) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first <= 0 || last === first) continue;
      const type = scope.slice(0, first).replace(/\(.*\)$/, '');
      const name = scope.slice(first + 1, last);
      if (type !== 'repository') continue;
      const requested = scope.slice(last + 1).split(',');
      const allowed = this.allowedActions({ ...principal, tokenAccess: undefined } as Principal, name);
      const wantsAll = requested.includes('*');
      const actions = allowed.filter((action) => wantsAll || requested.includes(action));
      if (actions.length) access.push({ type: 'repository', name, actions });
    }
    const issuedAt = Math.floor(now / 1000);
    const jwt = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(token.issuer)
      .setAudience(token.service)
      .setSubject(principal.user ?? '')
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt - 10)
      .setExpirationTime(issuedAt + token.expiresInSeconds)
      .setJti(crypto.randomUUID())
      .sign(token.privateKey);
    return { token: jwt, access_token: jwt, expires_in: token.expiresInSeconds, issued_at: new Date(issuedAt * 1000).toISOString() };
  }
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
