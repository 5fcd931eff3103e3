import type { Clock } from '../util/clock.ts';
import type { Generators } from './generator.ts';
import type { ChangeFeedSource } from '../metrics/metrics.ts';

import type { ProviderName } from '../api/meta.ts';
import type { StoreKind } from '../api/types.generated.ts';

export type { ProviderName, StoreKind };

export type DecodingStrategy = 'None' | 'Base64' | 'Base64URL' | 'Auto';

/**
 * One remote value, as named by `spec.data[].remoteRef` (or `dataFrom[].extract`): the whole value. `property` and
 * `decodingStrategy` are not part of it — the ExternalSecret controller applies them to the whole value, in one
 * place, so readers of different properties of one remote secret share one provider call.
 */
export interface RemoteRef {
  readonly key: string;
  readonly version?: string | undefined;
  /** Fetch: the secret's metadata (Vault KV v2 custom_metadata) as a JSON object instead of its value. Omitted: None. */
  readonly metadataPolicy?: 'None' | 'Fetch' | undefined;
}

/** `dataFrom[].find`: select many remote secrets at once. */
export interface FindRef {
  readonly name?: { readonly regexp: string } | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
  readonly path?: string | undefined;
  /** How names become keys; a provider that converts before rewrite (as ESO's fake does) reads it. */
  readonly conversionStrategy?: 'Default' | 'Unicode' | undefined;
}

/**
 * The narrow slice of the cluster a provider may touch while authenticating.
 * Namespaces are checked by the caller: a SecretStore may only read its own namespace.
 */
export interface StoreKubeAccess {
  /** Reads one key of a Secret; throws a TerminalError naming the Secret/key when absent. */
  readSecretKey(ref: { namespace: string; name: string; key: string }, signal: AbortSignal): Promise<Uint8Array>;
  /** Mints a short-lived ServiceAccount token with the TokenRequest API. */
  createServiceAccountToken(
    ref: { namespace: string; name: string; audiences: readonly string[]; expirationSeconds?: number },
    signal: AbortSignal,
  ): Promise<{ token: string; expiresAt: number }>;
  /**
   * The text of one key of a ConfigMap (e.g. a CA certificate); throws a TerminalError naming the ConfigMap/key when
   * absent. The same namespace rule as readSecretKey.
   */
  readConfigMapKey(ref: { namespace: string; name: string; key: string }, signal: AbortSignal): Promise<string>;
  /** The annotations of a ServiceAccount (e.g. eks.amazonaws.com/role-arn); throws a TerminalError when it is absent. */
  readServiceAccountAnnotations(ref: { namespace: string; name: string }, signal: AbortSignal): Promise<Readonly<Record<string, string>>>;
}

export interface StoreContext {
  readonly storeKind: StoreKind;
  readonly storeName: string;
  /** The store's namespace (SecretStore) or undefined (ClusterSecretStore). */
  readonly storeNamespace: string | undefined;
  /** Namespace of the ExternalSecret being served (referent auth for ClusterSecretStores). */
  readonly namespace: string;
  readonly kube: StoreKubeAccess;
  readonly clock: Clock;
}

export type StoreValidationStatus = 'Ready' | 'Unknown' | 'Error';

