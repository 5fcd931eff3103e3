import { Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ProviderName } from '../api/meta.ts';
import { PROVIDER_NAMES } from '../api/providers/index.ts';
import type { StoreKind } from '../api/types.generated.ts';
import type { KubeVerb } from './kube-verbs.ts';

/**
 * Every label value is a member of a small closed set below, so a series can never be
 * created per namespace/name (the incumbent's unbounded labels are what we avoid).
 * Values outside the set — possible only from untyped callers — are recorded as 'other'.
 */

/** The operator's controllers by default; the manager passes its own list (a closed set fixed at start). */
export const CONTROLLERS: readonly string[] = ['externalsecret', 'secretstore', 'clustersecretstore'];
/** One of the names given to createMetrics (`controllers`); others are recorded as 'other'. */
export type ControllerName = string;

/** How a reconcile ended: ok, failed (retried with backoff), terminal (not retried), or ok with a requeue-after. */
export const RECONCILE_RESULTS = ['success', 'error', 'terminal', 'requeue'] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

/** The `provider` label's values: the one list of providers (src/api/providers/index.ts). */
export const PROVIDERS: readonly ProviderName[] = PROVIDER_NAMES;

/** `auth` is the session set-up in Provider.newClient; `revoke` a lease or token given back (generators); the rest are SecretsClient methods (pushSecret/deleteSecret: PushSecret writes). */
export const PROVIDER_OPERATIONS = ['auth', 'getSecret', 'getAllSecrets', 'validate', 'revoke', 'pushSecret', 'deleteSecret'] as const;
export type ProviderOperation = (typeof PROVIDER_OPERATIONS)[number];

export const PROVIDER_RESULTS = ['success', 'error', 'not_found', 'denied', 'throttled'] as const;
export type ProviderResult = (typeof PROVIDER_RESULTS)[number];

/** Verbs of requests to the apiserver, as the apiserver names them. */
export const KUBE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const satisfies readonly KubeVerb[];

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

export const STORE_KINDS = ['SecretStore', 'ClusterSecretStore'] as const satisfies readonly StoreKind[];

/** Workload kinds a rollout patches (argo.Rollout as Vault Secrets Operator spells it). */
export const ROLLOUT_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'argo.Rollout'] as const;
export type RolloutKind = (typeof ROLLOUT_KINDS)[number];
/** rolled: pod template patched; skipped: a consumer left alone on purpose (volume mount under Auto); missing: an explicit target that does not exist; failed: the patch failed (retried). */
export const ROLLOUT_RESULTS = ['rolled', 'skipped', 'missing', 'failed'] as const;
export type RolloutResult = (typeof ROLLOUT_RESULTS)[number];

export const SYNC_STATUS_WRITES = ['written', 'deferred'] as const;
export type SyncStatusWrite = (typeof SYNC_STATUS_WRITES)[number];

/** Where change notifications come from (src/providers/change-feed.ts): each provider's feed, and the signed webhook. */
export const CHANGE_FEED_SOURCES = ['aws-sqs', 'vault-events', 'gcp-pubsub', 'azure-queue', 'alibaba-mns', 'webhook'] as const;
export type ChangeFeedSource = (typeof CHANGE_FEED_SOURCES)[number];

/** What became of a change notification: it named keys ExternalSecrets read, none, was a redelivery, or was refused (forged, stale, replayed). */
export const CHANGE_NOTIFICATION_RESULTS = ['matched', 'ignored', 'duplicate', 'refused'] as const;
export type ChangeNotificationResult = (typeof CHANGE_NOTIFICATION_RESULTS)[number];

/** How many objects have Ready=True/False/Unknown; an absent status counts as Unknown. */
export type ConditionCounts = Readonly<Record<ConditionStatus, number>>;

export interface ReadyCounts {
  readonly externalSecrets: ConditionCounts;
  readonly stores: Readonly<Record<StoreKind, ConditionCounts>>;
}

