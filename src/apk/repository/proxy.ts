import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

import { proxyAuthorization } from './proxy-settings.ts';

export { proxyAuthorization, proxyFor, proxyFromEnvironment } from './proxy-settings.ts';
export type { ProxySettings } from './proxy-settings.ts';

/** An https agent whose connections are TLS tunnels through an HTTP proxy (CONNECT). */
export class TunnelingAgent extends https.Agent {
  readonly #proxy: URL;

  constructor(proxy: URL, options: https.AgentOptions = {}) {
    super({ keepAlive: true, ...options });
    this.#proxy = proxy;
  }

  override createConnection(requestOptions: https.RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const options = requestOptions as tls.ConnectionOptions & { host?: string; port?: number };
    const target = `${options.host}:${options.port ?? 443}`;
    const fail = (error: Error): void => callback?.(error, undefined as unknown as Duplex);
    const headers: Record<string, string> = { host: target };
    const authorization = proxyAuthorization(this.#proxy);
    if (authorization) headers['proxy-authorization'] = authorization;
    const connect = (this.#proxy.protocol === 'https:' ? https : http).request({
      host: this.#proxy.hostname,
      port: this.#proxy.port || (this.#proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
    });
    connect.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        fail(new Error(`proxy ${this.#proxy.host} refused CONNECT ${target}: HTTP ${response.statusCode}`));
        return;
      }
      const secure = tls.connect({ ...options, socket: socket as Socket, servername: options.servername ?? options.host });
      callback?.(null, secure);
    });
    connect.once('error', (error) => fail(new Error(`proxy ${this.#proxy.host}: ${error.message}`, { cause: error })));
    connect.end();
    return undefined;
  }
}
