// Pure: enough of OpenSSL's configuration language (config(5)) to tell whether an image's
// openssl.cnf really loads the FIPS provider: comments, sections, `name = value`, and `.include`
// (with or without `=`, of a file or of a directory's .cnf/.conf files), included text taking effect
// where the directive stands, as NCONF_load reads it. Variable expansion and `.pragma` do not change
// what the FIPS check reads and are ignored.

/** How the loader reads the image. Paths are absolute paths inside the image. */
export interface ConfigFileReader {
  /** The text of a regular file (links followed), with its clean path; undefined when it is missing,
   *  not a regular file or too large to have been kept. */
  read(path: string): { path: string; text: string } | undefined;
  /** The `.cnf` and `.conf` files directly in a directory, sorted; undefined when `path` is not a
   *  directory. */
  directory(path: string): string[] | undefined;
}

/** One active `.include` directive and what it brought in. */
export interface ConfigInclude {
  /** `file:line` of the directive. */
  at: string;
  target: string;
  /** The clean paths of the files read for it (none when it names nothing in the image). */
  files: string[];
}

/** A configuration as OpenSSL would read it. */
export interface OpensslConfig {
  /** Section → name → value (later assignments win); names before any section are in `default`. */
  sections: Map<string, Map<string, string>>;
  includes: ConfigInclude[];
  /** Why part of it could not be read (an include that names nothing, a relative include path). */
  problems: string[];
}

const MAX_INCLUDE_DEPTH = 8;

/** A line without its comment: `#` starts one unless escaped or inside quotes. */
function withoutComment(line: string): string {
  let quote = '';
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (char === '\\') {
      index++;
      continue;
    }
    if (quote) {
      if (char === quote) quote = '';
    } else if (char === '"' || char === '\'') {
      quote = char;
    } else if (char === '#') {
      return line.slice(0, index);
    }
  }
  return line;
}

function unquote(value: string): string {
  const match = /^(["'])(.*)\1$/.exec(value);
  return match ? match[2]! : value;
}

/** Reads `path` and what it includes. A relative include path is reported, not guessed: OpenSSL
 *  resolves it against OPENSSL_CONF_INCLUDE or the process's working directory, which the image
 *  does not fix. */
export function loadOpensslConfig(path: string, reader: ConfigFileReader): OpensslConfig {
  const config: OpensslConfig = { sections: new Map([['default', new Map()]]), includes: [], problems: [] };
  let section = 'default';
  const visit = (file: { path: string; text: string }, depth: number) => {
    file.text.split(/\r?\n/).forEach((raw, index) => {
      const line = withoutComment(raw).trim();
      if (!line) return;
      const at = `/${file.path}:${index + 1}`;
      const include = /^\.include(?:\s*=\s*|\s+)(\S.*)$/.exec(line);
      if (include) {
        const target = unquote(include[1]!.trim());
        const entry: ConfigInclude = { at, target, files: [] };
        config.includes.push(entry);
        if (!target.startsWith('/')) {
          config.problems.push(`${at}: .include ${target} is relative (OpenSSL resolves it against the working directory)`);
          return;
        }
        if (depth >= MAX_INCLUDE_DEPTH) {
          config.problems.push(`${at}: includes nest deeper than ${MAX_INCLUDE_DEPTH}`);
          return;
        }
        const listed = reader.directory(target);
        for (const name of listed ?? [target]) {
          const included = reader.read(name);
          if (!included) continue;
          entry.files.push(included.path);
          visit(included, depth + 1);
        }
        if (!entry.files.length) config.problems.push(`${at}: .include ${target} names no readable file in the image`);
        return;
      }
      if (line.startsWith('.pragma')) return;
      const header = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
      if (header) {
        section = header[1]!;
        if (!config.sections.has(section)) config.sections.set(section, new Map());
        return;
      }
      const assignment = /^([^=\s]+)\s*=\s*(.*)$/.exec(line);
      if (assignment) config.sections.get(section)!.set(assignment[1]!, unquote(assignment[2]!.trim()));
    });
  };
  const main = reader.read(path);
  if (main) visit(main, 0);
  return config;
}

const TRUE_VALUES = new Set(['1', 'yes', 'true', 'on']);

/** What the configuration does with the FIPS provider: the library section `openssl_conf` names,
 *  its provider section's `fips` entry, whether that section activates it, and the default
 *  properties of its algorithm section. */
export function fipsSettings(config: OpensslConfig): { isFipsActivated: boolean; defaultProperties?: string; problems: string[] } {
  const problems: string[] = [];
  const value = (section: string | undefined, name: string) => (section === undefined ? undefined : config.sections.get(section)?.get(name));
  const init = value('default', 'openssl_conf');
  if (init === undefined) return { isFipsActivated: false, problems: ['openssl.cnf sets no openssl_conf (the library reads no provider or algorithm section)'] };
  const providers = value(init, 'providers');
  const fipsSection = value(providers, 'fips');
  const activate = value(fipsSection, 'activate');
  const isFipsActivated = activate !== undefined && TRUE_VALUES.has(activate.toLowerCase());
  if (providers === undefined) problems.push(`[${init}] names no providers section`);
  else if (fipsSection === undefined) problems.push(`[${providers}] does not list the fips provider`);
  else if (!isFipsActivated) problems.push(`[${fipsSection}] does not activate the fips provider (activate = 1)`);
  const defaultProperties = value(value(init, 'alg_section'), 'default_properties');
  return { isFipsActivated, ...(defaultProperties !== undefined ? { defaultProperties } : {}), problems };
}