export interface Metrics {
  /** One finished reconcile and how long it took. */
  reconcile(controller: ControllerName, result: ReconcileResult, seconds: number): void;
  /** One call to an external secret manager. Count throttling with `providerThrottled` too. */
  providerRequest(provider: ProviderName, operation: ProviderOperation, result: ProviderResult, seconds: number): void;
  /** The provider answered "slow down" (HTTP 429, ThrottlingException …). */
  providerThrottled(provider: ProviderName): void;
  /** Work queue: current number of keys waiting. */
  setQueueDepth(controller: ControllerName, depth: number): void;
  /** Work queue: a key was added (de-duplicated adds are not counted). */
  queueAdded(controller: ControllerName): void;
  /** Work queue: a key waited this long between being added and a worker taking it. */
  queueWaited(controller: ControllerName, seconds: number): void;
  /** Work queue: a key was put back with backoff after a failure. */
  queueRetried(controller: ControllerName): void;
  setLeader(leading: boolean): void;
  /** One workload rolled out (or not) for a change of a Secret's data. */
  rollout(kind: RolloutKind, result: RolloutResult): void;
  /** One successful sync of an ExternalSecret: its status written, or only its refreshTime changed and the write was deferred. */
  synced(statusWrite: SyncStatusWrite): void;
  /** One request sent to the apiserver (a watch counts once, when it is opened). */
  kubeRequest(verb: KubeVerb): void;
  /** One PushSecret destination written (or found unchanged, existing, refused, failed) or deleted. */
  pushWrite(provider: string, result: PushWriteResult): void;
  /**
   * Where the Ready counts come from: called at each scrape, so the counts are read from the
   * informer caches when asked rather than maintained incrementally. Until set, all are 0.
   */
  setReadyCountsSource(source: () => ReadyCounts): void;
  // Tenant isolation: the sandbox's worker time and limits, namespaces held back.
  /** One piece of sandboxed work (template, property read) ran for `seconds` on a worker; `outcome` names a limit that stopped it. */
  sandboxRan(outcome: SandboxOutcome, seconds: number): void;
  /** Pieces of sandboxed work waiting for a free worker. */
  setSandboxQueued(n: number): void;
  /** A namespace's sandboxed work was refused: it has spent its --namespace-sandbox-budget. */
  sandboxBudgetRefused(): void;
  /** Namespaces past their sandbox budget now. */
  setSandboxNamespacesOverBudget(n: number): void;
  /** Work queue: namespaces with keys waiting, and the keys waiting in the busiest one. */
  setQueueNamespaces(controller: ControllerName, namespaces: number, busiestDepth: number): void;
  /** A change notification and what became of it (docs/change-feeds.md). */
  changeNotification(source: ChangeFeedSource, result: ChangeNotificationResult): void;
  /** From a remote change (the provider's time) to the Secret written with what was read after it. */
  changeApplied(source: ChangeFeedSource, seconds: number): void;
}

/** What a push to one destination did: the provider's answer, denied (not ours), error, or deleted. */
export const PUSH_WRITE_RESULTS = ['created', 'updated', 'unchanged', 'exists', 'denied', 'error', 'deleted'] as const;
export type PushWriteResult = (typeof PUSH_WRITE_RESULTS)[number];

/** ok, error (the template or value was refused), or the limit that stopped the work. */
export const SANDBOX_OUTCOMES = ['ok', 'error', 'deadline', 'memory', 'crash'] as const;
export type SandboxOutcome = (typeof SANDBOX_OUTCOMES)[number];
const SANDBOX_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30];

const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const PROVIDER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Queue waits are the incumbent's pain point (minutes at a few thousand objects): reach far.
const QUEUE_WAIT_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * Registers secret-relay's metrics and the process default metrics on `registry`
 * (never the global default registry). Call once per registry.
 */
export interface MetricsOptions {
  /** Controller names, the values of the `controller` label; default CONTROLLERS. */
  readonly controllers?: readonly string[] | undefined;
}

