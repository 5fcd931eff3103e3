// What a controller module is, and what the operator gives it to build with. A module is one folder's
// `controller.ts` (or `module.ts`): it asks for the caches it reads, declares its primary kind, the kinds it
// watches and how their changes map to its keys, and returns its reconcile. The operator lists the modules.
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../log.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { KubeClient } from '../k8s/kube-client.ts';
import type { SecretWriter } from '../k8s/secrets.ts';
import type { StatusWriter } from '../k8s/status.ts';
import type { EventRecorder } from '../k8s/events.ts';
import type { SecretsClient } from '../providers/provider.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { Generators } from '../providers/generator.ts';
import type { TenancyPolicy } from '../providers/kit/tenancy.ts';
import type { Caches, ControllerSpec } from './runtime/manager.ts';
import type { ClassFilter } from './runtime/controller-class.ts';
import type { ResolvedStore, StoreLookup } from './externalsecret/store-ref.ts';
import type { SandboxOptions } from './externalsecret/sandbox.ts';
import type { RemoteChanges } from './changefeed/remote-changes.ts';

/** The services the operator's controllers share; built once per operator (src/controller/services.ts). */
export interface ControllerContext extends Caches {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly kube: KubeClient;
  /** The operator's own namespace (a ClusterSecretStore is validated from it). */
  readonly operatorNamespace: string;
  /** Keys the drift HMAC of managed Secrets. */
  readonly hmacKey: Uint8Array;
  /** How old status.refreshTime may get before a refresh that changed nothing writes it (reconciler's default when absent). */
  readonly refreshTimePeriodMs?: number | undefined;
  /** Tenant isolation: the sandbox's workers and limits, and the floor of refresh intervals (defaults when absent). */
  readonly isolation?: { readonly sandbox: SandboxOptions; readonly minRefreshIntervalMs: number } | undefined;
  readonly secrets: SecretWriter;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly audit: AuditLog;
  /** For a controller's own counters (its reconciles and queues are counted by the manager). */
  readonly metrics: Metrics;
  readonly providers: ProviderRegistry;
  /** The operator's tenancy policy; the registry's providers already enforce it before authenticating. */
  readonly tenancy: TenancyPolicy;
  /** The cached, authenticated client of a store for ExternalSecrets of `namespace`. */
  clientFor(store: ResolvedStore, namespace: string, signal: AbortSignal): Promise<SecretsClient>;
  /** Drops (and closes) the clients of a store that is gone. */
  invalidateClients(storeUid: string): void;
  /** Stores and namespaces from the caches, each parsed once per change. */
  readonly stores: StoreLookup;
  /** The generator kinds the registered providers serve. */
  readonly generators: Generators;
  /** The controller class this installation serves (--controller-class): which stores and ExternalSecrets are ours. */
  readonly classes: ClassFilter;
  /** Change notifications: which ExternalSecrets a remote change concerns, and the refreshes it asks for (src/controller/changefeed/). */
  readonly remoteChanges: RemoteChanges;
}

export interface ControllerModule {
  /** The controller's name in logs and metric labels. */
  readonly name: string;
  build(ctx: ControllerContext): Omit<ControllerSpec, 'name'>;
}
