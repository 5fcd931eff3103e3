// Layer rules of ../shared/DESIGN.md §1, checked by `npm run lint:deps` (part of `npm test`): imports point down
// only — main → operator → controller → (providers, templates, k8s) → (api, audit, metrics, log) → util.
// Type-only imports count too (tsPreCompilationDeps), so a wrong-way `import type` fails as well.
/** @type {import('dependency-cruiser').IConfiguration} */
const layer = (name, from, allowedTo, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: [from, ...allowedTo] },
});

module.exports = {
  forbidden: [
    layer('util-is-the-bottom', '^src/util/', [], 'src/util (clock, timers, backoff, token bucket, errors) imports nothing of ours'),
    layer('api-only-util', '^src/api/', ['^src/util/'], 'the API schemas depend on util only'),
    layer('observability-low', '^src/(audit|metrics)/|^src/log\\.ts$', ['^src/util/', '^src/api/', '^src/log\\.ts$', '^src/(audit|metrics)/'], 'audit, metrics and log sit under every layer that records'),
    layer('http-low', '^src/http/', ['^src/util/', '^src/metrics/', '^src/log\\.ts$'], 'the probe and metrics server'),
    layer('templates-low', '^src/templates/', ['^src/util/', '^src/api/'], 'templates know nothing of the cluster or providers'),
    layer('k8s-not-up', '^src/k8s/', ['^src/util/', '^src/api/', '^src/log\\.ts$', '^src/metrics/', '^src/audit/', '^src/providers/provider\\.ts$', '^src/providers/generator\\.ts$'], 'src/k8s implements contracts; it never imports controllers or provider implementations'),
    layer('providers-not-up', '^src/providers/', ['^src/util/', '^src/api/', '^src/log\\.ts$', '^src/metrics/', '^src/audit/'], 'providers never import the controller, the cluster client or templates'),
    layer('migrate-offline', '^src/migrate/', ['^src/util/', '^src/api/', '^src/templates/'], 'the migrate command converts manifests offline: schemas and the template engine, no cluster or providers'),
    layer('controller-not-up', '^src/controller/', ['^src/util/', '^src/api/', '^src/log\\.ts$', '^src/metrics/', '^src/http/', '^src/audit/', '^src/providers/', '^src/templates/', '^src/k8s/'], 'controllers never import the wiring (operator, main, config)'),
    {
      name: 'only-k8s-imports-client-node',
      comment: 'src/k8s is the only importer of @kubernetes/client-node (its model types)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/k8s/' },
      to: { path: '@kubernetes/client-node' },
    },
    {
      name: 'no-dev-dependency-at-run-time',
      comment: 'the image installs production dependencies only: src may import a devDependency (client-node\'s model types) with `import type` alone, which Node erases',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'one-provider-does-not-import-another',
      comment: 'each provider folder stands alone; shared pieces live in providers/kit',
      severity: 'error',
      from: { path: '^src/providers/([^/]+)/' },
      to: { path: '^src/providers/([^/]+)/', pathNot: ['^src/providers/$1/', '^src/providers/kit/'] },
    },
    {
      name: 'no-circular',
      comment: 'modules that import each other cannot be understood or tested one at a time',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
