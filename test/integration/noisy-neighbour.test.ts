// One tenant cannot stall or starve the operator for everyone (issue 26), end to end: a hostile namespace
// (a PKCS#12 bundle asking for 0x7fffffff iterations, the gjson wildcard bomb, a template looping to its limits,
// many ExternalSecrets at a 1 s interval) beside a normal namespace. The hostile objects end Ready=False with the
// limit named, the normal namespace's rotations keep reaching their Secret, the leader keeps its Lease and the
// event loop stays responsive. Tests wait on conditions with deadlines; figures are printed, not asserted.
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import { adminKube, createObject, patchObject, Plural, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady, waitSecretData } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { EC_CHAIN_P12_BASE64 } from '../unit/templates/fixtures.ts';
import { gjsonBomb, LOOPING_TEMPLATE, pkcs12Bomb } from '../support/hostile-inputs.ts';

let cluster: LocalCluster;
let kube: TestKube;
let op: TestOperator;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('iso');
const LEASE = 'iso-leader';

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  // Leader election on (4 s lease, 3 s renew deadline): a blocked event loop would lose the Lease.
  op = await startTestOperator({
    kubeconfigPath: cluster.kubeconfigPath,
    args: ['--leader-elect=true', `--lease-name=${LEASE}`, '--concurrency=4', '--sandbox-timeout=2s', '--queue-qps=1000', '--queue-burst=1000'],
  });
  await waitFor('the operator leads', async () => (await leaseHolder()) === op.config.identity, 30_000);
});

after(async () => {
  await stopTestOperator(op, 'tenant-isolation');
  await kube?.close();
  await cluster?.stop();
});

async function leaseHolder(): Promise<string | undefined> {
  try {
    return (await kube.coordination.readNamespacedLease({ namespace: 'secret-relay-system', name: LEASE })).spec?.holderIdentity;
  } catch {
    return undefined;
  }
}

type Entry = { key: string; value: string };

async function fakeStore(ns: string, data: Entry[]): Promise<void> {
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data } } } }, ns);
}

function es(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name: 'store' }, ...spec } };
}

test('a hostile namespace gets Ready=False naming each limit, while a normal namespace keeps rotating and the leader keeps its Lease', async () => {
  const hostile = await namespaces.create(kube);
  const normal = await namespaces.create(kube);
  const bomb = gjsonBomb(20, 6000);
  const p12 = Buffer.from(pkcs12Bomb(new Uint8Array(Buffer.from(EC_CHAIN_P12_BASE64, 'base64')))).toString('base64');
  await fakeStore(hostile, [
    { key: 'keystore', value: JSON.stringify({ p12, password: 'p12-pass' }) },
    { key: 'wide', value: bomb.json },
    { key: 'plain', value: 'x' },
  ]);
  let password = secrets.next('pw');
  await fakeStore(normal, [{ key: 'db', value: JSON.stringify({ user: 'app', password }) }]);

  // Measure the operator's (this process's) event loop and watch the Lease from now on.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const holders = new Set<string | undefined>();
  const probeMs: number[] = [];
  const probeStatus = new Set<number>();
  let notLeading = 0;
  let watching = true;
  const leaseWatch = (async () => {
    while (watching) {
      holders.add(await leaseHolder());
      if (!op.operator.isLeader()) notLeading++;
      // The probes a kubelet would send, answered by the operator's own server.
      for (const probe of ['/healthz', '/readyz']) {
        const started = performance.now();
        const response = await fetch(`http://127.0.0.1:${op.operator.metricsPort}${probe}`);
        await response.text();
        probeMs.push(performance.now() - started);
        probeStatus.add(response.status);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();

  try {
    await createObject(kube, Plural.ExternalSecret, es('p12-bomb', {
      refreshInterval: '1s',
      dataFrom: [{ extract: { key: 'keystore' } }],
      target: { template: { type: 'kubernetes.io/tls', data: { 'tls.key': '{{ p12 | base64_decode | pkcs12_private_key: password }}', 'tls.crt': '{{ p12 | base64_decode | pkcs12_certificates: password }}' } } },
    }), hostile);
    await createObject(kube, Plural.ExternalSecret, es('gjson-bomb', { refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key: 'wide', property: bomb.property } }] }), hostile);
    await createObject(kube, Plural.ExternalSecret, es('loop', { refreshInterval: '1s', data: [{ secretKey: 'plain', remoteRef: { key: 'plain' } }], target: { template: { data: { v: LOOPING_TEMPLATE } } } }), hostile);
    // Many short-interval ExternalSecrets: the queue serves the normal namespace in turn anyway.
    await Promise.all(Array.from({ length: 100 }, (_, i) =>
      createObject(kube, Plural.ExternalSecret, es(`spam-${i}`, { refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key: 'plain' } }] }), hostile)));

    await createObject(kube, Plural.ExternalSecret, es('db', {
      refreshInterval: '5s',
      data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }],
      target: { template: { data: { password: '{{ password }}', user: '{{ password | size }}' } } },
    }), normal);
    await waitSecretData(kube, normal, 'db', { password, user: String(password.length) }, 30_000);

    // What the hostile tenant sees: each object names the limit it hit, never a value.
    await waitReady(kube, { namespace: hostile, name: 'p12-bomb', status: 'False', message: /more than 200000 key-derivation iterations \(the documented cap\)/ }, 60_000);
    await waitReady(kube, { namespace: hostile, name: 'gjson-bomb', status: 'False', message: /was stopped at its 2 s time limit \(--sandbox-timeout\)/ }, 60_000);
    await waitReady(kube, { namespace: hostile, name: 'loop', status: 'False', message: /limit exceeded/ }, 60_000);

    // Rotations in the normal namespace reach its Secret within refreshInterval + 5 s, three times over, while
    // the hostile objects keep retrying.
    for (let round = 0; round < 3; round++) {
      password = secrets.next('pw');
      const rotated = Date.now();
      await patchObject(kube, Plural.SecretStore, 'store', { spec: { provider: { fake: { data: [{ key: 'db', value: JSON.stringify({ user: 'app', password }) }] } } } }, normal);
      await waitSecretData(kube, normal, 'db', { password, user: String(password.length) }, 5_000 + 5_000);
      console.log(`# rotation ${round + 1} reached the normal namespace's Secret after ${Date.now() - rotated} ms`);
    }
  } finally {
    watching = false;
    await leaseWatch;
    delay.disable();
  }
  console.log(`# event-loop delay during the attack: max ${(delay.max / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms`);
  console.log(`# /healthz and /readyz during the attack: ${probeMs.length} probes, slowest ${Math.max(...probeMs).toFixed(0)} ms`);
  assert.deepEqual([...holders], [op.config.identity], 'the leader never lost its Lease');
  assert.equal(notLeading, 0, 'the operator never stopped leading');
  assert.deepEqual([...probeStatus], [200], 'every probe answered 200');
  assert.ok(delay.max / 1e6 < 1_000, `the event loop was blocked for ${(delay.max / 1e6).toFixed(0)} ms`);

  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], kube, namespaces: namespaces.names, values: secrets });
});
