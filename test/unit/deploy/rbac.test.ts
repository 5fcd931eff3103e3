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
    'list secret-relay.dev/clusterpushsecrets',
    'list secret-relay.dev/clustersecretstores',
    'patch secret-relay.dev/clusterexternalsecrets/status',
    'patch secret-relay.dev/clusterpushsecrets/status',
    'patch secret-relay.dev/clustersecretstores/status',
    'update secret-relay.dev/clusterexternalsecrets/finalizers',
    'update secret-relay.dev/clusterpushsecrets/finalizers',
    'watch core/namespaces',
    'watch secret-relay.dev/clusterexternalsecrets',
    'watch secret-relay.dev/clusterpushsecrets',
    'watch secret-relay.dev/clustersecretstores',
  ],
  // Per watched namespace (bound cluster-wide by default).
  'ClusterRole secret-relay-namespaced': [
    'create core/secrets',
    'create core/serviceaccounts/token',
    'create events.k8s.io/events',
    'create secret-relay.dev/externalsecrets',
    'create secret-relay.dev/pushsecrets',
    'delete core/secrets',
    'delete secret-relay.dev/externalsecrets',
    'delete secret-relay.dev/pushsecrets',
    'get argoproj.io/rollouts',
    'get core/configmaps',
    'get core/secrets',
    'get core/serviceaccounts',
    'get secret-relay.dev/externalsecrets',
    'get secret-relay.dev/passwords',
    'get secret-relay.dev/pushsecrets',
    'get secret-relay.dev/sshkeys',
    'get secret-relay.dev/uuids',
    'get secret-relay.dev/vaultdynamicsecrets',
    'list apps/daemonsets',
    'list apps/deployments',
    'list apps/statefulsets',
    'list core/secrets',
    'list secret-relay.dev/externalsecrets',
    'list secret-relay.dev/pushsecrets',
    'list secret-relay.dev/secretstores',
    'patch apps/daemonsets',
    'patch apps/deployments',
    'patch apps/statefulsets',
    'patch argoproj.io/rollouts',
    'patch core/secrets',
    'patch events.k8s.io/events',
    'patch secret-relay.dev/externalsecrets',
    'patch secret-relay.dev/externalsecrets/status',
    'patch secret-relay.dev/pushsecrets',
    'patch secret-relay.dev/pushsecrets/status',
    'patch secret-relay.dev/secretstores/status',
    'update secret-relay.dev/externalsecrets/finalizers',
    'update secret-relay.dev/pushsecrets/finalizers',
    'watch core/secrets',
    'watch secret-relay.dev/externalsecrets',
    'watch secret-relay.dev/pushsecrets',
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
 * The permissions each Kubernetes API call site in src/ needs, keyed by file, request helper (src/k8s/resources.ts)
 * and the start of the resource it addresses. A call site missing here fails the next test: decide which
 * permission it needs, add it here, to the chart (deploy/helm/secret-relay/templates/) and to REVIEWED.
 * `cr` stands for each of our watched kinds (the informers and status writer are generic over them).
 */
const PERMISSIONS_OF_CALL: Readonly<Record<string, readonly Grant[]>> = {
  // Secrets the ExternalSecrets write: server-side apply (creates when absent), the adoption merge patch, deletes, direct reads.
  "src/k8s/secrets.ts patchObject secret(": ['patch core/secrets', 'create core/secrets'],
  "src/k8s/secrets.ts deleteObject secret(": ['delete core/secrets'],
  "src/k8s/secrets.ts getObject secret(": ['get core/secrets'],
  // PushSecret spec.selector.secret.selector: the Secrets of its namespace chosen by label (one page).
  "src/k8s/secret-lists.ts listObjects core('secrets'": ['list core/secrets'],
  // The drift-detection HMAC key in the operator namespace.
  "src/k8s/hmac-key.ts getObject core('secrets'": ['get core/secrets'],
  "src/k8s/hmac-key.ts createObject core('secrets'": ['create core/secrets'],
  // Every informer (src/k8s/informer.ts): a list, then a watch, of ExternalSecrets, stores, managed Secrets, Namespaces.
  "src/k8s/informer.ts listObjects { ...kind": ['list cr', 'watch cr', 'list core/secrets', 'watch core/secrets', 'list core/namespaces', 'watch core/namespaces'],
  "src/k8s/informer.ts listAllPages { ...kind": ['list cr', 'list core/secrets', 'list core/namespaces'], // the same lists, in pages of 500
  "src/k8s/preflight.ts listObjects core('namespaces'": ['list core/namespaces'],
  // Tried only at start when the operator namespace is missing (src/k8s/preflight.ts), for a user running the
  // operator with their own credentials; the shipped roles deliberately omit it (on 403 the operator says
  // `kubectl create namespace …`), so it needs no grant here.
  "src/k8s/preflight.ts createObject core('namespaces'": [],
  // What a store's authentication reads (src/k8s/store-access.ts), and TokenRequest for workload identity.
  "src/k8s/store-access.ts getObject core('secrets'": ['get core/secrets'],
  "src/k8s/store-access.ts getObject core('configmaps'": ['get core/configmaps'],
  "src/k8s/store-access.ts getObject core('serviceaccounts'": ['get core/serviceaccounts'],
  "src/k8s/store-access.ts createObject core('serviceaccounts'": ['create core/serviceaccounts/token'],
  // templateFrom ConfigMaps; VaultDynamicSecret reads for the vault provider's generator (src/controller/services.ts).
  "src/k8s/reads.ts readOrUndefined core('configmaps'": ['get core/configmaps'],
  "src/k8s/reads.ts getObject at": [], // readOrUndefined's own request: its callers are listed
  "src/k8s/reads.ts readOrUndefined at": [], // readCustomObject's: its callers are listed
  "src/controller/services.ts readCustomObject kube": [], // the GeneratorHost's reader: its callers are listed
  "src/providers/vault/provider.ts readCustomObject Plural.VaultDynamicSecret": ['get secret-relay.dev/vaultdynamicsecrets'],
  "src/k8s/status.ts patchObject { ...ref": ['patch cr/status'],
  // The local generators' objects (Password, SSHKey, UUID), read when a value is generated.
  "src/controller/generators/local.ts readCustomObject kube": ['get secret-relay.dev/passwords', 'get secret-relay.dev/sshkeys', 'get secret-relay.dev/uuids'],
  // The lease finalizer of ExternalSecrets and the cleanup finalizer of PushSecrets (src/k8s/finalizers.ts).
  "src/k8s/finalizers.ts getObject { ...resource": ['get secret-relay.dev/externalsecrets', 'get secret-relay.dev/pushsecrets'],
  "src/k8s/finalizers.ts patchObject { ...resource": ['patch secret-relay.dev/externalsecrets', 'patch secret-relay.dev/pushsecrets'],
  // Server-side apply of the ExternalSecrets a ClusterExternalSecret creates (create when new), and their deletes.
  "src/k8s/external-secret-writer.ts patchObject { ...where": ['patch secret-relay.dev/externalsecrets', 'create secret-relay.dev/externalsecrets', 'patch secret-relay.dev/pushsecrets', 'create secret-relay.dev/pushsecrets'],
  "src/k8s/external-secret-writer.ts deleteObject { ...where": ['delete secret-relay.dev/externalsecrets', 'delete secret-relay.dev/pushsecrets'],
  // Rollouts (src/k8s/workloads.ts): the workloads of a namespace whose Secret changed, and the pod-template patch.
  "src/k8s/workloads.ts listObjects workload(": ['list apps/deployments', 'list apps/statefulsets', 'list apps/daemonsets'],
  "src/k8s/workloads.ts getObject workload('argo.Rollout'": ['get argoproj.io/rollouts'],
  "src/k8s/workloads.ts patchObject workload(": ['patch apps/deployments', 'patch apps/statefulsets', 'patch apps/daemonsets', 'patch argoproj.io/rollouts'],
  "src/k8s/leases.ts getObject leases(": ['get coordination.k8s.io/leases'],
  "src/k8s/leases.ts createObject leases(": ['create coordination.k8s.io/leases'],
  "src/k8s/leases.ts replaceObject leases(": ['update coordination.k8s.io/leases'],
  "src/k8s/events.ts createObject options.kube.events": ['create events.k8s.io/events'],
  "src/k8s/events.ts patchObject options.kube.events": ['patch events.k8s.io/events'],
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

/**
 * A call of a request helper (or of a src/k8s reader that takes a location itself): `getObject<T>(kube, core('secrets', …`
 * is keyed `<file> getObject core('secrets'`; `patchObject(kube, { ...ref, …` is `<file> patchObject { ...ref`.
 * Definitions (`function getObject(`) are not calls.
 */
const CALL = /(?<!function )\b(getObject|listObjects|listAllPages|createObject|replaceObject|patchObject|deleteObject|readOrUndefined|readCustomObject)(?:<[^(]*?>)?\(\s*([\w.]+),\s*(\w+\('[^']*'|\w+\(|\{ \.\.\.\w+|\w+)?/g;

test('every Kubernetes API call the operator makes (src/main.ts and its imports) has reviewed permissions, and the shipped roles grant them', () => {
  const calls = new Map<string, string>();
  for (const file of operatorSourceFiles()) {
    const text = readFileSync(file, 'utf8');
    const where = relative(repoRoot, file);
    if (where === 'src/k8s/resources.ts' || where === 'src/k8s/kube-client.ts') continue; // the helpers and the transport themselves
    for (const m of text.matchAll(CALL)) {
      const target = m[1] === 'readCustomObject' || m[2]!.endsWith('.events') || m[3] === undefined ? m[2]! : m[3];
      calls.set(`${where} ${m[1]} ${target}`, where);
    }
    // A raw request outside the helpers would escape this review: there must be none.
    if (/^src\/(k8s|controller)\/|^src\/operator\.ts$/.test(where)) {
      assert.doesNotMatch(text, /\.request(<[^(]*>)?\(\{/, `${where} sends a raw Kubernetes request: use the helpers of src/k8s/resources.ts so its permission is reviewed here`);
    }
  }
  assert.ok(calls.size >= 20, `found only ${calls.size} API calls; has the client moved?`);
  const unreviewed = [...calls.keys()].filter((call) => !(call in PERMISSIONS_OF_CALL));
  assert.deepEqual(unreviewed, [], 'API calls whose RBAC has not been reviewed (add them to PERMISSIONS_OF_CALL, the chart and REVIEWED)');
  const stale = Object.keys(PERMISSIONS_OF_CALL).filter((call) => !calls.has(call));
  assert.deepEqual(stale, [], 'reviewed calls no longer found in the source (moved or renamed: update PERMISSIONS_OF_CALL)');

  const granted = new Set(
    Object.values(REVIEWED)
      .flat()
      .map((g) => g.replace(/\[.*\]$/, '')),
  );
  const plurals = ['externalsecrets', 'secretstores', 'clustersecretstores', 'clusterexternalsecrets', 'pushsecrets', 'clusterpushsecrets'];
  for (const [method] of calls) {
    for (const need of PERMISSIONS_OF_CALL[method]!) {
      const expanded = need.includes(' cr') ? plurals.map((p) => need.replace(' cr', ` secret-relay.dev/${p}`)) : [need];
      for (const e of expanded) assert.ok(granted.has(e), `${method} needs ${e}, which no shipped role grants`);
    }
  }
});
