import { describe, expect, it } from 'vitest';
import { loadImageConfigText } from './config/load.ts';
import { BASE_ANNOTATION, BASE_CHECKSUM_ANNOTATION, customizeConfig, formatDerivedConfig } from './customize.ts';

const base = loadImageConfigText(
  `contents:
  packages: [baselayout, busybox=1.36.1-r0, ca-certificates]
accounts:
  users: [{username: nonroot, uid: 65532, gid: 65532}]
  groups: [{groupname: nonroot, gid: 65532}]
  run-as: nonroot
entrypoint:
  command: /bin/sh -l
`,
  'base.yaml',
);
const from = { name: 'base.yaml', checksum: base.checksum };

describe('customizeConfig', () => {
  it('removes a package (kept out with !name), adds, sets runtime fields and records its base', () => {
    const { config, warnings } = customizeConfig(base.config, { remove: ['busybox'], add: ['jq>1', 'ca-certificates=2-r0'], user: '65532', env: ['A=1', 'EMPTY='], entrypoint: '/usr/bin/jq', cmd: '-n', workDir: '/work' }, from);
    expect(config.contents.packages).toEqual(['baselayout', '!busybox', 'jq>1', 'ca-certificates=2-r0']);
    expect(config.accounts['run-as']).toBe('65532');
    expect(config.environment).toMatchObject({ A: '1', EMPTY: '' });
    expect(config.entrypoint.command).toBe('/usr/bin/jq');
    expect(config.cmd).toBe('-n');
    expect(config['work-dir']).toBe('/work');
    expect(config.annotations).toMatchObject({ [BASE_ANNOTATION]: 'base.yaml', [BASE_CHECKSUM_ANNOTATION]: base.checksum });
    expect(warnings).toEqual([]);
    expect(base.config.contents.packages).toEqual(['baselayout', 'busybox=1.36.1-r0', 'ca-certificates']);
  });

  it('adding back a removed package lifts its !name entry', () => {
    const { config } = customizeConfig(base.config, { remove: ['busybox'], add: ['busybox'] }, from);
    expect(config.contents.packages).toEqual(['baselayout', 'ca-certificates', 'busybox']);
  });

  it('warns when the entrypoint still runs the removed shell', () => {
    expect(customizeConfig(base.config, { remove: ['busybox'] }, from).warnings).toEqual(['the entrypoint "/bin/sh -l" runs a shell that was removed: set --entrypoint']);
  });

  it.each([
    [{ remove: ['curl'] }, '--remove curl: base.yaml does not list curl in contents.packages (it lists baselayout, busybox=1.36.1-r0, ca-certificates)'],
    [{ remove: ['bad name'] }, '--remove "bad name": give a package name'],
    [{ add: ['!busybox'] }, '--add "!busybox": give a package, optionally with a version constraint'],
    [{ user: 'root' }, '--user root: not a user in accounts.users of base.yaml (nonroot) and not a numeric uid'],
    [{ env: ['NOEQUALS'] }, '--env "NOEQUALS": expected KEY=VALUE'],
  ])('refuses %j', (changes, message) => {
    expect(() => customizeConfig(base.config, changes, from)).toThrow(expect.objectContaining({ code: 'IMAGE_CUSTOMIZE_INVALID', message }));
  });

  it('writes YAML that loads back to the same configuration, with a header naming the base', () => {
    const changes = { remove: ['busybox'], add: ['jq'], entrypoint: '/usr/bin/jq' };
    const { config } = customizeConfig(base.config, changes, from);
    const text = formatDerivedConfig(config, from, changes);
    expect(text.split('\n').slice(0, 2)).toEqual([`# Derived by kiln image customize from base.yaml (${base.checksum}).`, '# Changes: +jq, -busybox, entrypoint. The base is also recorded in annotations dev.kiln.image.base and dev.kiln.image.base.checksum.']);
    expect(loadImageConfigText(text, 'derived.yaml').config).toEqual(config);
  });
});
