// The local control plane (test/support/cluster.ts) behaves like a real cluster
// in the ways secret-relay depends on.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { repoRoot, startCluster, type LocalCluster } from '../support/cluster.ts';

const execFileP = promisify(execFile);

let cluster: LocalCluster;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

before(async () => {
  cluster = await startCluster();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
}, { timeout: 30 * 60_000 }); // includes a cold Go build on a fresh machine

after(async () => {
  await cluster?.stop();
});

/** Polls until fn returns a truthy value; fails with the last error after the deadline. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let interval = 25; ; interval = Math.min(interval * 2, 500)) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    await new Promise((r) => setTimeout(r, interval));
  }
}

async function freshNamespace(): Promise<string> {
  const ns = await core.createNamespace({ body: { metadata: { generateName: 'cluster-test-' } } });
  return ns.metadata!.name!;
}

const statusOf = (err: unknown) => (err instanceof k8s.ApiException ? err.code : undefined);

test('starts, and serves a CustomResourceDefinition created through the API', async () => {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const group = 'clustertest.secret-relay.dev';
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [{
          name: 'v1', served: true, storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
        }],
      },
    },
  });
  await eventually('the CRD to be Established', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
  const namespace = await freshNamespace();
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const ref = { group, version: 'v1', namespace, plural: 'widgets' };
  // Established can precede discovery by a moment; retry the create until the resource is served.
  await eventually('a Widget to be created', () => custom.createNamespacedCustomObject({
    ...ref, body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
  }));
  const got = await custom.getNamespacedCustomObject({ ...ref, name: 'w1' }) as { spec: { size: number } };
  assert.equal(got.spec.size, 3);
});

test('garbage-collects a Secret whose owner is deleted', async () => {
  const namespace = await freshNamespace();
  const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: {
        name: 'owned',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
      },
      stringData: { k: 'v' },
    },
  });
  await core.deleteNamespacedConfigMap({ namespace, name: 'owner' });
  await eventually('the owned Secret to be garbage-collected', async () => {
    try {
      await core.readNamespacedSecret({ namespace, name: 'owned' });
      return false;
    } catch (err) {
      if (statusOf(err) === 404) return true;
      throw err;
    }
  }, 60_000);
});

test('TokenRequest returns a token that verifies against the JWKS and names the ServiceAccount and audience', async () => {
  const namespace = await freshNamespace();
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'robot' } } });
  const audience = 'https://sts.example.test';
  const tr = await core.createNamespacedServiceAccountToken({
    namespace, name: 'robot', body: { spec: { audiences: [audience], expirationSeconds: 600 } },
  });
  const token = tr.status?.token ?? assert.fail('TokenRequest returned no token');
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; kid: string };
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { sub: string; aud: string[]; iss: string };
  assert.equal(header.alg, 'RS256');

  const jwks = JSON.parse(await adminGet('/openid/v1/jwks')) as { keys: (JsonWebKey & { kid: string })[] };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `no key with kid ${header.kid} in the JWKS`);
  const ok = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
  assert.ok(ok, 'token signature does not verify against the JWKS');

  assert.equal(claims.sub, `system:serviceaccount:${namespace}:robot`);
  assert.deepEqual(claims.aud, [audience]);
  assert.equal(claims.iss, 'https://kubernetes.default.svc.cluster.local');
});

test('a ServiceAccount may read Secrets only once a Role binds it', async () => {
  const namespace = await freshNamespace();
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
  const tr = await core.createNamespacedServiceAccountToken({ namespace, name: 'reader', body: { spec: {} } });
  const saKc = new k8s.KubeConfig();
  saKc.loadFromOptions({
    clusters: [{ name: 'local', server: cluster.server, caData: Buffer.from(cluster.caPem).toString('base64') }],
    users: [{ name: 'reader', token: tr.status!.token }],
    contexts: [{ name: 'local', cluster: 'local', user: 'reader' }],
    currentContext: 'local',
  });
  const asReader = saKc.makeApiClient(k8s.CoreV1Api);

  await assert.rejects(asReader.listNamespacedSecret({ namespace }), (err) => statusOf(err) === 403);

  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: 'secret-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'secret-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
    },
  });
  await eventually('the RoleBinding to take effect', async () => {
    try {
      return await asReader.listNamespacedSecret({ namespace });
    } catch (err) {
      if (statusOf(err) === 403) return false;
      throw err;
    }
  });
});

test('cluster:up twice, then cluster:down, leaves no process and no state dir behind', async () => {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'secret-relay-cli-test-'));
  const stateDir = path.join(parent, 'state');
  const cli = (cmd: string) => execFileP(process.execPath, [path.join(repoRoot, 'test/cluster/cli.ts'), cmd], {
    cwd: repoRoot, env: { ...process.env, SECRET_RELAY_CLUSTER_STATE: stateDir },
  });
  try {
    const first = await cli('up');
    assert.match(first.stdout, new RegExp(`^export KUBECONFIG=${stateDir}/\\S+\\n$`));
    const pids = Object.values((JSON.parse(readFileSync(path.join(stateDir, 'cluster.json'), 'utf8')) as { pids: Record<string, number> }).pids);
    assert.equal(pids.length, 3);
    assert.ok(pids.every(alive));

    const second = await cli('up');
    assert.equal(second.stdout, first.stdout);
    assert.match(second.stderr, /already running/);

    await cli('down');
    assert.ok(!existsSync(stateDir), 'state dir still exists');
    assert.deepEqual(pids.filter(alive), [], 'processes still running');
    await cli('down'); // idempotent
  } finally {
    await cli('down').catch(() => {});
    await rm(parent, { recursive: true, force: true });
  }
});

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** GET with the admin credential, for endpoints the typed client does not model well. */
async function adminGet(p: string): Promise<string> {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    https.get(`${cluster.server}${p}`, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${p}: ${res.statusCode} ${body}`))));
    }).on('error', reject);
  });
}
