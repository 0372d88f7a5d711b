import { gzipSync } from 'node:zlib';

// The signature member of an apk v2 package: a gzip'd tar holding one `.SIGN.<ALG>.<key>` entry and
// no end-of-archive blocks (apk stops reading at the first end blocks). Used by `kiln pkg sign`.

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

/** One ustar header + body + padding for a regular root-owned 0644 file. */
export function tarFileRecord(name: string, body: Uint8Array, mtime: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  const header = Buffer.alloc(512, 0);
  header.write(name, 0, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(body.length, 12), 124, 'ascii');
  header.write(octal(mtime, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\u000000', 257, 'latin1');
  header.write('root', 265, 'ascii');
  header.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
  return Buffer.concat([header, Buffer.from(body), padding]);
}

/** The gzip member carrying a package signature. */
export function signatureMember(entryName: string, signature: Uint8Array, mtime: number): Buffer {
  return gzipSync(tarFileRecord(entryName, signature, mtime), { level: 9 });
}
