import { describe, expect, it } from 'vitest';
import { splitShellWords } from './shell-words.ts';

describe('splitShellWords', () => {
  it.each([
    ['/bin/sh -l', ['/bin/sh', '-l']],
    ['/usr/sbin/nginx -c /etc/nginx/nginx.conf -g "daemon off;"', ['/usr/sbin/nginx', '-c', '/etc/nginx/nginx.conf', '-g', 'daemon off;']],
    ["echo 'a  b' c\\ d", ['echo', 'a  b', 'c d']],
    ['echo "x \\"y\\" \\$HOME"', ['echo', 'x "y" $HOME']],
    ['run  # a comment', ['run']],
    ['a#b', ['a#b']],
    ['', []],
  ])('%s', (text, words) => expect(splitShellWords(text)).toEqual(words));
});
