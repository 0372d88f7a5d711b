import { BuildError } from '../errors.ts';

// Pure: melange's --env-file, environment variables preloaded into every build step.

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `KEY=VALUE` lines (blank lines and `#` comments skipped, an optional `export ` prefix,
 *  values optionally in matching single or double quotes, taken literally). Errors name file:line. */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq).trim();
    if (eq < 0 || !NAME.test(name)) {
      throw new BuildError('ENV_FILE_INVALID', `${file}:${index + 1}: expected NAME=VALUE with NAME of letters, digits and _ (not starting with a digit)`, { detail: { file, line: index + 1 } });
    }
    let value = body.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    env[name] = value;
  });
  return env;
}
