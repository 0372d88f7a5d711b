import { KilnError } from '../lib/index.ts';
import type { ErrorCodeTable } from '../lib/index.ts';

/** Error codes of the web catalog (docs/errors/catalog.md). */
export const catalogErrorCodes = {
  CATALOG_IMAGE_UNKNOWN: 'the page or API names an image (repository) the registry does not hold',
  CATALOG_COMPARE_UNKNOWN: 'the comparison names an image that is neither in the catalog nor one of the configured comparison images',
  CATALOG_SBOM_UNAVAILABLE: 'the SBOM asked for is not attached to the image with a signature the catalog could verify',
  CATALOG_REQUEST_INVALID: 'the request is malformed (a bad digest, an unknown format, a method other than GET or HEAD)',
  CATALOG_CONFIG_INVALID: 'kiln catalog serve was given a listen address, key or comparison image it cannot use',
  CATALOG_REGISTRY_AUTH_FAILED: 'the registry the catalog reads refused the credentials the catalog was given (Docker config) for its API',
} as const satisfies ErrorCodeTable<string>;

export type CatalogErrorCode = keyof typeof catalogErrorCodes;

/** A catalog failure; the HTTP edge maps codes to statuses (unknown → 404, invalid → 400). */
export class CatalogError extends KilnError<CatalogErrorCode> {}
