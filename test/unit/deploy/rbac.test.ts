// Least privilege, reviewed: the shipped RBAC (deploy/manifests/rbac.yaml) grants exactly the rules listed
// here, and every Kubernetes API call in src/ is covered by a rule. Adding a call or a permission makes one of
// these tests fail until the list below is reviewed and updated (and docs/install.md with it).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { MANIFESTS_DIR, repoRoot, splitDocuments } from '../../../scripts/render-manifests.ts';

interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

/** One grant: verb on group/resource (optionally limited to names), in a role. */
type Grant = string;

function grants(rules: readonly Rule[]): Grant[] {
  const out: Grant[] = [];
  for (const r of rules) {
    for (const g of r.apiGroups) {
      for (const res of r.resources) {
        for (const v of r.verbs) out.push(`${v} ${g === '' ? 'core' : g}/${res}${r.resourceNames ? `[${[...r.resourceNames].sort().join(',')}]` : ''}`);
      }
    }
  }
  return out.sort();
}

/** The reviewed list. Each line is a permission the operator uses; docs/install.md explains each. */
const REVIEWED: Readonly<Record<string, readonly Grant[]>> = {
  // Cluster-scoped needs.
  'ClusterRole secret-relay': [
    'list core/namespaces',
    'list secret-relay.dev/clusterexternalsecrets',
    'list secret-relay.dev/clustersecretstores',
    'patch secret-relay.dev/clusterexternalsecrets/status',
    'patch secret-relay.dev/clustersecretstores/status',
    'update secret-relay.dev/clusterexternalsecrets/finalizers',
    'watch core/namespaces',
    'watch secret-relay.dev/clusterexternalsecrets',
    'watch secret-relay.dev/clustersecretstores',
  ],
  // Per watched namespace (bound cluster-wide by default).
  'ClusterRole secret-relay-namespaced': [
    'create core/secrets',
    'create core/serviceaccounts/token',
    'create events.k8s.io/events',
    'create secret-relay.dev/externalsecrets',
    'delete core/secrets',
    'delete secret-relay.dev/externalsecrets',
    'get argoproj.io/rollouts',
    'get core/configmaps',
    'get core/secrets',
    'get core/serviceaccounts',
    'get secret-relay.dev/externalsecrets',
    'get secret-relay.dev/vaultdynamicsecrets',
    'list apps/daemonsets',
    'list apps/deployments',
    'list apps/statefulsets',
    'list core/secrets',
    'list secret-relay.dev/externalsecrets',
    'list secret-relay.dev/secretstores',
    'patch apps/daemonsets',
    'patch apps/deployments',
    'patch apps/statefulsets',
    'patch argoproj.io/rollouts',
    'patch core/secrets',
    'patch events.k8s.io/events',
    'patch secret-relay.dev/externalsecrets',
    'patch secret-relay.dev/externalsecrets/status',
    'patch secret-relay.dev/secretstores/status',
    'update secret-relay.dev/externalsecrets/finalizers',
    'watch core/secrets',
    'watch secret-relay.dev/externalsecrets',
    'watch secret-relay.dev/secretstores',
  ],
  // The operator's own namespace.
  'Role secret-relay-system/secret-relay': [
    'create coordination.k8s.io/leases',
    'create core/secrets',
    'get coordination.k8s.io/leases[secret-relay-leader]',
    'get core/secrets[secret-relay-hmac-key]',
    'update coordination.k8s.io/leases[secret-relay-leader]',
  ],
};

function shippedRbac() {
  const documents = splitDocuments(readFileSync(join(MANIFESTS_DIR, 'rbac.yaml'), 'utf8'));
  const roles = new Map<string, Rule[]>();
  for (const d of documents) {
    if (d.kind === 'ClusterRole') roles.set(`ClusterRole ${d.name}`, d.object['rules'] as Rule[]);
    if (d.kind === 'Role') roles.set(`Role ${d.namespace}/${d.name}`, d.object['rules'] as Rule[]);
  }
  return { documents, roles };
}

