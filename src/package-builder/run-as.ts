import { BuildError } from './errors.ts';
import type { EnvironmentConfig } from './recipe/schema.ts';

/** The user build steps run as, in the guest. */
interface GuestUser {
  uid: number;
  gid: number;
}

/** The user `environment.accounts.run-as` names, as melange runs steps: a user of
 *  `accounts.users` (by name, or a number as the uid), `root`, or `build` — the account every
 *  assembled environment has (1000:1000) unless the recipe defines it. Undefined without run-as.
 *  Pure; an unknown name is RECIPE_INVALID naming the recipe. */
export function runAsUser(environment: EnvironmentConfig, recipeFile: string): GuestUser | undefined {
  const runAs = environment.accounts?.['run-as'];
  if (runAs === undefined || runAs === '') return undefined;
  const users = environment.accounts?.users ?? [];
  const groups = environment.accounts?.groups ?? [];
  const byName = users.find((user) => user.username === runAs);
  const byUid = /^\d+$/.test(runAs) ? users.find((user) => user.uid === Number(runAs)) : undefined;
  const user = byName ?? byUid;
  if (user) {
    const uid = user.uid ?? (user.username === 'build' ? 1000 : undefined);
    if (uid === undefined) throw new BuildError('RECIPE_INVALID', `${recipeFile}: environment.accounts.run-as ${JSON.stringify(runAs)} names a user without a uid`, { detail: { file: recipeFile, runAs } });
    const gid = user.gid ?? groups.find((group) => group.groupname === user.username)?.gid ?? uid;
    return { uid, gid };
  }
  if (/^\d+$/.test(runAs)) return { uid: Number(runAs), gid: Number(runAs) };
  if (runAs === 'root') return { uid: 0, gid: 0 };
  if (runAs === 'build') return { uid: 1000, gid: 1000 };
  throw new BuildError('RECIPE_INVALID', `${recipeFile}: environment.accounts.run-as ${JSON.stringify(runAs)} is not a user of environment.accounts.users`, {
    detail: { file: recipeFile, runAs },
  });
}
