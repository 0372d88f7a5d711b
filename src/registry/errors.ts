import { KilnError } from '../lib/index.ts';

/** One row of the registry's wire-error table: the OCI distribution-spec code, its default message and
 *  the HTTP status Kiln answers with. */
export interface RegistryErrorSpec {
  message: string;
  httpStatus: number;
}

/** The OCI distribution-spec error codes (plus the legacy ones Kiln emits) — the single table every
 *  handler answers from; docs/errors/registry.md mirrors it. */
export const registryErrorCodes = {
  BLOB_UNKNOWN: { message: 'blob unknown to registry', httpStatus: 404 },
  BLOB_UPLOAD_INVALID: { message: 'blob upload invalid', httpStatus: 400 },
  BLOB_UPLOAD_UNKNOWN: { message: 'blob upload unknown to registry', httpStatus: 404 },
  DIGEST_INVALID: { message: 'provided digest did not match uploaded content', httpStatus: 400 },
  MANIFEST_BLOB_UNKNOWN: { message: 'manifest references a manifest or blob unknown to registry', httpStatus: 400 },
  MANIFEST_INVALID: { message: 'manifest invalid', httpStatus: 400 },
  MANIFEST_UNKNOWN: { message: 'manifest unknown to registry', httpStatus: 404 },
  NAME_INVALID: { message: 'invalid repository name', httpStatus: 400 },
  NAME_UNKNOWN: { message: 'repository name not known to registry', httpStatus: 404 },
  SIZE_INVALID: { message: 'provided length did not match content length', httpStatus: 400 },
  UNAUTHORIZED: { message: 'authentication required', httpStatus: 401 },
  DENIED: { message: 'requested access to the resource is denied', httpStatus: 403 },
  UNSUPPORTED: { message: 'the operation is unsupported', httpStatus: 405 },
  TOOMANYREQUESTS: { message: 'too many requests', httpStatus: 429 },
  TAG_INVALID: { message: 'manifest tag did not match URI', httpStatus: 400 },
  RANGE_INVALID: { message: 'invalid content range', httpStatus: 416 },
  PAGINATION_NUMBER_INVALID: { message: 'invalid number of results requested', httpStatus: 400 },
  TAG_IMMUTABLE: { message: 'the tag is immutable', httpStatus: 409 },
  MANIFEST_TOO_LARGE: { message: 'manifest exceeds the size limit', httpStatus: 413 },
  NOT_FOUND: { message: 'no such endpoint', httpStatus: 404 },
  METHOD_NOT_ALLOWED: { message: 'method not allowed on this endpoint', httpStatus: 405 },
  UNKNOWN: { message: 'unknown error', httpStatus: 500 },
  UNAVAILABLE: { message: 'service unavailable', httpStatus: 503 },
  CONFIG_INVALID: { message: 'the registry configuration is invalid', httpStatus: 500 },
  LISTEN_FAILED: { message: 'the registry cannot listen on its address', httpStatus: 500 },
  DATA_NOT_FOUND: { message: 'no registry data at the given location', httpStatus: 500 },
} as const satisfies Readonly<Record<string, RegistryErrorSpec>>;

export type RegistryErrorCode = keyof typeof registryErrorCodes;

/** A registry failure that becomes one entry of the spec's `{"errors":[…]}` body; `detail` is sent as
 *  the entry's `detail`, `headers` are added to the response (WWW-Authenticate, Retry-After). */
export class RegistryError extends KilnError<RegistryErrorCode> {
  readonly headers: Readonly<Record<string, string>>;
  readonly extra: readonly { code: RegistryErrorCode; message: string; detail?: unknown }[];
  readonly #httpStatus: number | undefined;

  /** `options.httpStatus` overrides the table's status where the protocol asks for another one with
   *  the same code (409 DENIED for deleting a blob a manifest still lists). */
  constructor(
    code: RegistryErrorCode,
    message?: string,
    options: { cause?: unknown; detail?: Record<string, unknown>; headers?: Record<string, string>; extra?: { code: RegistryErrorCode; message: string; detail?: unknown }[]; httpStatus?: number } = {},
  ) {
    super(code, message ?? registryErrorCodes[code].message, options);
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? [];
    this.#httpStatus = options.httpStatus;
  }

  get httpStatus(): number {
    return this.#httpStatus ?? registryErrorCodes[this.code].httpStatus;
  }

  /** The spec's JSON error body. */
  toBody(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const first = { code: this.code, message: this.message, ...(Object.keys(this.detail).length ? { detail: this.detail } : {}) };
    return { errors: [first, ...this.extra] };
  }
}
