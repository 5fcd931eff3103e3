// What every integration file does the same way: remember the secret values it uses and its namespaces, wait
// for a Secret's data or an object's Ready condition, and at the end search everything the operator wrote
// (log lines, audit records, Events, statuses of our objects) for any of those values.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { TestKube } from './kube.ts';
import {
  API_GROUP,
  API_VERSION,
  createNamespace,
  decodeData,
  eventNotes,
  getObject,
  Plural,
  readSecret,
  readyOf,
  waitFor,
  type LineSink,
  type ReadyCondition,
  type TestOperator,
} from './operator.ts';

/** The secret values a test file used, to be searched for in everything the operator wrote. */
export class SecretValues {
  readonly values = new Set<string>();

  /** A fresh value no log line could contain by chance, remembered. */
  next(label = 'v'): string {
    return this.add(`${label}-${randomBytes(8).toString('hex')}`);
  }

  /** Remembers a value made elsewhere (a token, a password issued by a server). */
  add(value: string): string {
    this.values.add(value);
    return value;
  }
}

/** The namespaces a test file created, whose objects' statuses the leak scan reads. */
export class TestNamespaces {
  readonly names: string[] = [];
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  async create(kube: TestKube, labels: Record<string, string> = {}): Promise<string> {
    const name = await createNamespace(kube, this.#prefix, labels);
    this.names.push(name);
    return name;
  }

  /**
   * Deletes every namespace created here and waits until they are gone, so that the suites after this one start
   * their operator on a cluster without this suite's stores (pointing at servers this suite has stopped).
   */
  async deleteAll(kube: TestKube, timeoutMs = 120_000): Promise<void> {
    await Promise.all(this.names.map(async (name) => {
      try {
        await kube.core.deleteNamespace({ name });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }));
    const gone = async (name: string) => {
      try {
        await kube.core.readNamespace({ name });
        return false;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return true;
        throw err;
      }
    };
    const deadline = Date.now() + timeoutMs;
    for (const name of this.names) {
      while (!(await gone(name))) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for namespace ${name} to be deleted`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }
}

/** Saves an operator's log lines under .cache/test-logs/<name>.log, then stops it. */
export async function stopTestOperator(op: TestOperator | undefined, logName: string): Promise<void> {
  if (!op) return;
  op.logs.saveTo(logName);
  await op.stop();
}

/** Waits until the Secret exists and its decoded data passes `check`; returns the Secret. */
export async function waitSecret(
  kube: TestKube,
  namespace: string,
  name: string,
  check: (data: Record<string, string>) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<k8s.V1Secret> {
  return waitFor(`Secret ${namespace}/${name}: ${what}`, async () => {
    const secret = await readSecret(kube, namespace, name);
    const data = decodeData(secret);
    return data && check(data) ? secret! : undefined;
  }, timeoutMs);
}

/** Waits until the Secret's decoded data is exactly `expected` (no other keys); returns the Secret. */
export async function waitSecretData(kube: TestKube, namespace: string, name: string, expected: Record<string, string>, timeoutMs = 30_000): Promise<k8s.V1Secret> {
  return waitSecret(kube, namespace, name, (data) => isDeepEqual(data, expected), `holds ${Object.keys(expected).join(',')}`, timeoutMs);
}

function isDeepEqual(actual: unknown, expected: unknown): boolean {
  try {
    assert.deepEqual(actual, expected);
    return true;
  } catch {
    return false;
  }
}

export interface ReadyWanted {
  /** Plural of our kind; ExternalSecret when left out. */
  readonly plural?: string;
  /** Left out for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly name: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  /** The condition message must match this. */
  readonly message?: RegExp;
}

/** Waits until the object's Ready condition has the status (and reason, and a message matching) wanted. */
export async function waitReady(kube: TestKube, wanted: ReadyWanted, timeoutMs = 30_000): Promise<ReadyCondition> {
  const plural = wanted.plural ?? Plural.ExternalSecret;
  const what = `${plural} ${wanted.namespace ?? ''}/${wanted.name} Ready=${wanted.status}${wanted.reason ? ` ${wanted.reason}` : ''}${wanted.message ? ` ${wanted.message}` : ''}`;
  return waitFor(what, async () => {
    const ready = readyOf(await getObject(kube, plural, wanted.name, wanted.namespace));
    if (ready?.status !== wanted.status) return undefined;
    if (wanted.reason !== undefined && ready.reason !== wanted.reason) return undefined;
    if (wanted.message && !wanted.message.test(ready.message)) return undefined;
    return ready;
  }, timeoutMs);
}

export interface LeakScan {
  /** Log sinks of every operator that ran; each must have captured something. */
  readonly logs: readonly LineSink[];
  readonly audit: readonly LineSink[];
  /** Also require audit records to have been captured. */
  readonly expectAudit?: boolean;
  readonly kube: TestKube;
  /** The statuses of our objects (every namespaced kind) in these namespaces are searched. */
  readonly namespaces: readonly string[];
  readonly values: SecretValues;
  /** At least this many values must have been used (a scan of nothing proves nothing); 1 when left out. */
  readonly atLeast?: number;
  /** More text to search, by where it came from. */
  readonly extra?: Readonly<Record<string, string>>;
}

const namespacedPlurals = [Plural.ExternalSecret, Plural.SecretStore, Plural.VaultDynamicSecret];

/** Fails if any remembered value appears in a log line, audit record, Event (any namespace) or status. */
export async function assertNoLeaks(scan: LeakScan): Promise<void> {
  assert.ok(scan.logs.some((sink) => sink.lines.length > 0), 'log lines were captured');
  if (scan.expectAudit) assert.ok(scan.audit.some((sink) => sink.lines.length > 0), 'audit records were captured');
  assert.ok(scan.values.values.size >= (scan.atLeast ?? 1), `at least ${scan.atLeast ?? 1} secret values were used (${scan.values.values.size})`);
  const haystacks: [string, string][] = [
    ['logs', scan.logs.map((sink) => sink.text()).join('\n')],
    ['audit', scan.audit.map((sink) => sink.text()).join('\n')],
    ['events', (await eventNotes(scan.kube)).join('\n')],
    ...Object.entries(scan.extra ?? {}),
  ];
  for (const namespace of scan.namespaces) {
    for (const plural of namespacedPlurals) {
      // Retried: a CRD just (re)applied answers 429 "storage is (re)initializing" for a moment.
      const list = await waitFor(`a list of ${plural} in ${namespace}`, async () =>
        (await scan.kube.custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural })) as { items: { status?: unknown }[] },
      );
      haystacks.push([`${plural} status in ${namespace}`, JSON.stringify(list.items.map((item) => item.status))]);
    }
    // Rollouts annotate workloads and their pod templates: names and HMACs only.
    const [deployments, statefulSets, daemonSets] = await Promise.all([
      scan.kube.apps.listNamespacedDeployment({ namespace }),
      scan.kube.apps.listNamespacedStatefulSet({ namespace }),
      scan.kube.apps.listNamespacedDaemonSet({ namespace }),
    ]);
    const annotations = [...deployments.items, ...statefulSets.items, ...daemonSets.items].map((w) => [w.metadata?.annotations, w.spec?.template.metadata?.annotations]);
    haystacks.push([`workload annotations in ${namespace}`, JSON.stringify(annotations)]);
  }
  for (const [where, text] of haystacks) {
    for (const value of scan.values.values) assert.ok(!text.includes(value), `a secret value leaked into ${where}`);
  }
}

/** Each ExternalSecret's `status.refreshTime` in `namespace` (epoch ms), 0 for one not Ready=True: refresh waves are read from these. */
export async function refreshTimesIn(kube: TestKube, namespace: string): Promise<number[]> {
  const list = (await kube.custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: Plural.ExternalSecret })) as {
    items: { status?: { refreshTime?: string; conditions?: { type: string; status: string }[] } }[];
  };
  return list.items.map((item) =>
    item.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && item.status.refreshTime ? Date.parse(item.status.refreshTime) : 0,
  );
}
