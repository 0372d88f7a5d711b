import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePolicy, policyJsonSchema } from './policy.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const published = join(root, 'schemas', 'policy.schema.json');

/** The YAML block under "## Example" in docs/policy.md. */
async function documentedExample(): Promise<string> {
  const markdown = await readFile(join(root, 'docs', 'policy.md'), 'utf8');
  const section = markdown.slice(markdown.indexOf('\n## Example\n'));
  const match = /```yaml\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('docs/policy.md has no ```yaml block under ## Example');
  return match[1]!;
}

async function validator() {
  return new Ajv2020({ strict: false }).compile(JSON.parse(await readFile(published, 'utf8')) as object);
}

describe('published policy JSON Schema', () => {
  it('is the zod schema exported (UPDATE_GOLDEN=1 regenerates schemas/policy.schema.json)', async () => {
    const generated = `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(published, generated);
    expect(await readFile(published, 'utf8')).toBe(generated);
  });

  it('accepts the example in docs/policy.md, which parsePolicy reads as documented', async () => {
    const text = await documentedExample();
    const validate = await validator();
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
    const policy = parsePolicy(text, 'docs/policy.md');
    expect(policy.requiredSignatures).toEqual(['release']);
    expect(policy.authorities.release).toEqual({ key: 'keys/release.pub' });
    const ci = policy.authorities.ci!.keyless!;
    expect(ci.identity).toEqual(/^https:\/\/github\.com\/example\/app\/\.github\/workflows\/release\.yml@refs\/tags\//);
    expect(ci.issuer).toBe('https://token.actions.githubusercontent.com');
    expect([ci.trustedRoot, ci.ignoreTlog, ci.ignoreSct]).toEqual(['sigstore/trusted-root.json', false, false]);
    expect(policy.attestations).toEqual([
      { predicateType: 'https://slsa.dev/provenance/v1', type: 'slsaprovenance1', authorities: ['ci'], maxAge: '30d', maxAgeMs: 30 * 86_400_000 },
      { predicateType: 'https://spdx.dev/Document', type: 'spdxjson', authorities: ['release', 'ci'], maxAge: '1w', maxAgeMs: 7 * 86_400_000 },
      { predicateType: 'https://openvex.dev/ns', type: 'https://openvex.dev/ns', authorities: ['release'] },
    ]);
  });

  it.each([
    ['both key and keyless', { authorities: { a: { key: 'k', keyless: { identity: 'i', issuer: 'x', trustedRoot: 'r' } } }, signatures: { required: ['a'] } }],
    ['neither key nor keyless', { authorities: { a: {} }, signatures: { required: ['a'] } }],
    ['keyless without an identity', { authorities: { a: { keyless: { issuer: 'x', trustedRoot: 'r' } } }, signatures: { required: ['a'] } }],
    ['a duration with a space', { authorities: { a: { key: 'k' } }, attestations: [{ type: 'spdxjson', maxAge: '3 days' }] }],
    ['an unknown key', { authorities: { a: { key: 'k' } }, signatures: { required: ['a'] }, unknownField: 1 }],
    ['an authority name with a space', { authorities: { 'a b': { key: 'k' } }, signatures: { required: ['a b'] } }],
    ['another apiVersion', { apiVersion: 'kiln.dev/v2', authorities: { a: { key: 'k' } }, signatures: { required: ['a'] } }],
  ])('rejects %s, as parsePolicy does', async (_what, document) => {
    const validate = await validator();
    expect(validate(document)).toBe(false);
    expect(() => parsePolicy(JSON.stringify(document), 'p.json')).toThrow();
  });
});
