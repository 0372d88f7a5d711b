// debian/patches/series: patch names in order, with an optional -pN per line. Pure.

/** One patch of a series. */
export interface SeriesPatch {
  name: string;
  /** Leading path components to strip (quilt default 1). */
  strip: number;
}

/** Parses a quilt series file; `#` starts a comment, blank lines are skipped. */
export function parseSeries(text: string): SeriesPatch[] {
  const patches: SeriesPatch[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [name, ...options] = line.split(/\s+/);
    let strip = 1;
    for (const option of options) {
      const match = /^-p(\d+)$/.exec(option);
      if (match) strip = Number(match[1]);
    }
    patches.push({ name: name!, strip });
  }
  return patches;
}