test('the shipped roles grant exactly the reviewed permissions', () => {
  const { roles } = shippedRbac();
  assert.deepEqual([...roles.keys()].sort(), Object.keys(REVIEWED).sort(), 'the set of roles changed');
  for (const [name, rules] of roles) assert.deepEqual(grants(rules), [...REVIEWED[name]!].sort(), `${name} differs from the reviewed list`);
});

test('no role uses a wildcard, escalation verb or aggregation', () => {
  const { roles, documents } = shippedRbac();
  for (const [name, rules] of roles) {
    for (const rule of rules) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames ?? []]) {
        assert.ok(!field.includes('*'), `${name} has a wildcard: ${JSON.stringify(rule)}`);
      }
      for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection']) assert.ok(!rule.verbs.includes(verb), `${name} grants ${verb}`);
    }
  }
  for (const d of documents.filter((x) => x.kind === 'ClusterRole')) assert.equal(d.object['aggregationRule'], undefined);
});

test('only the operator ServiceAccount is bound, and only to the chart roles', () => {
  const { documents, roles } = shippedRbac();
  const bindings = documents.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding');
  assert.equal(bindings.length, 3);
  for (const b of bindings) {
    const subjects = b.object['subjects'] as { kind: string; name: string; namespace: string }[];
    assert.deepEqual(subjects, [{ kind: 'ServiceAccount', name: 'secret-relay', namespace: 'secret-relay-system' }]);
    const ref = b.object['roleRef'] as { kind: string; name: string };
    const key = ref.kind === 'Role' ? `Role ${b.namespace}/${ref.name}` : `ClusterRole ${ref.name}`;
    assert.ok(roles.has(key), `${b.kind} ${b.name} binds ${key}, which the chart does not define`);
  }
});

// --- every API call in src/ is covered ------------------------------------------------------------------

/**
 * The permissions each client method used in src/ needs. A method missing here fails the next test: decide
 * which permission it needs, add it here, to the chart (deploy/helm/secret-relay/templates/) and to REVIEWED.
 * `cr` stands for each of our four watched kinds (the informers and status writer are generic over them).
 */
const PERMISSIONS_OF_METHOD: Readonly<Record<string, readonly Grant[]>> = {
  'core.readNamespacedSecret': ['get core/secrets'],
  'core.createNamespacedSecret': ['create core/secrets'],
  'core.patchNamespacedSecret': ['patch core/secrets', 'create core/secrets'], // apply creates when absent
  'core.deleteNamespacedSecret': ['delete core/secrets'],
  'core.listNamespacedSecret': ['list core/secrets', 'watch core/secrets'],
  'core.listSecretForAllNamespaces': ['list core/secrets', 'watch core/secrets'],
  'core.listNamespace': ['list core/namespaces', 'watch core/namespaces'],
  // Tried only at start when the operator namespace is missing (src/k8s/preflight.ts), for a user running the
  // operator with their own credentials; the shipped roles deliberately omit it (on 403 the operator says
  // `kubectl create namespace …`), so it needs no grant here.
  'core.createNamespace': [],
  'core.createNamespacedServiceAccountToken': ['create core/serviceaccounts/token'],
  'core.readNamespacedServiceAccount': ['get core/serviceaccounts'],
  'core.readNamespacedConfigMap': ['get core/configmaps'],
  'custom.listNamespacedCustomObject': ['list cr', 'watch cr'],
  'custom.listClusterCustomObject': ['list cr', 'watch cr'],
  'custom.patchNamespacedCustomObjectStatus': ['patch cr/status'],
  'custom.patchClusterCustomObjectStatus': ['patch cr/status'],
  // The lease finalizer of ExternalSecrets (src/k8s/finalizers.ts), VaultDynamicSecret reads (src/controller/services.ts, for the vault provider's generator) and Argo Rollouts (src/k8s/workloads.ts).
  'custom.getNamespacedCustomObject': ['get secret-relay.dev/externalsecrets', 'get secret-relay.dev/vaultdynamicsecrets', 'get argoproj.io/rollouts'],
  // Also server-side apply of the ExternalSecrets a ClusterExternalSecret creates: create when new.
  'custom.patchNamespacedCustomObject': ['patch secret-relay.dev/externalsecrets', 'create secret-relay.dev/externalsecrets', 'patch argoproj.io/rollouts'],
  'custom.deleteNamespacedCustomObject': ['delete secret-relay.dev/externalsecrets'],
  // Rollouts (src/k8s/workloads.ts): the workloads of a namespace whose Secret changed, and the pod-template patch.
  'apps.listNamespacedDeployment': ['list apps/deployments'],
  'apps.listNamespacedStatefulSet': ['list apps/statefulsets'],
  'apps.listNamespacedDaemonSet': ['list apps/daemonsets'],
  'apps.patchNamespacedDeployment': ['patch apps/deployments'],
  'apps.patchNamespacedStatefulSet': ['patch apps/statefulsets'],
  'apps.patchNamespacedDaemonSet': ['patch apps/daemonsets'],
  'coordination.readNamespacedLease': ['get coordination.k8s.io/leases'],
  'coordination.createNamespacedLease': ['create coordination.k8s.io/leases'],
  'coordination.replaceNamespacedLease': ['update coordination.k8s.io/leases'],
  'events.createNamespacedEvent': ['create events.k8s.io/events'],
  'events.patchNamespacedEvent': ['patch events.k8s.io/events'],
};

