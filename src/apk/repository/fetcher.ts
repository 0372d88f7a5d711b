import type { Readable } from 'node:stream';

/** Conditional-request validators remembered from an earlier response. */
export interface FetchValidators {
  /** Sent as `If-None-Match`. */
  etag?: string;
  /** Sent as `If-Modified-Since` (an HTTP date, as the server sent it). */
  lastModified?: string;
}

/** Options of one GET. */
export interface FetchOptions {
  /** When given, the transport may answer `not-modified` instead of a body. */
  validators?: FetchValidators;
  /** Cancels the request and any body still streaming. */
  signal?: AbortSignal;
}

/** A successful GET: a body stream the caller must consume or destroy. */
export interface FetchBody {
  kind: 'body';
  /** The URL asked for. */
  url: string;
  /** The URL the body came from after redirects. */
  finalUrl: string;
  body: Readable;
  /** Declared length of the body, when the transport knows it. */
  contentLength?: number;
  /** Validators of this response, for the next conditional request. */
  validators: FetchValidators;
}

/** The server confirmed that the validators sent are still current. */
export interface FetchNotModified {
  kind: 'not-modified';
  url: string;
}

export type FetchResult = FetchBody | FetchNotModified;

/**
 * Fetcher port: GETs one URL as a stream. Contract: resolves only for a success (or, when
 * validators were sent, not-modified); every failure rejects with an ApkError whose message names
 * the URL (APK_REPO_NOT_FOUND, APK_REPO_HTTP_STATUS with the status, APK_REPO_NETWORK,
 * APK_REPO_TIMEOUT, APK_REPO_REDIRECTS, APK_REPO_URL_UNSUPPORTED). A body that ends early makes
 * the stream emit an error rather than end quietly. Bodies are never decoded (no content-encoding).
 */
export interface Fetcher {
  fetch(url: string, options?: FetchOptions): Promise<FetchResult>;
}
