import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError } from './errors.ts';
import { pipelineDefinitionSchema } from './recipe/schema.ts';
import type { PipelineDefinition } from './recipe/schema.ts';
import { YamlSource } from './recipe/yaml-source.ts';

/** A pipeline definition found for a `uses:` name. */
export interface ResolvedPipeline {
  name: string;
  /** The file it came from. */
  file: string;
  definition: PipelineDefinition;
  source: YamlSource;
}

/** Looks up `uses:` names: user directories first (in order), then the built-in definitions. */
export interface PipelineLibrary {
  resolve(name: string, where: string): Promise<ResolvedPipeline>;
}

/** Directory of the built-in definitions: YAML data beside this module (in dist/package-builder
 *  when the bundled CLI runs this code from dist/bundle or dist), else the source tree's. */
export function builtinPipelineDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'pipelines'), join(here, '..', 'package-builder', 'pipelines'), join(here, 'package-builder', 'pipelines')]) {
    if (existsSync(join(dir, 'fetch.yaml'))) return dir;
  }
  return resolve(here, '..', '..', 'src', 'package-builder', 'pipelines');
}

/** A library over `--pipeline-dir` directories plus the built-ins; definitions are cached. */
export function createPipelineLibrary(userDirs: readonly string[] = []): PipelineLibrary {
  const dirs = [...userDirs, builtinPipelineDir()];
  const cache = new Map<string, Promise<ResolvedPipeline>>();
  const load = async (name: string, where: string): Promise<ResolvedPipeline> => {
    for (const dir of dirs) {
      const file = join(dir, `${name}.yaml`);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue;
      }
      const source = YamlSource.parse(file, text);
      const definition = source.validate(pipelineDefinitionSchema, 'PIPELINE_INVALID');
      return { name, file, definition, source };
    }
    throw new BuildError('PIPELINE_NOT_FOUND', `${where}: pipeline ${JSON.stringify(name)} not found (searched ${dirs.join(', ')})`, {
      detail: { pipeline: name, searched: dirs },
    });
  };
  return {
    resolve(name, where) {
      if (name.startsWith('/') || name.split('/').includes('..') || name === '') {
        return Promise.reject(new BuildError('RECIPE_INVALID', `${where}: pipeline name ${JSON.stringify(name)} must be relative and must not contain ..`, { detail: { pipeline: name } }));
      }
      let entry = cache.get(name);
      if (!entry) {
        entry = load(name, where);
        cache.set(name, entry);
        entry.catch(() => cache.delete(name));
      }
      return entry;
    },
  };
}
