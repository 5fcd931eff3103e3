// Wiring of one operator process: caches → indexes → controllers, started when this replica leads.
// Everything is built here from injected options, so tests run whole operators in-process side by side.
import { Registry } from 'prom-client';
import type { Clock } from './util/clock.ts';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { ExternalSecret, SecretStore, ClusterSecretStore } from './api/index.ts';
import { parseExternalSecret as parseExternalSecretUncached, parseSecretStore as parseSecretStoreUncached, parseClusterSecretStore as parseClusterSecretStoreUncached } from './api/index.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { createMetrics, type ControllerName } from './metrics/metrics.ts';
import { startHttpServer, type HttpServer } from './http/server.ts';
import type { KubeClient } from './k8s/kube-client.ts';
import { apiErrorCode } from './k8s/kube-client.ts';
import { createSecretWriter } from './k8s/secrets.ts';
import { createStatusWriter } from './k8s/status.ts';
import { createEventRecorder } from './k8s/events.ts';
import { createStoreKubeAccess } from './k8s/store-access.ts';
import { loadOrCreateHmacKey } from './k8s/hmac-key.ts';
import { createLeaseStore } from './k8s/leases.ts';
import { createOperatorInformers, type OperatorInformers } from './k8s/informer.ts';
import type { Provider } from './providers/provider.ts';
import { createProviderRegistry } from './providers/registry.ts';
import { createClientCache } from './providers/client-cache.ts';
import { createSharedCalls, defaultHoldResultsMs } from './providers/shared-calls.ts';
import { instrumentProvider } from './providers/instrumented.ts';
import { WorkQueue } from './controller/runtime/work-queue.ts';
import { Controller, type Reconcile } from './controller/runtime/controller.ts';
import { LeaderElector } from './controller/runtime/leader-election.ts';
import { createExternalSecretReconciler, type InvalidObject, type ParsedObject } from './controller/externalsecret/reconciler.ts';
import { createLeaseKeeper } from './controller/externalsecret/generators.ts';
import { createFinalizerEditor } from './k8s/finalizers.ts';
import { createVaultDynamicSecretGenerator } from './providers/vault/dynamic.ts';
import { API_GROUP, API_VERSION, API_GROUP_VERSION, Kind, Plural, EventReason } from './api/index.ts';
import { resolveStore, type ResolvedStore } from './controller/externalsecret/store-ref.ts';
import { createStoreReconciler } from './controller/secretstore/reconciler.ts';
import { ExternalSecretIndex, objectKey } from './controller/external-secret-index.ts';
import { ConditionType } from './api/index.ts';
import { ChangeFilter } from './controller/change-filter.ts';
import { syncedResourceVersionOf } from './controller/externalsecret/decide.ts';
import { observeTarget } from './controller/externalsecret/desired-secret.ts';
import { memoizeParse } from './controller/informer-parse-cache.ts';

/** What event handlers read of any object. */
interface RawObject {
  readonly metadata?: { namespace?: string; name?: string; uid?: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly status?: unknown;
  readonly data?: Record<string, string>;
}

export interface OperatorOptions {
  readonly config: Config;
  readonly kube: KubeClient;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly providers: readonly Provider[];
  /** Where audit lines go besides the optional file; stdout when absent. */
  readonly auditStdout?: NodeJS.WritableStream;
}

export interface RunningOperator {
  readonly metricsPort: number;
  readonly registry: Registry;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { config, kube, logger, clock } = options;
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const unobserveRequests = kube.observeRequests((verb) => metrics.kubeRequest(verb));
  const audit = createAuditLog({
    ...(options.auditStdout ? { stdout: options.auditStdout as never } : {}),
    filePath: config.auditLogFile,
    clock,
    logger,
  });
  const hmacKey = config.hmacKey ?? (await loadOrCreateHmacKey(kube, config.namespace, config.hmacKeySecret));

  const providerRegistry = createProviderRegistry(options.providers.map((p) => instrumentProvider(p, metrics, clock)));
  const clientCache = createClientCache({ registry: providerRegistry, clock, logger, sharedCalls: createSharedCalls({ holdResultsMs: defaultHoldResultsMs }) });
  const secrets = createSecretWriter(kube);
  const status = createStatusWriter(kube);
  const events = createEventRecorder({
    kube,
    clock,
    controller: 'secret-relay.dev/operator',
    instance: config.identity,
    // The apiserver accepts Events about cluster-scoped objects (ClusterSecretStores) only in 'default' (as
    // client-go's recorder writes them); any other namespace is refused with 422.
    clusterEventNamespace: 'default',
    onError: (err) => logger.warn({ err }, 'could not record an Event'),
  });