/** An authenticated session against one store; cached per store generation. */
export interface SecretsClient {
  /**
   * The identity this client acts as (role ARN, ServiceAccount, "static key" …), for the audit log. Never a secret.
   * May change once the first call resolved it (referent auth learns the role then): wrappers read it live.
   */
  readonly identity: string;
  /**
   * The whole remote value (a JSON document when the secret has fields). Errors: NoSecretError when it does not
   * exist, AccessDeniedError when the service refuses `identity`, TerminalError for other problems only the user can
   * fix, ThrottledError when asked to slow down; anything else is retried.
   */
  getSecret(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array>;
  /** `dataFrom[].find`: remote name → whole value. Errors as getSecret. */
  getAllSecrets(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>>;
  validate(signal: AbortSignal): Promise<StoreValidationStatus>;
  close(): Promise<void>;
  /**
   * PushSecret: writes one value (./push.ts has the contract). Absent when the provider cannot write. The client is
   * the store's own session, built through the tenancy guard as for reads: the store's identity, the admin's endpoints.
   */
  pushSecret?(request: PushRequest, signal: AbortSignal): Promise<PushResult>;
  /** PushSecret deletionPolicy Delete: removes a value pushed earlier, only when the remote secret carries our mark. */
  deleteSecret?(request: DeleteRequest, signal: AbortSignal): Promise<DeleteResult>;
  /** Without pushSecret: why this store takes no pushed secrets and what to use instead, when the provider knows. */
  readonly pushUnsupported?: string;
}

/** The calls of a SecretsClient that reach the provider (close excepted): what a wrapper runs through `around`. */
export type ClientOperation = 'getSecret' | 'getAllSecrets' | 'validate' | 'pushSecret' | 'deleteSecret';

/** What a wrapper of a SecretsClient (metrics, client cache, shared calls) adds; wrapClient carries the rest. */
export interface ClientWrapping {
  /** Runs each call to the provider; `call` makes it. Omitted: calls go straight through. Not used for replaced members. */
  readonly around?: <T>(operation: ClientOperation, call: () => Promise<T>) => Promise<T>;
  /** Replacements; each calls the wrapped client itself. */
  readonly getSecret?: SecretsClient['getSecret'];
  readonly getAllSecrets?: SecretsClient['getAllSecrets'];
  readonly close?: SecretsClient['close'];
}

const callDirectly = <T>(_operation: ClientOperation, call: () => Promise<T>): Promise<T> => call();

/**
 * `client` with every call run through `wrapping.around`: the one place that lists SecretsClient's members for
 * wrappers, so none drops an optional one (push, delete, pushUnsupported) or freezes the live identity.
 * test/unit/providers/wrap-client.test.ts passes a client with every member through each wrapper.
 */
export function wrapClient(client: SecretsClient, wrapping: ClientWrapping): SecretsClient {
  const around = wrapping.around ?? callDirectly;
  return {
    // Read live: a provider may learn who it acts as only at its first call (referent auth resolves the role then).
    get identity() {
      return client.identity;
    },
    getSecret: wrapping.getSecret ?? ((ref, signal) => around('getSecret', () => client.getSecret(ref, signal))),
    getAllSecrets: wrapping.getAllSecrets ?? ((find, signal) => around('getAllSecrets', () => client.getAllSecrets(find, signal))),
    validate: (signal) => around('validate', () => client.validate(signal)),
    close: wrapping.close ?? (() => client.close()),
    ...(client.pushSecret ? { pushSecret: (request, signal) => around('pushSecret', () => client.pushSecret!(request, signal)) } : {}),
    ...(client.deleteSecret ? { deleteSecret: (request, signal) => around('deleteSecret', () => client.deleteSecret!(request, signal)) } : {}),
    ...(client.pushUnsupported !== undefined ? { pushUnsupported: client.pushUnsupported } : {}),
  };
}

import type { DeleteRequest, DeleteResult, PushRequest, PushResult } from './push.ts';
export type { DeleteRequest, DeleteResult, PushRequest, PushResult } from './push.ts';

export type { DeclaredUrl, TenancyDeclaration } from '../api/providers/kit.ts';
import type { TenancyDeclaration } from '../api/providers/kit.ts';

export interface Provider<Spec = unknown> {
  readonly name: ProviderName;
  /** Pure, no I/O: problems a user must fix in the store's spec. */
  validateStore(spec: Spec): { warnings: string[]; errors: string[] };
  /** Authentication happens here. */
  newClient(spec: Spec, ctx: StoreContext): Promise<SecretsClient>;
  /**
   * When the session depends on the ExternalSecret's namespace (a ClusterSecretStore using referent auth:
   * credentials from that namespace), the partition to cache its client under — usually that namespace.
   * undefined (or no method): one client per store generation serves every namespace.
   */
  clientPartition?(spec: Spec, ctx: Pick<StoreContext, 'storeKind' | 'namespace'>): string | undefined;
  /**
   * The generator kinds (dataFrom[].sourceRef.generatorRef) this provider serves, built once per operator from
   * what the host offers: a provider that needs an extra kind declares it here instead of editing the wiring.
   * Each kind read through `host.readCustomObject` needs its RBAC rule (get on that resource).
   */
  generators?(host: GeneratorHost): Generators;
  /** Change notifications from the provider (./change-feed.ts), when it has a feed: rotations reach the cluster in seconds. */
  readonly changeFeed?: ChangeFeed<Spec> | undefined;
}

/** A store named by a generator (spec.storeRef), resolved as an ExternalSecret of that namespace naming it would be. */
export interface GeneratorStore {
  readonly kind: StoreKind;
  readonly name: string;
  readonly uid: string;
  readonly generation: number;
  readonly providerName: string;
  readonly providerSpec: unknown;
}

/** What the operator offers a provider's generators. */
export interface GeneratorHost {
  readonly clock: Clock;
  /** One of our own objects (group secret-relay.dev) by resource plural; undefined when it does not exist. */
  readCustomObject(plural: string, namespace: string, name: string, signal: AbortSignal): Promise<unknown>;
  /** The same checks as an ExternalSecret of `namespace` naming the store (ClusterSecretStore conditions, readiness). */
  resolveStore(namespace: string, ref: { readonly name: string; readonly kind: StoreKind }): { ok: true; store: GeneratorStore } | { ok: false; message: string };
  /** Kube access limited to `onlyNamespace` (undefined: any, for a ClusterSecretStore). */
  kubeAccess(onlyNamespace: string | undefined, storeDescription: string): StoreKubeAccess;
  /**
   * The operator's tenancy rules applied to what a generator's server and auth declare, as for a store of `storeKind`
   * (an inline spec counts as a SecretStore): throws a TenancyError. Call it before authenticating.
   */
  assertTenancy(declaration: TenancyDeclaration, storeKind: StoreKind): void;
}

export { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../util/errors.ts';

// The change-feed contract: how a provider tells the operator that remote secrets changed, so the ExternalSecrets
// reading them refresh in seconds instead of at their refreshInterval. A feed only says *what* to re-read — the
// keys — never a value: the refresh reads through the store's client like any other. The host
// (src/controller/changefeed/) runs one feed per store while this replica leads, reconnects it with backoff, and
// maps keys to ExternalSecrets; a provider implements `run` for its transport (SQS, Vault events, Pub/Sub,
// Storage queues …). The signed webhook (src/http/change-webhook.ts) feeds the same host for any provider.
export type { ChangeFeedSource };

/** One change the provider reported. */
export interface ChangeNotification {
  /** The provider's id of the event (EventBridge event id, Pub/Sub message id …), so a redelivery is recognised. */
  readonly id: string;
  /**
   * The remote keys it names, as the store's ExternalSecrets name them (the store's prefix removed). Several
   * spellings of one secret (a name and its ARN) may all be listed; keys nobody reads are ignored.
   */
  readonly keys: readonly string[];
  /** When the change happened at the provider (ms since the epoch), for the notification→Secret delay; absent when unknown. */
  readonly occurredAt?: number | undefined;
  /** The provider's name of the event (PutSecretValue, SECRET_VERSION_ADD …), for logs. Never a value. */
  readonly event: string;
}

/** What a running feed reports to the host. */
export interface ChangeFeedSink {
  /** The subscription is established (again): the store's status says connected. */
  connected(): void;
  /**
   * Notifications received. Resolves once the host has recorded them; only then may the feed acknowledge
   * (delete, ack) them at the provider, so a crash between the two redelivers rather than loses.
   */
  deliver(notifications: readonly ChangeNotification[]): Promise<void>;
  /** A message that is not a change of a secret this store reads (another event type, unparseable). */
  ignored(count: number): void;
}

/** A provider's change feed. */
export interface ChangeFeed<Spec = unknown> {
  readonly source: ChangeFeedSource;
  /** Pure: where the spec says notifications arrive (for status and logs), or undefined when it configures no feed. */
  describe(spec: Spec): string | undefined;
  /**
   * Subscribes with the store's identity and runs until `signal` aborts (then resolves). Throws when it cannot
   * connect or loses the subscription; the host reconnects with backoff and says so on the store.
   */
  run(spec: Spec, ctx: StoreContext, sink: ChangeFeedSink, signal: AbortSignal): Promise<void>;
}
