// Job validation and defaults shared by every JobQueue adapter, so they accept and refuse the same jobs.
import { FactoryQueueError } from './errors.ts';
import type { JobSpec, JsonValue } from './port.ts';

/** A job spec with every option filled in and checked. */
export interface ResolvedJobSpec {
  kind: string;
  key: string;
  payload: JsonValue;
  payloadJson: string;
  maxAttempts: number;
  retryDelaySeconds: number;
  retryBackoff: boolean;
  leaseSeconds: number;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_RETRY_DELAY_SECONDS = 10;
export const DEFAULT_LEASE_SECONDS = 3600;
/** pg-boss refuses expirations of 24 hours or more. */
export const MAX_LEASE_SECONDS = 24 * 3600 - 1;

const KIND = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** Throws QUEUE_JOB_INVALID unless `kind` is a valid job kind. */
export function checkKind(kind: string): void {
  if (!KIND.test(kind)) throw new FactoryQueueError('QUEUE_JOB_INVALID', `job kind ${JSON.stringify(kind)}: expected lower-case letters, digits, '.', '-' or '_' (at most 100)`, { detail: { kind } });
}

function integerIn(name: string, value: number | undefined, fallback: number, min: number, max: number, spec: JobSpec): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
    throw new FactoryQueueError('QUEUE_JOB_INVALID', `job ${spec.kind} ${spec.key}: ${name} must be an integer from ${min} to ${max}, got ${String(value)}`, { detail: { kind: spec.kind, key: spec.key, [name]: value } });
  }
  return chosen;
}

/** Checks a spec and fills in defaults; payloads must survive a JSON round trip unchanged. */
export function resolveJobSpec(spec: JobSpec): ResolvedJobSpec {
  checkKind(spec.kind);
  if (typeof spec.key !== 'string' || !KEY.test(spec.key)) {
    throw new FactoryQueueError('QUEUE_JOB_INVALID', `job ${spec.kind}: key ${JSON.stringify(spec.key)} must be 1-255 printable ASCII characters without spaces`, { detail: { kind: spec.kind, key: spec.key } });
  }
  const payloadJson = jsonText(spec.payload, `job ${spec.kind} ${spec.key}: payload`);
  return {
    kind: spec.kind,
    key: spec.key,
    payload: JSON.parse(payloadJson) as JsonValue,
    payloadJson,
    maxAttempts: integerIn('maxAttempts', spec.maxAttempts, DEFAULT_MAX_ATTEMPTS, 1, 1000, spec),
    retryDelaySeconds: integerIn('retryDelaySeconds', spec.retryDelaySeconds, DEFAULT_RETRY_DELAY_SECONDS, 0, 86_400, spec),
    retryBackoff: spec.retryBackoff ?? false,
    leaseSeconds: integerIn('leaseSeconds', spec.leaseSeconds, DEFAULT_LEASE_SECONDS, 1, MAX_LEASE_SECONDS, spec),
  };
}

/** JSON text of a value that must be plain JSON (no undefined, functions, NaN or cycles). */
export function jsonText(value: JsonValue, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new FactoryQueueError('QUEUE_JOB_INVALID', `${what} is not JSON`, { cause: error });
  }
  if (text === undefined || !sameJson(value, JSON.parse(text))) {
    throw new FactoryQueueError('QUEUE_JOB_INVALID', `${what} is not plain JSON (undefined, a function, a non-finite number or a class instance)`);
  }
  return text;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (!Array.isArray(a) && Object.getPrototypeOf(a) !== Object.prototype) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** Seconds to wait before the next attempt after attempt `attempt` failed: pg-boss 10's rule, so both
 *  adapters wait alike. `random` is in [0, 1). */
export function retryDelaySeconds(delay: number, backoff: boolean, attempt: number, random: number): number {
  if (!backoff) return delay;
  const base = (delay * 2 ** Math.min(16, attempt)) / 2;
  return base + base * random;
}
