import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { imageConfigJsonSchema } from './schema.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const published = join(root, 'schemas', 'image-config.schema.json');

describe('published JSON Schema', () => {
  it('is the zod schema exported (UPDATE_GOLDEN=1 regenerates schemas/image-config.schema.json)', async () => {
    const generated = `${JSON.stringify(imageConfigJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(published, generated);
    expect(await readFile(published, 'utf8')).toBe(generated);
  });

  it('accepts the example configurations and rejects unknown fields', async () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(JSON.parse(await readFile(published, 'utf8')) as object);
    const example = parse(await readFile(join(root, 'test', 'fixtures', 'images', 'apko-examples', 'nginx.yaml'), 'utf8')) as Record<string, unknown>;
    // JSON numbers for permissions are what an editor sees after YAML's own integer parsing.
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...example, entrypoints: {} })).toBe(false);
    expect(validate({ accounts: { users: [{ username: 'x', uid: 'abc' }] } })).toBe(false);
  });
});
