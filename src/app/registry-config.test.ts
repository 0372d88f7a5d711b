import { describe, expect, it } from 'vitest';
import { RegistryError } from '../registry/index.ts';
import { parseAddr } from './registry-config.ts';

describe('parseAddr', () => {
  it.each([
    ['127.0.0.1:5000', { host: '127.0.0.1', port: 5000 }],
    [':5000', { host: '0.0.0.0', port: 5000 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:443', { host: '::1', port: 443 }],
    ['[::]:65535', { host: '::', port: 65535 }],
    ['registry.example:1', { host: 'registry.example', port: 1 }],
  ] as const)('%s', (addr, expected) => {
    expect(parseAddr(addr)).toEqual(expected);
  });

  it.each(['', '5000', 'host', 'host:', ':65536', ':99999', ':123456', '::1:80', 'host:port', '[::1]', 'a:b:80'])('refuses %j with CONFIG_INVALID', (addr) => {
    let error: unknown;
    try {
      parseAddr(addr);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: `--addr ${JSON.stringify(addr)}: expected HOST:PORT`, detail: { addr } });
  });
});
