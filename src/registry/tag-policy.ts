import { repositoryGlob, tagGlob } from './format/patterns.ts';

/** One immutable-tags rule from the config file (`tags.immutable`): tags matching `tags` in
 *  repositories matching `repository` may be created once and never moved or deleted. */
export interface ImmutableTagRule {
  /** Shown in the 409 error; defaults to `<repository>:<tags joined by ,>`. */
  name?: string;
  /** Repository glob (`*` within a component, `**` across components). */
  repository: string;
  /** Tag globs (`*`, `?`). */
  tags: string[];
}

/** Compiled immutable-tag rules: which rule, if any, makes a tag immutable. Pure. */
export class ImmutableTags {
  readonly #rules: { rule: ImmutableTagRule; repository: RegExp; tags: RegExp[] }[];

  constructor(rules: readonly ImmutableTagRule[]) {
    this.#rules = rules.map((rule) => ({ rule, repository: repositoryGlob(rule.repository), tags: rule.tags.map(tagGlob) }));
  }

  /** True when no rule is configured (the push path then skips every check). */
  get isEmpty(): boolean {
    return this.#rules.length === 0;
  }

  /** The first rule that makes `repository:tag` immutable, with its display name. */
  ruleFor(repository: string, tag: string): { name: string; rule: ImmutableTagRule } | undefined {
    for (const entry of this.#rules) {
      if (entry.repository.test(repository) && entry.tags.some((pattern) => pattern.test(tag))) {
        return { name: entry.rule.name ?? `${entry.rule.repository}:${entry.rule.tags.join(',')}`, rule: entry.rule };
      }
    }
    return undefined;
  }
}
