import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every domain's error table (src/<domain>/errors.ts, exports named `*ErrorCodes`) and its pages
// docs/errors/<domain>[-area].md must list the same codes: a code added without docs, or documented after
// removal, fails here.
const root = join(import.meta.dirname, '..', '..');

async function codeTables(): Promise<Map<string, Set<string>>> {
  const tables = new Map<string, Set<string>>();
  for (const domain of await readdir(join(root, 'src'))) {
    let module: Record<string, unknown>;
    try {
      module = (await import(join(root, 'src', domain, 'errors.ts'))) as Record<string, unknown>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') continue;
      throw error;
    }
    const codes = new Set<string>();
    for (const [name, value] of Object.entries(module)) {
      if (name.endsWith('ErrorCodes') && value && typeof value === 'object') {
        for (const code of Object.keys(value)) codes.add(code);
      }
    }
    tables.set(domain, codes);
  }
  return tables;
}

function documentedCodes(markdown: string): Set<string> {
  const codes = new Set<string>();
  for (const match of markdown.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)) codes.add(match[1]!);
  return codes;
}

function ownerOf(page: string, domains: readonly string[]): string | undefined {
  const stem = page.replace(/\.md$/, '');
  return domains
    .filter((domain) => stem === domain || stem.startsWith(`${domain}-`))
    .sort((a, b) => b.length - a.length)[0];
}

describe('docs/errors', () => {
  it('lists exactly the codes each domain defines', async () => {
    const tables = await codeTables();
    const domains = await readdir(join(root, 'src'));
    expect(tables.get('lib')?.size).toBeGreaterThan(0);
    for (const [domain, codes] of tables) {
      // A domain's page may be split by area: docs/errors/<domain>.md and docs/errors/<domain>-<area>.md.
      // A page belongs to the longest domain name it starts with, so registry-client.md is not a registry page.
      const pages = (await readdir(join(root, 'docs', 'errors'))).filter((name) => ownerOf(name, domains) === domain);
      expect(pages.length, `docs/errors/${domain}.md`).toBeGreaterThan(0);
      const documented = new Set<string>();
      for (const page of pages) for (const code of documentedCodes(await readFile(join(root, 'docs', 'errors', page), 'utf8'))) documented.add(code);
      expect([...documented].sort(), `docs/errors/${domain}*.md`).toEqual([...codes].sort());
    }
  });
});

/** Source files that can raise or handle an error: not tests, not test-only helpers (anything that
 *  imports vitest), and not the code tables themselves. */
async function raisingSources(): Promise<Array<{ path: string; text: string }>> {
  const sources: Array<{ path: string; text: string }> = [];
  for (const entry of await readdir(join(root, 'src'), { recursive: true })) {
    const path = join(root, 'src', entry);
    if (!path.endsWith('.ts') || path.endsWith('.test.ts') || /(^|\/|-)errors\.ts$/.test(path)) continue;
    const text = await readFile(path, 'utf8');
    if (/from ['"]vitest['"]/.test(text)) continue;
    sources.push({ path: relative(root, path), text });
  }
  return sources;
}

describe('error codes', () => {
  it('every code in every table is raised or handled somewhere outside the tables (no documented dead codes)', async () => {
    const sources = await raisingSources();
    expect(sources.length).toBeGreaterThan(100);
    const unused: string[] = [];
    for (const [domain, codes] of await codeTables()) {
      for (const code of codes) {
        const literal = new RegExp(`(['"\`])${code}\\1`);
        if (!sources.some((source) => literal.test(source.text))) unused.push(`${domain}: ${code}`);
      }
    }
    expect(unused, 'codes in src/<domain>/errors.ts that no source file uses: raise them where they belong, or remove them and their docs').toEqual([]);
  });
});
