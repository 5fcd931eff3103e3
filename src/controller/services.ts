// The services controllers share, built from the operator's clients: writers, the provider client cache, the
// parsed store caches, and the generators the providers contribute (each provider's `generators` hook).
import { classFilter, controllerClass } from './runtime/controller-class.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { API_GROUP, API_VERSION, Plural, parseClusterSecretStore, parseSecretStore, type ClusterSecretStore, type ExternalSecret, type SecretStore } from '../api/index.ts';
import type { KubeClient } from '../k8s/kube-client.ts';
import { readCustomObject } from '../k8s/reads.ts';
import { describeKubeError } from '../k8s/describe-error.ts';
import { ClusterSecretStoreKind, NamespaceKind, SecretStoreKind } from '../k8s/kinds.ts';
import { createSecretWriter } from '../k8s/secrets.ts';
import { createStatusWriter } from '../k8s/status.ts';
import { createEventRecorder } from '../k8s/events.ts';
import { createStoreKubeAccess } from '../k8s/store-access.ts';
import type { GeneratorHost, Provider } from '../providers/provider.ts';
import type { Generator, Generators } from '../providers/generator.ts';
import { createProviderRegistry } from '../providers/registry.ts';
import { createClientCache } from '../providers/client-cache.ts';
import { createSharedCalls, defaultHoldResultsMs, staleReadsOf } from '../providers/shared-calls.ts';
import { RemoteChanges } from './changefeed/remote-changes.ts';
import { FeedStatusBook } from './changefeed/feed-status.ts';
import { instrumentProvider } from '../providers/instrumented.ts';
import { assertTenancy, DEFAULT_TENANCY_POLICY, guardProvider, type TenancyPolicy } from '../providers/kit/tenancy.ts';
import { memoizeParse } from './informer-parse-cache.ts';
import { resolveStore, type InvalidStoreObject, type ParsedStore, type StoreLookup } from './externalsecret/store-ref.ts';
import type { Caches } from './runtime/manager.ts';
import type { ControllerContext } from './module.ts';

export interface ControllerServicesOptions {
  readonly kube: KubeClient;
  readonly caches: Caches;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly audit: AuditLog;
  readonly hmacKey: Uint8Array;
  readonly providers: readonly Provider[];
  readonly operatorNamespace: string;
  /** Names the recorder of our Events (reportingInstance). */
  readonly identity: string;
  /** --refresh-time-period. */
  readonly refreshTimePeriodMs?: number | undefined;
  /** --sandbox-*, --namespace-sandbox-budget, --min-refresh-interval. */
  readonly isolation?: ControllerContext['isolation'];
  /** --operator-identity, --trusted-endpoint-hosts …: enforced on every provider before it authenticates. Default: the hardened default. */
  readonly tenancy?: TenancyPolicy | undefined;
  /** --controller-class; ESO's `default` when absent. */
  readonly controllerClass?: string | undefined;
}

export interface ControllerServices extends ControllerContext {
  /** Closes provider clients and generators (revoking their tokens). */
  close(): Promise<void>;
}

/** Retired client generations are closed by a sweep; 10 min keeps idle clients' memory bounded. */
const CLIENT_SWEEP_MS = 10 * 60_000;

