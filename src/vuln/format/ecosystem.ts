// Pure: ecosystem names. Feeds and images name distributions differently (OSV `Alpine:v3.20`,
// secdb `distroversion: v3.20`, os-release `ID=alpine VERSION_ID=3.20.3`, Debian codenames); all
// become one normalized name. Anything not in these tables is reported by the caller, never guessed.

/** How versions of an ecosystem compare. */
export type VersionScheme = 'apk' | 'deb';

const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  buzz: '1.1', rex: '1.2', bo: '1.3', hamm: '2.0', slink: '2.1', potato: '2.2', woody: '3.0', sarge: '3.1', etch: '4', lenny: '5', squeeze: '6', wheezy: '7',
  jessie: '8', stretch: '9', buster: '10', bullseye: '11', bookworm: '12', trixie: '13', forky: '14', duke: '15', sid: 'sid', unstable: 'sid',
};

/** The normalized ecosystem of an OSV `package.ecosystem`, or undefined for an ecosystem Kiln does
 *  not scan (language ecosystems, unknown distributions). */
export function ecosystemFromOsv(name: string): string | undefined {
  const [base, release] = name.split(':', 2) as [string, string | undefined];
  switch (base) {
    case 'Alpine': {
      if (release === undefined) return undefined;
      const match = /^v?(\d+\.\d+)$/.exec(release);
      return match ? `alpine:${match[1]}` : undefined;
    }
    case 'Wolfi':
      return release === undefined ? 'wolfi' : undefined;
    case 'Chainguard':
      return release === undefined ? 'chainguard' : undefined;
    case 'Debian':
      return release === undefined ? undefined : debianRelease(release);
    default:
      return undefined;
  }
}

/** `debian:<number>` for a Debian release number or codename; undefined for an unknown codename. */
export function debianRelease(release: string): string | undefined {
  if (/^\d+$/.test(release)) return `debian:${release}`;
  const number = DEBIAN_CODENAMES[release.toLowerCase()];
  return number ? `debian:${number}` : undefined;
}

/** The normalized ecosystem of an apk secdb's header (`distroversion`, `urlprefix`): Alpine's are
 *  recognized; anything else must be named in the feed configuration. */
export function ecosystemFromSecdb(header: { distroversion?: unknown; urlprefix?: unknown }): string | undefined {
  const prefix = typeof header.urlprefix === 'string' ? header.urlprefix : '';
  const version = typeof header.distroversion === 'string' ? /^v(\d+\.\d+)$/.exec(header.distroversion) : null;
  if (/alpinelinux\.org/.test(prefix) && version) return `alpine:${version[1]}`;
  if (/alpinelinux\.org/.test(prefix) && header.distroversion === 'edge') return 'alpine:edge';
  return undefined;
}

/** The normalized ecosystem of an installed system from its os-release fields, or undefined. */
export function ecosystemFromOsRelease(os: Readonly<Record<string, string>>): string | undefined {
  const id = (os.ID ?? '').toLowerCase();
  const version = os.VERSION_ID ?? '';
  switch (id) {
    case 'alpine': {
      // Edge says VERSION_ID=3.21.0_alpha20240807: the next release's number, but edge's packages.
      if (/_alpha|edge/.test(version)) return 'alpine:edge';
      const match = /^(\d+\.\d+)/.exec(version);
      return match ? `alpine:${match[1]}` : undefined;
    }
    case 'wolfi':
    case 'chainguard':
    case 'kiln':
      return id;
    case 'debian':
      return /^\d+/.test(version) ? `debian:${/^\d+/.exec(version)![0]}` : os.VERSION_CODENAME ? debianRelease(os.VERSION_CODENAME) : 'debian:sid';
    default:
      return undefined;
  }
}

/** The ecosystem named in a purl's `distro` qualifier (`alpine-3.20.3`, `wolfi-20230201`) or namespace. */
export function ecosystemFromPurlDistro(namespace: string, distro: string | undefined): string | undefined {
  if (distro) {
    const match = /^([a-z]+)-(.+)$/.exec(distro);
    if (match) return ecosystemFromOsRelease({ ID: match[1]!, VERSION_ID: match[2]! });
    if (/^\d+\.\d+/.test(distro)) return ecosystemFromOsRelease({ ID: namespace, VERSION_ID: distro });
  }
  return ecosystemFromOsRelease({ ID: namespace });
}

/** How versions compare in an ecosystem. */
export function versionSchemeOf(ecosystem: string): VersionScheme {
  return ecosystem.startsWith('debian:') ? 'deb' : 'apk';
}

/** Debian unstable (sid), whose tracker lines stand for every release without a line of its own. */
export const DEBIAN_UNSTABLE = 'debian:sid';

/** True for a numbered Debian release (`debian:12`), which inherits unstable's tracker lines. */
export function isDebianRelease(ecosystem: string): boolean {
  return /^debian:\d+$/.test(ecosystem);
}