/** The source files the operator process runs: src/main.ts and everything it imports, transitively. */
function operatorSourceFiles(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // Static imports and re-exports, side-effect imports, and dynamic imports (main.ts loads the operator so; SDKs load so).
    const specifiers = [
      ...text.matchAll(/^(?:import|export)\s(?!type\s)[^;]*?from\s+'(\.[^']+\.ts)'/gm),
      ...text.matchAll(/^import\s+'(\.[^']+\.ts)'/gm),
      ...text.matchAll(/\bimport\(\s*'(\.[^']+\.ts)'\s*\)/g),
    ];
    for (const m of specifiers) visit(join(dirname(file), m[1]!));
  };
  visit(join(repoRoot, 'src/main.ts'));
  return [...seen];
}

test('every Kubernetes API method the operator calls (src/main.ts and its imports) has reviewed permissions, and the shipped roles grant them', () => {
  const calls = new Map<string, string>();
  for (const file of operatorSourceFiles()) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(core|custom|coordination|events|apiextensions|apps|rbac|authorization)\.([a-zA-Z]+)\(/g)) {
      const method = `${m[1]}.${m[2]}`;
      // events.record(...) is our EventRecorder, not the API client.
      if (method === 'events.record') continue;
      calls.set(method, relative(repoRoot, file));
    }
  }
  assert.ok(calls.size >= 10, `found only ${calls.size} API calls; has the client moved?`);
  const unreviewed = [...calls].filter(([method]) => !(method in PERMISSIONS_OF_METHOD));
  assert.deepEqual(unreviewed, [], 'API calls whose RBAC has not been reviewed (add them to PERMISSIONS_OF_METHOD, the chart and REVIEWED)');

  const granted = new Set(
    Object.values(REVIEWED)
      .flat()
      .map((g) => g.replace(/\[.*\]$/, '')),
  );
  const plurals = ['externalsecrets', 'secretstores', 'clustersecretstores', 'clusterexternalsecrets'];
  for (const [method] of calls) {
    for (const need of PERMISSIONS_OF_METHOD[method]!) {
      const expanded = need.includes(' cr') ? plurals.map((p) => need.replace(' cr', ` secret-relay.dev/${p}`)) : [need];
      for (const e of expanded) assert.ok(granted.has(e), `${method} needs ${e}, which no shipped role grants`);
    }
  }
});