export function createMetrics(registry: Registry, options: MetricsOptions = {}): Metrics {
  const controllers = options.controllers ?? CONTROLLERS;
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const reconcileTotal = new Counter({
    name: 'secret_relay_reconcile_total',
    help: 'Reconciles finished, by controller and result (success, error, terminal, requeue).',
    labelNames: ['controller', 'result'] as const,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: 'secret_relay_reconcile_duration_seconds',
    help: 'Time one reconcile took, in seconds.',
    labelNames: ['controller'] as const,
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const providerRequests = new Counter({
    name: 'secret_relay_provider_requests_total',
    help: 'Calls to external secret managers, by provider, operation and result.',
    labelNames: ['provider', 'operation', 'result'] as const,
    registers,
  });
  const providerDuration = new Histogram({
    name: 'secret_relay_provider_request_duration_seconds',
    help: 'Time one call to an external secret manager took, in seconds.',
    labelNames: ['provider', 'operation'] as const,
    buckets: PROVIDER_BUCKETS,
    registers,
  });
  const pushWrites = new Counter({
    name: 'secret_relay_push_writes_total',
    help: 'PushSecret destinations pushed to (created, updated, unchanged, exists, denied, error) or deleted, by provider. A refresh that found nothing new makes no call and is not counted.',
    labelNames: ['provider', 'result'] as const,
    registers,
  });
  const providerThrottled = new Counter({
    name: 'secret_relay_provider_throttled_total',
    help: 'Calls an external secret manager refused as throttled.',
    labelNames: ['provider'] as const,
    registers,
  });
  const queueDepth = new Gauge({
    name: 'secret_relay_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    labelNames: ['controller'] as const,
    registers,
  });
  const queueAdds = new Counter({
    name: 'secret_relay_workqueue_adds_total',
    help: 'Keys added to the work queue (not counting keys already queued).',
    labelNames: ['controller'] as const,
    registers,
  });
  const queueWait = new Histogram({
    name: 'secret_relay_workqueue_wait_seconds',
    help: 'Time a key waited in the work queue before a worker took it, in seconds.',
    labelNames: ['controller'] as const,
    buckets: QUEUE_WAIT_BUCKETS,
    registers,
  });
  const queueRetries = new Counter({
    name: 'secret_relay_workqueue_retries_total',
    help: 'Keys put back in the work queue with backoff after a failed reconcile.',
    labelNames: ['controller'] as const,
    registers,
  });
  const leader = new Gauge({
    name: 'secret_relay_leader',
    help: '1 while this process holds the leader Lease and reconciles, else 0.',
    registers,
  });
  leader.set(0);
  const kubeRequests = new Counter({
    name: 'secret_relay_kube_requests_total',
    help: 'Requests sent to the Kubernetes apiserver, by verb (get, list, watch, create, update, patch, delete).',
    labelNames: ['verb'] as const,
    registers,
  });
  for (const verb of KUBE_VERBS) kubeRequests.inc({ verb }, 0);
  const syncs = new Counter({
    name: 'secret_relay_externalsecret_syncs_total',
    help:
      'Successful syncs of ExternalSecrets (each a provider fetch), by whether the status was written or, when only status.refreshTime ' +
      'would have changed, its write deferred (--refresh-time-period).',
    labelNames: ['status_write'] as const,
    registers,
  });
  for (const statusWrite of SYNC_STATUS_WRITES) syncs.inc({ status_write: statusWrite }, 0);
  const rollouts = new Counter({
    name: 'secret_relay_rollouts_total',
    help: 'Workloads rolled out for a change of a Secret\'s data, by kind and result (rolled, skipped, missing, failed).',
    labelNames: ['kind', 'result'] as const,
    registers,
  });
  for (const kind of ROLLOUT_KINDS) for (const result of ROLLOUT_RESULTS) rollouts.inc({ kind, result }, 0);

  let readySource: (() => ReadyCounts) | undefined;
  const zero: ConditionCounts = { True: 0, False: 0, Unknown: 0 };
  // A failing source must not fail the whole scrape: the gauges keep their last values.
  const readCounts = (): ReadyCounts | undefined => {
    if (readySource === undefined) return { externalSecrets: zero, stores: { SecretStore: zero, ClusterSecretStore: zero } };
    try {
      return readySource();
    } catch {
      return undefined;
    }
  };

  new Gauge({
    name: 'secret_relay_externalsecrets_ready',
    help: 'ExternalSecrets by the status of their Ready condition (True, False, Unknown).',
    labelNames: ['condition'] as const,
    registers,
    collect() {
      const counts = readCounts()?.externalSecrets;
      if (counts === undefined) return;
      for (const condition of CONDITION_STATUSES) this.set({ condition }, count(counts[condition]));
    },
  });
  new Gauge({
    name: 'secret_relay_stores_ready',
    help: 'SecretStores and ClusterSecretStores by the status of their Ready condition.',
    labelNames: ['kind', 'condition'] as const,
    registers,
    collect() {
      const stores = readCounts()?.stores;
      if (stores === undefined) return;
      for (const kind of STORE_KINDS) {
        for (const condition of CONDITION_STATUSES) this.set({ kind, condition }, count(stores[kind]?.[condition]));
      }
    },
  });

  // Pre-create the series users alert on, so `rate()` sees a 0 before the first event.
  for (const controller of controllers) {
    for (const result of RECONCILE_RESULTS) reconcileTotal.inc({ controller, result }, 0);
    queueDepth.set({ controller }, 0);
    queueAdds.inc({ controller }, 0);
    queueRetries.inc({ controller }, 0);
  }

  // Tenant isolation: the sandbox's worker time and limits, namespaces held back.
  const sandboxSeconds = new Histogram({
    name: 'secret_relay_sandbox_duration_seconds',
    help: 'Worker time of one piece of sandboxed work (template, property read on a tenant value), by outcome (ok, error, or the limit that stopped it: deadline, memory, crash).',
    labelNames: ['outcome'] as const,
    buckets: SANDBOX_BUCKETS,
    registers,
  });
  const sandboxQueued = new Gauge({ name: 'secret_relay_sandbox_queued', help: 'Pieces of sandboxed work waiting for a free worker.', registers });
  const sandboxRefusals = new Counter({
    name: 'secret_relay_sandbox_budget_refusals_total',
    help: 'Sandboxed work refused because its namespace spent its worker time (--namespace-sandbox-budget); the ExternalSecret retries later.',
    registers,
  });
  const sandboxOverBudget = new Gauge({ name: 'secret_relay_sandbox_namespaces_over_budget', help: 'Namespaces whose sandboxed work waits because they spent their worker time.', registers });
  const queueNamespaces = new Gauge({
    name: 'secret_relay_workqueue_namespaces',
    help: 'Namespaces with keys waiting in the work queue (served in turn).',
    labelNames: ['controller'] as const,
    registers,
  });
  const queueBusiest = new Gauge({
    name: 'secret_relay_workqueue_busiest_namespace_depth',
    help: 'Keys waiting in the work queue of the namespace with the most: far above depth / namespaces, one namespace is held back behind its own backlog.',
    labelNames: ['controller'] as const,
    registers,
  });
  sandboxRefusals.inc(0);
  const changeNotifications = new Counter({
    name: 'secret_relay_change_notifications_total',
    help: 'Change notifications received, by source and result: matched (ExternalSecrets read a named key), ignored (none does), duplicate (a redelivery), refused (bad signature, stale or replayed).',
    labelNames: ['source', 'result'],
    registers,
  });
  const changeDelay = new Histogram({
    name: 'secret_relay_change_to_secret_seconds',
    help: 'From a remote change (the time the provider gives it) to the Secret written with the value read after it, by source.',
    labelNames: ['source'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });
  const changeFeeds = {
    changeNotification(source: ChangeFeedSource, result: ChangeNotificationResult) {
      changeNotifications.inc({ source: bounded(source, CHANGE_FEED_SOURCES), result: bounded(result, CHANGE_NOTIFICATION_RESULTS) });
    },
    changeApplied(source: ChangeFeedSource, seconds: number) {
      changeDelay.observe({ source: bounded(source, CHANGE_FEED_SOURCES) }, nonNegative(seconds));
    },
  };
  const isolation = {
    sandboxRan(outcome: SandboxOutcome, seconds: number) {
      sandboxSeconds.observe({ outcome: bounded(outcome, SANDBOX_OUTCOMES) }, nonNegative(seconds));
    },
    setSandboxQueued(n: number) {
      sandboxQueued.set(count(n));
    },
    sandboxBudgetRefused() {
      sandboxRefusals.inc();
    },
    setSandboxNamespacesOverBudget(n: number) {
      sandboxOverBudget.set(count(n));
    },
    setQueueNamespaces(controller: ControllerName, namespaces: number, busiestDepth: number) {
      const c = bounded(controller, controllers);
      queueNamespaces.set({ controller: c }, count(namespaces));
      queueBusiest.set({ controller: c }, count(busiestDepth));
    },
  };

  return {
    ...isolation,
    ...changeFeeds,
    reconcile(controller, result, seconds) {
      const c = bounded(controller, controllers);
      reconcileTotal.inc({ controller: c, result: bounded(result, RECONCILE_RESULTS) });
      reconcileDuration.observe({ controller: c }, nonNegative(seconds));
    },
    providerRequest(provider, operation, result, seconds) {
      const p = bounded(provider, PROVIDERS);
      const op = bounded(operation, PROVIDER_OPERATIONS);
      providerRequests.inc({ provider: p, operation: op, result: bounded(result, PROVIDER_RESULTS) });
      providerDuration.observe({ provider: p, operation: op }, nonNegative(seconds));
    },
    providerThrottled(provider) {
      providerThrottled.inc({ provider: bounded(provider, PROVIDERS) });
    },
    setQueueDepth(controller, depth) {
      queueDepth.set({ controller: bounded(controller, controllers) }, count(depth));
    },
    queueAdded(controller) {
      queueAdds.inc({ controller: bounded(controller, controllers) });
    },
    queueWaited(controller, seconds) {
      queueWait.observe({ controller: bounded(controller, controllers) }, nonNegative(seconds));
    },
    queueRetried(controller) {
      queueRetries.inc({ controller: bounded(controller, controllers) });
    },
    setLeader(leading) {
      leader.set(leading ? 1 : 0);
    },
    rollout(kind, result) {
      rollouts.inc({ kind: bounded(kind, ROLLOUT_KINDS), result: bounded(result, ROLLOUT_RESULTS) });
    },
    synced(statusWrite) {
      syncs.inc({ status_write: bounded(statusWrite, SYNC_STATUS_WRITES) });
    },
    kubeRequest(verb) {
      kubeRequests.inc({ verb: bounded(verb, KUBE_VERBS) });
    },
    pushWrite(provider, result) {
      pushWrites.inc({ provider: bounded(provider, PROVIDERS), result: bounded(result, PUSH_WRITE_RESULTS) });
    },
    setReadyCountsSource(source) {
      readySource = source;
    },
  };
}

function bounded<T extends string>(value: string, allowed: readonly T[]): T | 'other' {
  return (allowed as readonly string[]).includes(value) ? (value as T) : 'other';
}

function nonNegative(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

function count(n: number | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
