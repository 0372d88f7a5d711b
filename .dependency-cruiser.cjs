/** Layer rules from CONVENTIONS.md: pure format code has no I/O; domains import each other only
 *  through their index.ts; adapters never import services; no cycles. */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'format-is-pure',
      comment: 'pure format/plan code may not do I/O',
      severity: 'error',
      from: { path: '(^src/[^/]+/format/|-plan\\.ts$)', pathNot: '\\.test\\.ts$' },
      to: { path: '^(fs|net|http|https|child_process|node:fs|node:net|node:http|node:https|node:child_process|fs/promises|node:fs/promises)$|pino' },
    },
    {
      name: 'domains-through-index',
      comment: 'another domain is imported only through its index.ts',
      severity: 'error',
      from: { path: '^src/([^/]+)/', pathNot: '(\\.test\\.ts$|^src/app/|^src/cli/)' },
      to: { path: '^src/([^/]+)/.+', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
    {
      name: 'compression-is-format',
      comment:
        'gzip member splitting and inflating are pure format code (src/apk/format/gzip-members.ts is the one splitter): ' +
        'zlib only in */format/, the OCI layer compressor and test helpers, so a second splitter cannot hide outside format/',
      severity: 'error',
      from: { path: '^src/', pathNot: '(^src/[^/]+/format/|^src/oci/layer\\.ts$|\\.test\\.ts$|/testing(\\.ts$|/))' },
      to: { path: '^(zlib|node:zlib)$' },
    },
    {
      name: 'lib-is-bottom',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { path: '^src/(?!lib/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
