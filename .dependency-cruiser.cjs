// The import rules of DESIGN.md ("The parts"), checked by `npm run check:imports`.
// A test (test/import-rules.test.ts) proves that a forbidden import fails this check.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports make modules order-dependent and hard to test alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-cross-package-relative',
      severity: 'error',
      comment: "A package reaches another only through its package name and exports map, never into its files.",
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: { dependencyTypes: ['local'], path: '^(packages|apps)/', pathNot: '^$1/$2/' },
    },
    {
      name: 'mls-and-protocol-are-leaves',
      severity: 'error',
      comment: 'packages/mls and packages/protocol import no other package of the repository.',
      from: { path: '^packages/(mls|protocol)/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/$1/' },
    },
    {
      name: 'mls-is-pure',
      severity: 'error',
      comment: 'The MLS engine uses only web-standard APIs; Node-specific code lives in its crypto/node adapter and in scripts.',
      from: { path: '^packages/mls/src/', pathNot: '^packages/mls/src/crypto/node/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'server-imports-protocol-and-public-mls',
      severity: 'error',
      comment: 'The server imports protocol, and from mls only its public (secret-free) group view.',
      from: { path: '^packages/server/src/' },
      to: {
        path: '^(packages|apps)/',
        pathNot: ['^packages/server/', '^packages/protocol/src/', '^packages/mls/src/(public|crypto/node/index)\\.ts$'],
      },
    },
    {
      name: 'client-never-imports-server',
      severity: 'error',
      comment: 'The client library imports mls and protocol, never the server.',
      from: { path: '^packages/client/src/' },
      to: { path: '^(packages|apps)/', pathNot: ['^packages/client/', '^packages/mls/', '^packages/protocol/'] },
    },
    {
      name: 'web-imports-client',
      severity: 'error',
      comment: 'The web app is built on the client library (and the protocol types it re-uses).',
      from: { path: '^apps/web/src/' },
      to: { path: '^(packages|apps)/', pathNot: ['^apps/web/', '^packages/client/', '^packages/protocol/'] },
    },
    {
      name: 'cli-imports-client-and-server',
      severity: 'error',
      comment: 'The CLI is built on the client library, and imports the server for `parley serve`.',
      from: { path: '^apps/cli/src/' },
      to: {
        path: '^(packages|apps)/',
        pathNot: ['^apps/cli/', '^packages/client/', '^packages/protocol/', '^packages/server/'],
      },
    },
    {
      name: 'only-tests-import-testing',
      severity: 'error',
      comment: 'packages/testing is for tests and benches only.',
      from: { path: '^(packages|apps)/[^/]+/src/', pathNot: '^packages/testing/' },
      to: { path: '^packages/testing/' },
    },
  ],
  allowedSeverity: 'warn',
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['parley:source', 'import', 'types', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
    preserveSymlinks: false,
  },
};
