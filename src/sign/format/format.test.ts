import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignError } from '../errors.ts';
import { cosignTag } from './cosign-manifest.ts';
import { preAuthEncoding } from './dsse.ts';
import { buildStatement, sameJson, statementCovers } from './in-toto.ts';
import { buildSimpleSigningPayload, parseSimpleSigningPayload } from './simple-signing.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}` as const;

describe('simple-signing payload', () => {
  it('is written in cosign form and read back', () => {
    const bytes = buildSimpleSigningPayload('reg.example/team/app', DIGEST, { env: 'prod' });
    expect(new TextDecoder().decode(bytes)).toBe(
      `{"critical":{"identity":{"docker-reference":"reg.example/team/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":{"env":"prod"}}`,
    );
    expect(parseSimpleSigningPayload(bytes, 'p')).toEqual({ dockerReference: 'reg.example/team/app', dockerManifestDigest: DIGEST, optional: { env: 'prod' } });
  });

  it('reads the capitalised keys older cosign wrote', () => {
    const old = `{"Critical":{"Identity":{"Docker-reference":"r"},"Image":{"Docker-manifest-digest":"${DIGEST}"},"Type":"cosign container image signature"},"Optional":null}`;
    expect(parseSimpleSigningPayload(new TextEncoder().encode(old), 'p').dockerManifestDigest).toBe(DIGEST);
  });

  it('rejects other types and missing digests', () => {
    const bad = (text: string) => () => parseSimpleSigningPayload(new TextEncoder().encode(text), 'p');
    expect(bad('{"critical":{"type":"something else","image":{"docker-manifest-digest":"' + DIGEST + '"}}}')).toThrow(SignError);
    expect(bad('{"critical":{"type":"cosign container image signature","image":{}}}')).toThrow(SignError);
    expect(bad('not json')).toThrow(SignError);
  });
});

describe('DSSE PAE', () => {
  it('matches the specification example layout with byte lengths', () => {
    expect(preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('counts bytes, not characters', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array(), (type, body) => {
        const pae = preAuthEncoding(type, body);
        const prefix = `DSSEv1 ${Buffer.byteLength(type)} `;
        expect(pae.subarray(0, prefix.length).toString()).toBe(prefix);
        expect(pae.subarray(pae.length - body.length).equals(Buffer.from(body))).toBe(true);
      }),
    );
  });
});

describe('tags and statements', () => {
  it('names cosign tags after the digest', () => {
    expect(cosignTag(DIGEST, 'sig')).toBe(`sha256-${'ab'.repeat(32)}.sig`);
    expect(cosignTag(DIGEST, 'att')).toBe(`sha256-${'ab'.repeat(32)}.att`);
  });

  it('binds a statement to its subject digest only', () => {
    const statement = buildStatement('r', DIGEST, 'https://slsa.dev/provenance/v1', {});
    expect(statementCovers(statement, DIGEST)).toBe(true);
    expect(statementCovers(statement, `sha256:${'cd'.repeat(32)}`)).toBe(false);
  });
});

describe('sameJson', () => {
  it('compares JSON documents ignoring key order, with undefined fields equal to missing ones', () => {
    expect(sameJson({ a: 1, b: { c: [1, { d: 'x', e: null }] } }, { b: { c: [1, { e: null, d: 'x' }] }, a: 1 })).toBe(true);
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameJson({ a: 1 }, { a: '1' })).toBe(false);
    expect(sameJson({ a: null }, { a: undefined })).toBe(false);
    expect(sameJson(undefined, null)).toBe(true);
  });

  it("finds any JSON document equal to a copy with every object's keys reversed, and unequal to a changed copy", () => {
    const reversed = (value: unknown): unknown =>
      Array.isArray(value) ? value.map(reversed) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)])) : value;
    fc.assert(fc.property(fc.jsonValue(), (value) => sameJson(value, reversed(value)) && !sameJson(value, [value])));
  });
});