  const informers: OperatorInformers = createOperatorInformers({ kube, logger, watchNamespaces: config.watchNamespaces });
  // Objects come from the informers' caches: each is parsed once per change, not at every event and lookup.
  const parseExternalSecret = memoizeParse(parseExternalSecretUncached);
  const parseSecretStore = memoizeParse(parseSecretStoreUncached);
  const parseClusterSecretStore = memoizeParse(parseClusterSecretStoreUncached);
  const index = new ExternalSecretIndex();

  const lookup = {
    secretStore: (ns: string, name: string) => parsed(informers.secretStores.get(name, ns), parseSecretStore),
    clusterSecretStore: (name: string) => parsed(informers.clusterSecretStores.get(name), parseClusterSecretStore),
    namespaceLabels: (name: string) => informers.namespaces.get(name)?.metadata?.labels,
  };
  const getExternalSecret = (ns: string, name: string): ParsedObject<ExternalSecret> | undefined => {
    const raw = informers.externalSecrets.get(name, ns);
    if (raw === undefined) return undefined;
    const result = parseExternalSecret(raw);
    return result.ok ? result : { ok: false, error: result.error, raw: raw as InvalidObject };
  };

  const clientFor = (store: ResolvedStore, namespace: string, signal: AbortSignal) => {
    const storeDescription = store.kind === 'ClusterSecretStore' ? `ClusterSecretStore ${store.name}` : `SecretStore ${store.namespace}/${store.name}`;
    // Referent auth: a ClusterSecretStore that authenticates with the ExternalSecret's namespace gets one client per namespace.
    const partition = providerRegistry.get(store.providerName)?.clientPartition?.(store.providerSpec, { storeKind: store.kind, namespace });
    return clientCache.get(
      { ...store, partition },
      {
        storeKind: store.kind,
        storeName: store.name,
        storeNamespace: store.namespace,
        namespace,
        kube: createStoreKubeAccess(kube, { onlyNamespace: store.namespace, storeDescription }),
        clock,
      },
      signal,
    );
  };

