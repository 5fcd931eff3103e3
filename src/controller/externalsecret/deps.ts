// What the ExternalSecret reconciler is given (caches, clients, writers, clock) and what it reads of a Secret.
import type { RemoteChangeMarks } from '../changefeed/refresh-mark.ts';
import type { Clock } from '../../util/clock.ts';
import type { ExternalSecret, SecretStoreRef } from '../../api/index.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { SecretWriter } from '../../k8s/secrets.ts';
import type { StatusWriter } from '../../k8s/status.ts';
import type { EventRecorder } from '../../k8s/events.ts';
import type { SecretsClient } from '../../providers/provider.ts';
import type { TemplateEngine } from '../../templates/engine.ts';
import type { Condition } from '../conditions.ts';
import type { LeaseKeeper } from './generators.ts';
import type { LocalGenerators } from '../generators/local.ts';
import type { ManagedFieldsEntryView, OwnerReferenceView } from './ownership.ts';
import type { Sandbox } from './sandbox.ts';
import type { ResolvedStore, StoreResolution } from './store-ref.ts';

/** What the reconciler reads of a Secret; the k8s V1Secret fits. */
export interface SecretView {
  readonly metadata?: {
    readonly labels?: Record<string, string> | undefined;
    readonly annotations?: Record<string, string> | undefined;
    readonly ownerReferences?: readonly OwnerReferenceView[] | undefined;
    readonly managedFields?: readonly ManagedFieldsEntryView[] | undefined;
    readonly uid?: string | undefined;
    readonly resourceVersion?: string | undefined;
  } | undefined;
  readonly data?: Record<string, string> | undefined;
  readonly immutable?: boolean | undefined;
  readonly type?: string | undefined;
}

/**
 * Reads what templateFrom names, in the ExternalSecret's own namespace only (the reconciler passes it).
 * undefined when the object does not exist. Needs RBAC get on configmaps and secrets.
 */
export interface TemplateSourceReader {
  configMapData(namespace: string, name: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** Secret data as the API returns it (base64). */
  secretData(namespace: string, name: string): Promise<Readonly<Record<string, string>> | undefined>;
}

export interface ExternalSecretReconcilerDeps {
  readonly clock: Clock;
  /** The cached object, parsed; `invalid` when it fails the schema (e.g. written under an older CRD). */
  readonly getExternalSecret: (namespace: string, name: string) => ParsedObject<ExternalSecret> | undefined;
  /** From the cache of managed Secrets (labelled); undefined when not ours or absent. */
  readonly getManagedSecret: (namespace: string, name: string) => SecretView | undefined;
  /** The store `ref` names (spec.secretStoreRef when absent), checked for use by `es`. */
  readonly resolveStore: (es: ExternalSecret, ref?: SecretStoreRef) => StoreResolution;
  readonly clientFor: (store: ResolvedStore, namespace: string, signal: AbortSignal) => Promise<SecretsClient>;
  readonly secrets: SecretWriter;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly audit: AuditLog;
  readonly hmacKey: Uint8Array;
  /** For spec.target.template.templateFrom; without it, a templateFrom naming a ConfigMap or Secret fails. */
  readonly templateSources?: TemplateSourceReader;
  /** The sandboxed liquid engine; one with the default limits when absent. */
  readonly templateEngine?: TemplateEngine;
  /** dataFrom[].sourceRef.generatorRef: generated values and their leases; without it, a generator source fails. */
  readonly leases?: LeaseKeeper;
  /** Password, SSHKey, UUID generators (kept stable by read-remote: the Secret's values are reused until a rotation). */
  readonly localGenerators?: LocalGenerators;
  /** DEFAULT_REFRESH_TIME_PERIOD_MS when absent; 0 writes status.refreshTime at every refresh (as ESO). */
  readonly refreshTimePeriodMs?: number;
  /** Told of each finished sync: whether its status was written or the refreshTime write deferred. */
  readonly onSynced?: (statusWrite: 'written' | 'deferred') => void;
  /** Where property reads, decoding, rewrites and templates run (a worker pool in the operator); same-thread when absent. */
  readonly sandbox?: Sandbox;
  /** --min-refresh-interval: a shorter non-zero spec.refreshInterval is raised to it. */
  readonly minRefreshIntervalMs?: number;
  /**
   * How many reconciles of a key have failed in a row (the work queue's count): a failure its store's retrySettings
   * will retry is not reported (status, Event) until those retries are spent, as ESO. None: every failure is reported.
   */
  readonly failuresOf?: (key: string) => number;
  /** Change feeds (src/controller/changefeed/): a remote change of a key this ExternalSecret reads refreshes it now. */
  readonly remoteChanges?: RemoteChangeMarks | undefined;
}

/** The dependencies with their defaults filled in. */
export type ReconcilerDeps = ExternalSecretReconcilerDeps & { readonly templateEngine: TemplateEngine; readonly sandbox: Sandbox };

export type ParsedObject<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly raw: InvalidObject };

export interface InvalidObject {
  readonly metadata?: { readonly uid?: string; readonly generation?: number } | undefined;
  readonly status?: { readonly conditions?: readonly Condition[] } | undefined;
}

/**
 * How old status.refreshTime may grow before a refresh that changed nothing writes it (default 10 min). A
 * refresh that changes nothing else in status costs no write until then: 10,000 ExternalSecrets on a 1m interval
 * cost ~17 status writes/s instead of 167 (the default --qps is 50). Anything else in status that changes is
 * written at once, with the current refreshTime.
 */
export const DEFAULT_REFRESH_TIME_PERIOD_MS = 10 * 60_000;

/**
 * The Secret from the managed-Secret cache or, on a miss, one GET: for the rare paths whose outcome would be permanent
 * (a rename's cleanup, a deletion's lease release), since the cache may not yet show a Secret written a moment ago.
 */
export async function managedSecretOrRead(deps: Pick<ExternalSecretReconcilerDeps, 'getManagedSecret' | 'secrets'>, namespace: string, name: string): Promise<SecretView | undefined> {
  return deps.getManagedSecret(namespace, name) ?? (await deps.secrets.read(namespace, name));
}
