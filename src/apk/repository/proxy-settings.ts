// Which proxy a URL goes through, from the usual environment variables. No network modules here:
// commands that only read local repositories import this without loading http, https and tls.

/** Proxy settings, usually from HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
export interface ProxySettings {
  /** Proxy for https:// targets (reached with CONNECT). */
  https?: string;
  /** Proxy for http:// targets (absolute-URI requests). */
  http?: string;
  /** Comma-separated hosts or domain suffixes that bypass the proxy; `*` bypasses everything. */
  noProxy?: string;
}

/** Proxy settings from the usual environment variables (upper case wins over lower case). */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv): ProxySettings {
  const pick = (name: string): string | undefined => env[name.toUpperCase()] || env[name.toLowerCase()] || undefined;
  const settings: ProxySettings = {};
  const httpsProxy = pick('https_proxy');
  const httpProxy = pick('http_proxy');
  const noProxy = pick('no_proxy');
  if (httpsProxy) settings.https = httpsProxy;
  if (httpProxy) settings.http = httpProxy;
  if (noProxy) settings.noProxy = noProxy;
  return settings;
}

/** The proxy URL to use for `target`, if any. Like Go's net/http (which apko uses), loopback
 *  hosts never go through a proxy. */
export function proxyFor(target: URL, settings: ProxySettings): URL | undefined {
  const proxy = target.protocol === 'https:' ? settings.https : settings.http;
  if (!proxy) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1') return undefined;
  for (const raw of (settings.noProxy ?? '').split(',')) {
    const entry = raw.trim().toLowerCase().replace(/:\d+$/, '');
    if (!entry) continue;
    if (entry === '*') return undefined;
    const suffix = entry.replace(/^\*?\.?/, '');
    if (host === suffix || host.endsWith(`.${suffix}`)) return undefined;
  }
  return new URL(proxy.includes('://') ? proxy : `http://${proxy}`);
}

/** `Proxy-Authorization` for a proxy URL with user info. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
}
