// An apiserver restart in the middle of a wave of ExternalSecrets heals without a human: the operator's client
// retries what never reached the restarting apiserver, its informers resume, and every Secret of the wave ends
// synced with Ready=True. A private control plane: restarting the shared one would disturb the next test file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../support/cluster.ts';
import { adminKube, createNamespace, createObject, decodeData, ensureNamespace, getObject, installCrds, Plural, readSecret, readyOf, startTestOperator, waitFor, type TestOperator } from '../support/operator.ts';
import type { TestKube } from '../support/kube.ts';

let cluster: LocalCluster;
let kube: TestKube;
let operator: TestOperator | undefined;

before(async () => {
  cluster = await startCluster();
  kube = adminKube(cluster.kubeconfigPath);
  await installCrds(kube);
  await ensureNamespace(kube, 'secret-relay-system');
}, { timeout: 30 * 60_000 });

after(async () => {
  await operator?.stop();
  await kube?.close();
  await cluster?.stop();
});

const WAVE = 30;

test('an apiserver restart mid-wave: every Secret of the wave ends synced and Ready', { timeout: 5 * 60_000 }, async () => {
  operator = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'] });
  const ns = await createNamespace(kube, 'restart-wave');
  await createObject(kube, Plural.SecretStore, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'SecretStore', metadata: { name: 'store' }, spec: { provider: { fake: { data: [{ key: 'k', value: 'wave' }] } } } }, ns);
  const create = (i: number) => createObject(kube, Plural.ExternalSecret, { apiVersion: 'secret-relay.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name: `es-${i}` }, spec: { secretStoreRef: { name: 'store' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } }, ns);
  for (let i = 0; i < WAVE / 2; i++) await create(i);
  await waitFor('the wave to start syncing', async () => decodeData(await readSecret(kube, ns, 'es-0'))?.['k'] === 'wave', 60_000);

  await cluster.restartApiserver();
  for (let i = WAVE / 2; i < WAVE; i++) await create(i);

  const pending = async () => {
    const left: string[] = [];
    for (let i = 0; i < WAVE; i++) {
      const synced = decodeData(await readSecret(kube, ns, `es-${i}`))?.['k'] === 'wave';
      const ready = readyOf(await getObject(kube, Plural.ExternalSecret, `es-${i}`, ns))?.status === 'True';
      if (!synced || !ready) left.push(`es-${i}`);
    }
    return left;
  };
  await waitFor('every Secret of the wave synced and Ready', async () => (await pending()).length === 0, 120_000);
  assert.deepEqual(await pending(), []);
});
