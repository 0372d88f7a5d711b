/** A configured user (accounts.users[]) after defaults. */
export interface ImageUser {
  username: string;
  uid: number;
  gid: number;
  /** Only when configured; /etc/passwd uses /bin/sh otherwise. */
  shell?: string;
  /** Defaulted to /home/<username>. */
  homedir: string;
}

/** A configured group (accounts.groups[]). */
export interface ImageGroup {
  groupname: string;
  gid: number;
  members: string[];
}

/** One filesystem mutation from `paths` (image-config.md §2.5). */
export interface PathMutation {
  path: string;
  type: 'directory' | 'empty-file' | 'hardlink' | 'symlink' | 'permissions';
  uid?: number;
  gid?: number;
  /** Mode bits; absent means 0000 (apko's behaviour), which the loader warns about. */
  permissions?: number;
  source?: string;
  recursive: boolean;
}

/** A `{name, content}` pair (runtime keys, additional certificates). */
export interface NamedContent {
  name: string;
  content: string;
}

/** The validated, include-merged and normalised image configuration (apko key names). */
export interface ImageConfig {
  contents: {
    repositories: string[];
    build_repositories: string[];
    runtime_repositories: string[];
    keyring: string[];
    runtime_keyring: NamedContent[];
    packages: string[];
    baseimage?: { image?: string; apkindex?: string };
  };
  entrypoint: { command?: string; 'shell-fragment'?: string; type?: string; services: Record<string, string> };
  cmd?: string;
  'work-dir'?: string;
  'stop-signal'?: string;
  accounts: { users: ImageUser[]; groups: ImageGroup[]; 'run-as'?: string };
  environment: Record<string, string>;
  paths: PathMutation[];
  /** OCI names, deduplicated and sorted; empty means "all nine" until the CLI decides. */
  archs: string[];
  annotations: Record<string, string>;
  volumes: string[];
  'vcs-url'?: string;
  layering?: { strategy: 'origin'; budget: number };
  format?: 'tar' | 'erofs';
  certificates?: { additional: NamedContent[]; providers: string[] };
}