  // VaultDynamicSecret (dataFrom[].sourceRef.generatorRef): served when the vault provider is. Leases live on the
  // ExternalSecret's status; a finalizer holds a deleted ExternalSecret until they are revoked.
  // RBAC: get vaultdynamicsecrets; get and patch externalsecrets (finalizers).
  const vaultGenerator = options.providers.some((p) => p.name === 'vault')
    ? createVaultDynamicSecretGenerator({
        clock,
        async readGenerator(namespace, name) {
          try {
            return await kube.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, plural: Plural.VaultDynamicSecret, namespace, name });
          } catch (err) {
            if (apiErrorCode(err) === 404) return undefined;
            throw err;
          }
        },
        resolveStore(namespace, ref) {
          // The same checks as an ExternalSecret of that namespace naming the store (conditions, readiness).
          const resolution = resolveStore({ metadata: { name: '-', namespace }, spec: { secretStoreRef: ref } } as unknown as ExternalSecret, lookup);
          return resolution.ok ? { ok: true, store: resolution.store } : { ok: false, message: resolution.message };
        },
        kubeAccess: (onlyNamespace, storeDescription) => createStoreKubeAccess(kube, { onlyNamespace, storeDescription }),
        options: { logger },
      })
    : undefined;
  const leases = createLeaseKeeper({
    generators: vaultGenerator ? { VaultDynamicSecret: vaultGenerator } : {},
    status,
    finalizers: createFinalizerEditor(kube, { group: API_GROUP, version: API_VERSION, plural: Plural.ExternalSecret }),
    logger,
    audit,
    metrics,
    clock,
    warn: (es, message) =>
      events.record(
        { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, namespace: es.metadata.namespace ?? '', name: es.metadata.name, uid: es.metadata.uid ?? '' },
        'Warning',
        EventReason.UpdateFailed,
        message,
      ),
  });

  const reconcilers: Record<ControllerName, Reconcile> = {
    externalsecret: createExternalSecretReconciler({
      clock,
      getExternalSecret,
      getManagedSecret: (ns, name) => informers.managedSecrets.get(name, ns),
      resolveStore: (es) => resolveStore(es, lookup),
      clientFor,
      secrets,
      status,
      events,
      audit,
      hmacKey,
      leases,
      // templateFrom reads ConfigMaps and Secrets of the ExternalSecret's own namespace (RBAC: get on both).
      templateSources: {
        async configMapData(namespace, name) {
          try {
            return (await kube.core.readNamespacedConfigMap({ name, namespace })).data ?? {};
          } catch (err) {
            if (apiErrorCode(err) === 404) return undefined;
            throw err;
          }
        },
        async secretData(namespace, name) {
          const secret = await secrets.read(namespace, name);
          return secret ? (secret.data ?? {}) : undefined;
        },
      },
    }),
    secretstore: createStoreReconciler({
      kind: 'SecretStore',
      clock,
      registry: providerRegistry,
      getStore: (ns, name) => lookup.secretStore(ns, name),
      clientFor,
      operatorNamespace: config.namespace,
      status,
      events,
    }),
    clustersecretstore: createStoreReconciler({
      kind: 'ClusterSecretStore',
      clock,
      registry: providerRegistry,
      getStore: (_ns, name) => lookup.clusterSecretStore(name),
      clientFor,
      operatorNamespace: config.namespace,
      status,
      events,
    }),
  };

  // Controllers exist only while this replica leads; a new set is made at each term (a Controller runs once).
  let controllers: Record<ControllerName, Controller> | undefined;
  const enqueue = (controller: ControllerName, key: string) => controllers?.[controller].queue.add(key);

  const makeControllers = (): Record<ControllerName, Controller> => {
    const make = (name: ControllerName) =>
      new Controller({
        name,
        queue: new WorkQueue({
          clock,
          rateLimit: { qps: config.queueQps, burst: config.queueBurst },
          observer: {
            added: () => metrics.queueAdded(name),
            depth: (n) => metrics.setQueueDepth(name, n),
            waited: (s) => metrics.queueWaited(name, s),
            retried: () => metrics.queueRetried(name),
          },
        }),
        reconcile: reconcilers[name],
        workers: config.concurrency,
        clock,
        logger,
        observer: {
          onResult: (_key, outcome, seconds) => metrics.reconcile(name, outcome, seconds),
        },
      });
    return { externalsecret: make('externalsecret'), secretstore: make('secretstore'), clustersecretstore: make('clustersecretstore') };
  };

  const enqueueAll = () => {
    for (const es of informers.externalSecrets.list()) enqueue('externalsecret', objectKey(es.metadata?.namespace, es.metadata!.name!));
    for (const s of informers.secretStores.list()) enqueue('secretstore', objectKey(s.metadata?.namespace, s.metadata!.name!));
    for (const s of informers.clusterSecretStores.list()) enqueue('clustersecretstore', s.metadata!.name!);
  };

  // Event handlers only enqueue keys; the reconcilers read the caches (level-based).
  // Spec, labels and annotations (force-sync) matter; status does not: it is ours.
  const esChanges = new ChangeFilter();
  const onExternalSecret = (obj: RawObject) => {
    const es = parsed(obj, parseExternalSecret);
    const key = objectKey(obj.metadata?.namespace, obj.metadata!.name!);
    if (es) index.upsert(es);
    const fingerprint = syncedResourceVersionOf({
      generation: obj.metadata?.generation ?? 0,
      labels: obj.metadata?.labels ?? {},
      annotations: obj.metadata?.annotations ?? {},
    });
    if (esChanges.changed(key, fingerprint)) enqueue('externalsecret', key);
  };
  informers.externalSecrets.on('add', onExternalSecret);
  informers.externalSecrets.on('update', onExternalSecret);
  informers.externalSecrets.on('delete', (obj) => {
    const key = objectKey(obj.metadata?.namespace, obj.metadata!.name!);
    index.remove(key);
    esChanges.forget(key);
  });

  // A store is revalidated when its spec changes; its ExternalSecrets are requeued when it changes or its
  // readiness does (they wait for Ready).
  const storeChanges = new ChangeFilter();
  const storeUsers = new ChangeFilter();
  const onStore = (kind: 'SecretStore' | 'ClusterSecretStore', deleted = false) => (obj: RawObject) => {
    const name = obj.metadata!.name!;
    const ns = kind === 'SecretStore' ? obj.metadata?.namespace : undefined;
    const key = objectKey(ns, name);
    const controller = kind === 'SecretStore' ? 'secretstore' : 'clustersecretstore';
    const generation = String(obj.metadata?.generation ?? 0);
    const ready = (obj.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find((c) => c.type === ConditionType.Ready)?.status ?? '';
    if (deleted) {
      storeChanges.forget(`${kind}/${key}`);
      storeUsers.forget(`${kind}/${key}`);
    } else if (storeChanges.changed(`${kind}/${key}`, generation)) {
      enqueue(controller, key);
    }
    if (deleted || storeUsers.changed(`${kind}/${key}`, `${generation}/${ready}`)) {
      for (const esKey of index.usingStore(kind, ns, name)) enqueue('externalsecret', esKey);
    }
  };
  for (const [informer, kind] of [
    [informers.secretStores, 'SecretStore'],
    [informers.clusterSecretStores, 'ClusterSecretStore'],
  ] as const) {
    informer.on('add', onStore(kind));
    informer.on('update', onStore(kind));
    informer.on('delete', (obj) => {
      if (obj.metadata?.uid) void clientCache.invalidate(obj.metadata.uid);
      onStore(kind, true)(obj);
    });
  }

  // Our own applies come back as updates too: only a Secret that no longer holds what we wrote (edited by
  // hand, label removed) or that was deleted concerns its ExternalSecrets.
  const onSecret = (obj: RawObject) => {
    for (const key of index.targeting(obj.metadata!.namespace!, obj.metadata!.name!)) enqueue('externalsecret', key);
  };
  informers.managedSecrets.on('update', (obj) => {
    const existing = { labels: obj.metadata?.labels ?? {}, annotations: obj.metadata?.annotations ?? {}, data: obj.data ?? {}, immutable: false, ownerUids: [] };
    if (observeTarget(existing, hmacKey).state !== 'intact') onSecret(obj);
  });
  informers.managedSecrets.on('delete', onSecret);
  informers.namespaces.on('update', (obj) => {
    for (const key of index.inNamespaceUsingClusterStores(obj.metadata!.name!)) enqueue('externalsecret', key);
  });

  metrics.setReadyCountsSource(() => ({
    externalSecrets: countReady(informers.externalSecrets.list()),
    stores: { SecretStore: countReady(informers.secretStores.list()), ClusterSecretStore: countReady(informers.clusterSecretStores.list()) },
  }));

  let leading = false;
  let stopping = false;
  const http: HttpServer = await startHttpServer({
    port: config.metricsPort,
    host: config.metricsHost,
    registry,
    isHealthy: () => !stopping,
    isReady: () => (informers.hasSynced() ? true : { ok: false, reason: 'caches are not synced yet' }),
    logger,
  });

  await informers.start();
  logger.info({ externalSecrets: informers.externalSecrets.list().length }, 'caches synced');

  const startLeading = () => {
    leading = true;
    metrics.setLeader(true);
    controllers = makeControllers();
    for (const c of Object.values(controllers)) c.start();
    enqueueAll();
    logger.info({ identity: config.identity }, 'leading: controllers started');
  };
  const stopLeading = async () => {
    leading = false;
    metrics.setLeader(false);
    const running = controllers;
    controllers = undefined;
    if (running) await Promise.all(Object.values(running).map((c) => c.stop()));
    logger.info({ identity: config.identity }, 'no longer leading: controllers stopped');
  };

  const sweep = setInterval(() => void clientCache.sweep(), 10 * 60_000);
  sweep.unref();

  let elector: LeaderElector | undefined;
  if (config.leaderElect) {
    elector = new LeaderElector({
      store: createLeaseStore(kube),
      namespace: config.namespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.leaseRenewDeadlineMs,
      retryPeriodMs: config.leaseRetryPeriodMs,
      onStartedLeading: startLeading,
      onStoppedLeading: stopLeading,
      clock,
      logger,
    });
    elector.start();
  } else {
    startLeading();
  }

  return {
    metricsPort: http.port,
    registry,
    isLeader: () => leading,
    async stop() {
      stopping = true;
      clearInterval(sweep);
      if (elector) await elector.stop();
      else await stopLeading();
      await informers.stop();
      await clientCache.closeAll();
      await vaultGenerator?.close();
      await audit.close();
      await http.close();
      unobserveRequests();
    },
  };
}

function parsed<T>(obj: unknown, parse: (o: unknown) => { ok: true; value: T } | { ok: false; error: string }): T | undefined {
  if (obj === undefined) return undefined;
  const result = parse(obj);
  return result.ok ? result.value : undefined;
}

function countReady(objects: readonly { status?: { conditions?: readonly { type: string; status: string }[] } }[]) {
  const counts = { True: 0, False: 0, Unknown: 0 };
  for (const o of objects) {
    const s = o.status?.conditions?.find((c) => c.type === ConditionType.Ready)?.status;
    if (s === 'True' || s === 'False') counts[s] += 1;
    else counts.Unknown += 1;
  }
  return counts;
}

export type { ExternalSecret, SecretStore, ClusterSecretStore };