export function createControllerServices(options: ControllerServicesOptions): ControllerServices {
  const { kube, caches, clock, logger } = options;
  const tenancy = options.tenancy ?? DEFAULT_TENANCY_POLICY;
  // The tenancy guard outside the instrumentation: a refused store makes no provider call to count.
  const providers = createProviderRegistry(options.providers.map((p) => guardProvider(instrumentProvider(p, options.metrics, clock), tenancy)));
  const sharedCalls = createSharedCalls({ holdResultsMs: defaultHoldResultsMs });
  const clientCache = createClientCache({ registry: providers, clock, logger, sharedCalls });
  const statusWriter = createStatusWriter(kube);
  const remoteChanges = new RemoteChanges({
    clock,
    feedStatus: new FeedStatusBook({
      clock,
      write: async (store, feeds) => {
        const plural = store.kind === 'ClusterSecretStore' ? Plural.ClusterSecretStore : Plural.SecretStore;
        await statusWriter.patch({ group: API_GROUP, version: API_VERSION, plural, namespace: store.namespace, name: store.name }, { changeFeeds: feeds });
      },
    }),
    metrics: options.metrics,
    forgetReads: (uid, keys) => void sharedCalls.forget(staleReadsOf(uid, keys)),
    enqueue: (externalSecret) => caches.queue('externalsecret').add(externalSecret),
  });
  const sweep = setInterval(() => void clientCache.sweep(), CLIENT_SWEEP_MS);
  sweep.unref();

  const stores = createStoreLookup(caches);
  const kubeAccess = (onlyNamespace: string | undefined, storeDescription: string) => createStoreKubeAccess(kube, { onlyNamespace, storeDescription });
  const host: GeneratorHost = {
    clock,
    readCustomObject: (plural, namespace, name) => readCustomObject(kube, { group: API_GROUP, version: API_VERSION, plural, namespace, name }),
    resolveStore(namespace, ref) {
      const resolution = resolveStore({ metadata: { name: '-', namespace }, spec: { secretStoreRef: ref } } as unknown as ExternalSecret, stores);
      return resolution.ok ? { ok: true, store: resolution.store } : { ok: false, message: resolution.message };
    },
    kubeAccess,
    assertTenancy: (declaration, storeKind) => assertTenancy(declaration, storeKind, tenancy),
  };
  const generators = collectGenerators(options.providers, host);

  return {
    informer: (kind) => caches.informer(kind),
    queue: (controller) => caches.queue(controller),
    clock,
    logger,
    kube,
    operatorNamespace: options.operatorNamespace,
    hmacKey: options.hmacKey,
    refreshTimePeriodMs: options.refreshTimePeriodMs,
    isolation: options.isolation,
    classes: classFilter(controllerClass(options.controllerClass), {
      secretStore: (namespace, name) => caches.informer(SecretStoreKind).get(name, namespace),
      clusterSecretStore: (name) => caches.informer(ClusterSecretStoreKind).get(name),
    }),
    secrets: createSecretWriter(kube),
    status: statusWriter,
    events: createEventRecorder({
      kube,
      clock,
      controller: 'secret-relay.dev/operator',
      instance: options.identity,
      // The apiserver accepts Events about cluster-scoped objects (ClusterSecretStores) only in 'default' (as
      // client-go's recorder writes them); any other namespace is refused with 422.
      clusterEventNamespace: 'default',
      onError: (err) => logger.warn({ error: describeKubeError(err) }, 'could not record an Event'),
    }),
    audit: options.audit,
    metrics: options.metrics,
    providers,
    tenancy,
    clientFor(store, namespace, signal) {
      const storeDescription = store.kind === 'ClusterSecretStore' ? `ClusterSecretStore ${store.name}` : `SecretStore ${store.namespace}/${store.name}`;
      // Referent auth: a ClusterSecretStore that authenticates with the ExternalSecret's namespace gets one client per namespace.
      const partition = providers.get(store.providerName)?.clientPartition?.(store.providerSpec, { storeKind: store.kind, namespace });
      const ctx = { storeKind: store.kind, storeName: store.name, storeNamespace: store.namespace, namespace, kube: kubeAccess(store.namespace, storeDescription), clock };
      return clientCache.get({ ...store, partition }, ctx, signal);
    },
    invalidateClients: (uid) => void clientCache.invalidate(uid),
    stores,
    generators,
    remoteChanges,
    async close() {
      clearInterval(sweep);
      remoteChanges.close();
      await clientCache.closeAll();
      await Promise.all(Object.values(generators).map((g) => g?.close?.()));
    },
  };
}

/** Every registered provider's generator kinds; two providers serving one kind is a wiring bug. */
function collectGenerators(providers: readonly Provider[], host: GeneratorHost): Generators {
  const all: Record<string, Generator> = {};
  for (const provider of providers) {
    for (const [kind, generator] of Object.entries(provider.generators?.(host) ?? {})) {
      if (!generator) continue;
      if (all[kind]) throw new Error(`generator kind ${kind} is served by two providers; register one`);
      all[kind] = generator;
    }
  }
  return all as Generators;
}

/** Stores and namespace labels from the caches; each store is parsed once per change, not at every lookup. */
export function createStoreLookup(caches: Caches): StoreLookup {
  const secretStores = caches.informer(SecretStoreKind);
  const clusterSecretStores = caches.informer(ClusterSecretStoreKind);
  const namespaces = caches.informer(NamespaceKind);
  const parseStore = memoizeParse(parseSecretStore);
  const parseClusterStore = memoizeParse(parseClusterSecretStore);
  return {
    secretStore: (namespace, name) => valueOf(secretStores.get(name, namespace), parseStore),
    clusterSecretStore: (name) => valueOf(clusterSecretStores.get(name), parseClusterStore),
    parsedStore: (kind, namespace, name) =>
      kind === 'ClusterSecretStore' ? parsedOf(clusterSecretStores.get(name), parseClusterStore) : parsedOf(secretStores.get(name, namespace), parseStore),
    namespaceLabels: (name) => namespaces.get(name)?.metadata?.labels,
  };
}

type Parse<T> = (o: unknown) => { ok: true; value: T } | { ok: false; error: string };

function valueOf<T>(obj: unknown, parse: Parse<T>): T | undefined {
  if (obj === undefined) return undefined;
  const result = parse(obj);
  return result.ok ? result.value : undefined;
}

/** The parse with the object as cached beside a failure (its status and generation, for the store's condition). */
function parsedOf<T extends SecretStore | ClusterSecretStore>(obj: unknown, parse: Parse<T>): ParsedStore | undefined {
  if (obj === undefined) return undefined;
  const result = parse(obj);
  return result.ok ? result : { ok: false, error: result.error, raw: obj as InvalidStoreObject };
}
