/** Glob over repository names: `*` matches within one path component, `**` across components; every
 *  other character stands for itself. Pure. */
export function repositoryGlob(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else source += escape(char);
  }
  return new RegExp(`^${source}$`);
}

/** Glob over tags (which contain no `/`): `*` matches any run of characters, `?` one character. Pure. */
export function tagGlob(glob: string): RegExp {
  let source = '';
  for (const char of glob) source += char === '*' ? '.*' : char === '?' ? '.' : escape(char);
  return new RegExp(`^${source}$`);
}

function escape(char: string): string {
  return char.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
}
