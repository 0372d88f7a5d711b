// Pure: POSIX-like word splitting for `cmd` and `entrypoint.command` (image-config.md §10.1):
// whitespace separates words, single quotes are literal, double quotes honour backslash escapes of
// `$ \` " \\` and newline, a backslash outside quotes escapes the next character, and a word that
// begins with `#` starts a comment that runs to the end of the text.

/** Splits a command line into argv words. */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (!inWord && ch === '#') break;
    if (/\s/.test(ch)) {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      i++;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      const stop = end < 0 ? text.length : end;
      word += text.slice(i + 1, stop);
      i = stop + 1;
    } else if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1]!)) {
          if (text[i + 1] !== '\n') word += text[i + 1];
          i += 2;
        } else word += text[i++];
      }
      i++;
    } else if (ch === '\\') {
      if (i + 1 < text.length && text[i + 1] !== '\n') word += text[i + 1];
      i += 2;
    } else {
      word += ch;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
