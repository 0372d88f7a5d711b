import { describe, expect, it } from 'vitest';
import type { CliContext } from '../context.ts';
import { interactiveRequested } from './pkg-options.ts';

describe('kiln pkg build/test -i', () => {
  it('is honoured only when stdin and stderr are terminals, and says so when ignored', () => {
    let stderr = '';
    const cli = (isTTY: boolean): CliContext => ({ stdout: () => undefined, stderr: (text) => void (stderr += text), env: {}, cwd: '/', isTTY });
    expect(interactiveRequested({ interactive: true }, cli(true), true)).toBe(true);
    expect(stderr).toBe('');
    expect(interactiveRequested({ interactive: true }, cli(true), false)).toBe(false);
    expect(stderr).toBe('kiln: note: --interactive ignored: stdin is not a terminal\n');
    expect(interactiveRequested({}, cli(true), true)).toBe(false);
  });
});
