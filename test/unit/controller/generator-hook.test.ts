// Providers contribute generator kinds through Provider.generators: the operator's services collect them with
// no provider named in the wiring, hand them what they need (custom object reads, store resolution, kube
// access), close them at stop, and refuse two providers serving one kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createControllerServices } from '../../../src/controller/services.ts';
import type { Caches } from '../../../src/controller/runtime/manager.ts';
import type { KindDescriptor, KubernetesObject, SupervisedInformer } from '../../../src/k8s/informer.ts';
import { KubeApiError, type KubeClient, type KubeRequest } from '../../../src/k8s/kube-client.ts';
import { API_GROUP, API_VERSION } from '../../../src/api/index.ts';
import type { Generator } from '../../../src/providers/generator.ts';
import type { GeneratorHost, Provider } from '../../../src/providers/provider.ts';
import { createVaultProvider } from '../../../src/providers/vault/provider.ts';
import { createFakeProvider } from '../../../src/providers/fake/provider.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { createLogger } from '../../../src/log.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { LineSink } from '../../support/operator.ts';

const emptyCaches: Caches = {
  informer: <T extends KubernetesObject>(_kind: KindDescriptor<T>) =>
    ({ get: () => undefined, list: () => [], on() {}, off() {}, hasSynced: () => true, start: async () => {}, stop: async () => {}, restarts: () => 0 }) as unknown as SupervisedInformer<T>,
  queue: () => ({ add() {}, retries: () => 0 }),
};

/** The custom objects the host reads, by plural/namespace/name: GETs of our group's namespaced objects. */
function kubeWith(objects: Record<string, unknown>) {
  const reads: string[] = [];
  const prefix = `/apis/${API_GROUP}/${API_VERSION}/namespaces/`;
  const kube: Pick<KubeClient, 'request'> = {
    async request<T>(req: KubeRequest): Promise<T> {
      const [namespace, plural, name, ...rest] = req.path.startsWith(prefix) ? req.path.slice(prefix.length).split('/').map(decodeURIComponent) : [];
      if (req.method !== 'GET' || name === undefined || rest.length > 0) throw new Error(`unexpected request ${req.method} ${req.path}`);
      reads.push(`${plural}/${namespace}/${name}`);
      const found = objects[`${plural}/${namespace}/${name}`];
      if (found === undefined) throw new KubeApiError(404, { kind: 'Status', code: 404, reason: 'NotFound', message: `${plural} "${name}" not found` });
      return found as T;
    },
  };
  return { kube, reads };
}

function services(providers: readonly Provider[], kube: unknown = {}) {
  return createControllerServices({
    kube: kube as never,
    caches: emptyCaches,
    clock: systemClock,
    logger: createLogger({ level: 'info', destination: new LineSink() }),
    metrics: createMetrics(new Registry()),
    audit: { record() {}, close: async () => {} },
    hmacKey: new Uint8Array(32),
    providers,
    operatorNamespace: 'secret-relay-system',
    identity: 'test',
  });
}

function generatorProvider(name: 'fake' | 'aws', onHost: (host: GeneratorHost) => void, closed: string[]): Provider {
  const generator: Generator = {
    settings: async () => ({ renewAtPercent: 50, rotateBeforeMs: 1000 }),
    generate: async () => ({ data: new Map() }),
    renew: async () => ({ leaseDurationSeconds: 1, renewable: true }),
    revoke: async () => {},
    close: async () => void closed.push(name),
  };
  return {
    ...createFakeProvider(),
    name,
    generators(host) {
      onHost(host);
      return { VaultDynamicSecret: generator };
    },
  };
}

test('the vault provider declares the VaultDynamicSecret generator itself', () => {
  const built = services([createFakeProvider(), createVaultProvider()]);
  assert.deepEqual(Object.keys(built.generators), ['VaultDynamicSecret']);
  assert.deepEqual(Object.keys(services([createFakeProvider()]).generators), [], 'no provider serving it: no generator');
});

test("a provider's generators get the host's reads and store resolution, and are closed at stop", async () => {
  let host: GeneratorHost | undefined;
  const closed: string[] = [];
  const { kube, reads } = kubeWith({ 'vaultdynamicsecrets/team/db': { kind: 'VaultDynamicSecret' } });
  const built = services([generatorProvider('fake', (h) => (host = h), closed)], kube);
  assert.ok(built.generators.VaultDynamicSecret);
  assert.deepEqual(await host!.readCustomObject('vaultdynamicsecrets', 'team', 'db', new AbortController().signal), { kind: 'VaultDynamicSecret' });
  assert.equal(await host!.readCustomObject('vaultdynamicsecrets', 'team', 'absent', new AbortController().signal), undefined, 'a 404 is absence');
  assert.deepEqual(reads, ['vaultdynamicsecrets/team/db', 'vaultdynamicsecrets/team/absent']);
  const resolution = host!.resolveStore('team', { kind: 'SecretStore', name: 'missing' });
  assert.deepEqual(resolution, { ok: false, message: 'SecretStore team/missing does not exist' });
  await built.close();
  assert.deepEqual(closed, ['fake']);
});

test('two providers serving one generator kind is a wiring error', () => {
  assert.throws(() => services([generatorProvider('fake', () => {}, []), generatorProvider('aws', () => {}, [])]), /VaultDynamicSecret is served by two providers/);
});
