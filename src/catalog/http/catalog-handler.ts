import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isKilnError } from '../../lib/index.ts';
import type { Logger } from '../../lib/index.ts';
import type { CatalogService } from '../catalog-service.ts';
import { CatalogError } from '../errors.ts';
import type { CatalogErrorCode } from '../errors.ts';
import { parseImagesQuery } from '../format/registry-view.ts';
import { CATALOG_CSS, CATALOG_JS } from '../web/assets.ts';
import { errorPage, renderPage } from '../web/pages.ts';
import type { CatalogView } from '../format/model.ts';

// The catalog's HTTP edge: routes → the service's view model → HTML or the same model as JSON.
// Every response carries a strong ETag of its body (304 on If-None-Match) and Cache-Control; pages
// revalidate every time (`no-cache`), so a badge never outlives a signature change by more than a
// request, while an unchanged page costs a 304.

const STATUS: Record<CatalogErrorCode, number> = {
  CATALOG_IMAGE_UNKNOWN: 404,
  CATALOG_COMPARE_UNKNOWN: 404,
  CATALOG_SBOM_UNAVAILABLE: 404,
  CATALOG_REQUEST_INVALID: 400,
  CATALOG_CONFIG_INVALID: 500,
  CATALOG_REGISTRY_AUTH_FAILED: 502,
};

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** Options of {@link createCatalogHandler}. */
export interface CatalogHandlerOptions {
  service: CatalogService;
  logger: Logger;
}

/** A request handler for the catalog (`node:http`), or undefined-returning for paths it does not own
 *  when mounted beside the registry: see {@link isCatalogPath}. */
export type CatalogHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** True for paths the catalog serves (everything but the registry's /v2/, /healthz and /metrics). */
export function isCatalogPath(path: string): boolean {
  return !(path === '/v2' || path.startsWith('/v2/') || path === '/healthz' || path === '/metrics' || path.startsWith('/auth/'));
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, cacheControl: string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('Vary', 'Accept-Encoding');
  if (status === 200) res.setHeader('ETag', etag);
  const match = req.headers['if-none-match'];
  if (status === 200 && match !== undefined && match.split(',').map((value) => value.trim().replace(/^W\//, '')).some((value) => value === etag || value === '*')) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', bytes.length);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function imageName(rest: string): string {
  let name: string;
  try {
    name = rest.split('/').map(decodeURIComponent).join('/');
  } catch (error) {
    throw new CatalogError('CATALOG_REQUEST_INVALID', 'the image name in the path is not valid percent-encoding', { cause: error });
  }
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(name)) {
    throw new CatalogError('CATALOG_IMAGE_UNKNOWN', `${JSON.stringify(name.slice(0, 200))} is not an image name`, { detail: { image: name.slice(0, 200) } });
  }
  return name;
}

async function route(service: CatalogService, url: URL): Promise<{ view?: CatalogView; json?: unknown; api: boolean; download?: string }> {
  const api = url.pathname === '/api' || url.pathname.startsWith('/api/');
  const path = api ? url.pathname.slice(4) || '/' : url.pathname;
  const params = url.searchParams;
  if (path === '/' || path === '/images' || path === '/images/') return { view: await service.imagesList(parseImagesQuery(params)), api };
  if (path.startsWith('/images/')) return { view: await service.imagePage(imageName(path.slice('/images/'.length)), params.get('digest') ?? undefined), api };
  if (path === '/compare') return { view: await service.compare(params.get('left') ?? undefined, params.get('right') ?? undefined), api };
  const sbom = /^\/sbom\/(spdx|cyclonedx)\/(.+)$/.exec(path);
  if (sbom) {
    const name = imageName(sbom[2]!);
    const format = sbom[1] as 'spdx' | 'cyclonedx';
    return { json: await service.sbom(name, format, params.get('digest') ?? undefined), api: true, download: `${name.replaceAll('/', '_')}.${format === 'spdx' ? 'spdx' : 'cdx'}.json` };
  }
  throw new CatalogError('CATALOG_IMAGE_UNKNOWN', `no page ${JSON.stringify(url.pathname.slice(0, 200))}`, { detail: { path: url.pathname.slice(0, 200) } });
}

/** Rendered pages by the JSON of their view model: a memo that cannot change a result (the render
 *  is a pure function of the model), bounded to the most recent {@link RENDER_MEMO} models. */
const RENDER_MEMO = 64;

function renderMemo(): (view: CatalogView) => string {
  const rendered = new Map<string, string>();
  return (view) => {
    const json = JSON.stringify(view);
    let html = rendered.get(json);
    if (html === undefined) {
      html = renderPage(view);
      if (rendered.size >= RENDER_MEMO) rendered.delete(rendered.keys().next().value!);
      rendered.set(json, html);
    }
    return html;
  };
}

/** The catalog's request handler. */
export function createCatalogHandler(options: CatalogHandlerOptions): CatalogHandler {
  const { service, logger } = options;
  const render = renderMemo();
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://catalog.invalid');
    // Errors of the JSON API and of SBOM downloads (JSON documents) are JSON too.
    const api = url.pathname.startsWith('/api/') || url.pathname === '/api' || url.pathname.startsWith('/sbom/');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', 'no-store');
      return;
    }
    if (url.pathname === '/static/catalog.css') return send(req, res, 200, 'text/css; charset=utf-8', CATALOG_CSS, 'public, max-age=3600');
    if (url.pathname === '/static/catalog.js') return send(req, res, 200, 'text/javascript; charset=utf-8', CATALOG_JS, 'public, max-age=3600');
    if (url.pathname === '/favicon.ico') return send(req, res, 404, 'text/plain; charset=utf-8', '', 'public, max-age=3600');
    route(service, url)
      .then((result) => {
        if (result.download) {
          res.setHeader('Content-Disposition', `attachment; filename="${result.download}"`);
          return send(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(result.json, null, 2), 'public, max-age=300');
        }
        if (result.api || !result.view) return send(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(result.view ?? result.json), 'no-cache');
        return send(req, res, 200, 'text/html; charset=utf-8', render(result.view), 'no-cache');
      })
      .catch((error: unknown) => {
        const code = isKilnError(error) && error instanceof CatalogError ? error.code : undefined;
        const status = code ? STATUS[code] : 500;
        const message = code ? error instanceof Error ? error.message : String(error) : 'internal error: this is a bug in Kiln (see the server log)';
        if (!code) logger.error({ err: error, path: url.pathname }, 'catalog request failed');
        if (api) send(req, res, status, 'application/json; charset=utf-8', JSON.stringify({ error: { code: code ?? 'INTERNAL', message } }), 'no-store');
        else send(req, res, status, 'text/html; charset=utf-8', errorPage(status, message), 'no-store');
      });
  };
}
