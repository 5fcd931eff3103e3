// Running whole operators in-process against the local control plane, with every log line, audit record
// and Event kept so tests can assert on them and scan them for leaked values.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { createKubeClient } from '../../src/k8s/kube-client.ts';
import { createLogger } from '../../src/log.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { systemClock } from '../../src/util/clock.ts';
import { startOperator, type RunningOperator } from '../../src/operator.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { createFakeProvider, type FakeProviderHooks } from '../../src/providers/fake/provider.ts';
import { API_GROUP, API_VERSION, Plural } from '../../src/api/index.ts';
import { repoRoot } from './cluster.ts';
import { createTestKube, type TestKube } from './kube.ts';

export { API_GROUP, API_VERSION, Plural };

/** Polls until `probe` returns something other than undefined/false, or fails naming what it waited for. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Installs (or updates) the generated CRDs and waits until each is Established. */
export async function installCrds(kube: TestKube): Promise<void> {
  const dir = join(repoRoot, 'crds');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    // loadYaml, not a plain parse: the typed model would drop default/enum/x-kubernetes-validations.
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(dir, file), 'utf8'));
    const name = crd.metadata!.name!;
    try {
      await kube.apiextensions.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if (!(err instanceof k8s.ApiException) || err.code !== 409) throw err;
      const current = await kube.apiextensions.readCustomResourceDefinition({ name });
      crd.metadata!.resourceVersion = current.metadata!.resourceVersion!;
      await kube.apiextensions.replaceCustomResourceDefinition({ name, body: crd });
    }
    await waitFor(`CRD ${name} Established`, async () => {
      const current = await kube.apiextensions.readCustomResourceDefinition({ name });
      return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
}

export async function createNamespace(kube: TestKube, prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kube.core.createNamespace({ body: { metadata: { name, labels } } });
  return name;
}

/** Collects written lines (JSON logs, audit records) in memory. */
export class LineSink extends Writable {
  readonly lines: string[] = [];
  #partial = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = this.#partial + chunk.toString();
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    this.lines.push(...parts.filter((l) => l.length > 0));
    done();
  }
  text(): string {
    return this.lines.join('\n') + this.#partial;
  }
  /** Keeps the lines under .cache/test-logs/ for reading after a failed run. */
  saveTo(name: string): void {
    const dir = join(repoRoot, '.cache', 'test-logs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.log`), this.text());
  }
}

export interface TestOperator {
  readonly operator: RunningOperator;
  readonly logs: LineSink;
  readonly audit: LineSink;
  readonly config: Config;
  stop(): Promise<void>;
}

export interface TestOperatorOptions {
  readonly kubeconfigPath: string;
  /** Extra flags, e.g. ['--leader-elect=false']. */
  readonly args?: readonly string[];
  readonly fakeHooks?: FakeProviderHooks;
  readonly providers?: readonly Provider[];
  /** Use this bearer token instead of the admin credential (least-privilege tests). */
  readonly bearerToken?: string;
  readonly namespace?: string;
}

export async function startTestOperator(options: TestOperatorOptions): Promise<TestOperator> {
  const logs = new LineSink();
  const audit = new LineSink();
  const config = loadConfig(
    [
      `--kubeconfig=${options.kubeconfigPath}`,
      '--metrics-port=0',
      '--metrics-host=127.0.0.1',
      `--namespace=${options.namespace ?? 'secret-relay-system'}`,
      '--log-level=debug',
      '--lease-duration=4s',
      '--lease-renew-deadline=3s',
      '--lease-retry-period=500ms',
      // The test beds (moto, the fakes, OpenBao) listen on loopback: SecretStores of the tests name them as endpoints,
      // as a user of `npm run testbed` does with the same flag. Tests of the rule itself pass their own value.
      '--trusted-endpoint-hosts=127.0.0.1,localhost',
      ...(options.args ?? []),
    ],
    {},
  );
  const logger = createLogger({ level: config.logLevel, destination: logs });
  // The operator's own client, as main.ts builds it (the tests' client-node one, test/support/kube.ts, is for their own reads and writes).
  const kube = createKubeClient({ kubeconfigPath: options.kubeconfigPath, bearerToken: options.bearerToken });
  const operator = await startOperator({
    config,
    kube,
    logger,
    clock: systemClock,
    providers: options.providers ?? [createFakeProvider(options.fakeHooks)],
    auditStdout: audit,
  });
  return {
    operator,
    logs,
    audit,
    config,
    stop: async () => {
      await operator.stop();
      await kube.close();
    },
  };
}

export async function ensureNamespace(kube: TestKube, name: string): Promise<void> {
  try {
    await kube.core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!(err instanceof k8s.ApiException) || err.code !== 409) throw err;
  }
}

/** The tests' own client (client-node) with the admin credential of the kubeconfig. */
export function adminKube(kubeconfigPath: string): TestKube {
  return createTestKube({ kubeconfigPath });
}

type Obj = Record<string, unknown>;

/** Creates a custom object of ours (namespaced when namespace is given). */
export async function createObject(kube: TestKube, plural: string, body: Obj, namespace?: string): Promise<Obj> {
  if (namespace) {
    return (await kube.custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural, body })) as Obj;
  }
  return (await kube.custom.createClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, body })) as Obj;
}

export async function getObject(kube: TestKube, plural: string, name: string, namespace?: string): Promise<Obj | undefined> {
  try {
    if (namespace) return (await kube.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural, name })) as Obj;
    return (await kube.custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, name })) as Obj;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

export async function patchObject(kube: TestKube, plural: string, name: string, patch: Obj, namespace?: string): Promise<void> {
  const options = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  if (namespace) {
    await kube.custom.patchNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural, name, body: patch }, options);
  } else {
    await kube.custom.patchClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, name, body: patch }, options);
  }
}

export async function deleteObject(kube: TestKube, plural: string, name: string, namespace?: string): Promise<void> {
  if (namespace) await kube.custom.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural, name });
  else await kube.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, name });
}

export async function readSecret(kube: TestKube, namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
  try {
    return await kube.core.readNamespacedSecret({ namespace, name });
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

export function decodeData(secret: k8s.V1Secret | undefined): Record<string, string> | undefined {
  if (!secret) return undefined;
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

export interface ReadyCondition {
  status: string;
  reason: string;
  message: string;
}

export function readyOf(obj: Obj | undefined): ReadyCondition | undefined {
  const conditions = (obj?.['status'] as { conditions?: { type: string; status: string; reason: string; message: string }[] } | undefined)?.conditions;
  return conditions?.find((c) => c.type === 'Ready');
}

export async function mergePatchSecret(kube: TestKube, namespace: string, name: string, patch: Obj): Promise<void> {
  await kube.core.patchNamespacedSecret({ namespace, name, body: patch }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
}

/** Events about objects in a namespace, as `reason: note` lines (for assertions and leak scans). */
export async function eventNotes(kube: TestKube, namespace?: string): Promise<string[]> {
  const list = namespace ? await kube.events.listNamespacedEvent({ namespace }) : await kube.events.listEventForAllNamespaces({});
  return list.items.map((e) => `${e.type} ${e.reason}: ${e.note}`);
}
