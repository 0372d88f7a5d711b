// Commits a recipe change on a branch of the git checkout holding the recipes, without touching HEAD,
// the index or any other file of the working tree: the new blob goes into a tree built from the
// branch (or HEAD, for a new branch) in a private index file, then commit-tree and update-ref.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Port: records a recipe change in version control. */
export interface RecipeCommitter {
  /** Commits `text` as `file` on the branch; returns the commit, or undefined when `file` is not in a git checkout. */
  commit(file: string, text: string, message: string): Promise<{ commit: string; branch: string } | undefined>;
}

/** A committer for git checkouts; `branch` is created from HEAD on first use. */
export function gitRecipeCommitter(branch: string): RecipeCommitter {
  return {
    async commit(file, text, message) {
      const cwd = dirname(file);
      const top = await run('git', ['rev-parse', '--show-toplevel'], { cwd }).then((result) => result.stdout.trim(), () => undefined);
      if (!top) return undefined;
      const git = async (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) => {
        const child = run('git', args, { cwd: top, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
        if (input !== undefined) {
          child.child.stdin?.end(input);
        }
        return (await child).stdout.trim();
      };
      const ref = `refs/heads/${branch}`;
      const parent = (await git(['rev-parse', '--verify', '--quiet', ref]).catch(() => '')) || (await git(['rev-parse', 'HEAD']));
      const work = await mkdtemp(join(tmpdir(), 'kiln-factory-git-'));
      try {
        const env = { GIT_INDEX_FILE: join(work, 'index') };
        await git(['read-tree', parent], env);
        const blob = await git(['hash-object', '-w', '--stdin'], {}, text);
        const path = relative(top, file).split('\\').join('/');
        await git(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], env);
        const tree = await git(['write-tree'], env);
        const identity = { GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'Kiln factory', GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'factory@kiln.invalid', GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'Kiln factory', GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'factory@kiln.invalid' };
        const commit = await git(['commit-tree', tree, '-p', parent, '-F', '-'], identity, message);
        await git(['update-ref', ref, commit]);
        return { commit, branch };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  };
}
