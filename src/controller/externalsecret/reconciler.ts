// One ExternalSecret, level-based: observe (caches) → decide (pure) → fetch (provider) → build (pure) →
// apply (server-side apply) → one status patch. Every failure becomes a condition, an Event, a metric and a
// retry; the last good Secret is never emptied because a provider failed.
import type { Clock } from '../../util/clock.ts';
import type { ExternalSecret } from '../../api/index.ts';
import { targetSecretName, API_GROUP, API_VERSION, API_GROUP_VERSION, Plural, Kind, ConditionType, ExternalSecretReason, EventReason } from '../../api/index.ts';
import type { CreationPolicy } from '../../api/types.generated.ts';
import type { AuditLog, AuditResult } from '../../audit/audit-log.ts';
import type { SecretWriter } from '../../k8s/secrets.ts';
import { fieldManagerFor } from '../../k8s/secrets.ts';
import type { StatusWriter } from '../../k8s/status.ts';
import type { EventRecorder, EventTarget } from '../../k8s/events.ts';
import type { SecretsClient } from '../../providers/provider.ts';
import { AccessDeniedError, NoSecretError, TerminalError } from '../../providers/provider.ts';
import type { ExternalSecretDataFrom } from '../../api/types.generated.ts';
import { createTemplateEngine, type TemplateEngine } from '../../templates/engine.ts';
import { templateSourceNames, type RenderedSecret, type TemplateSources } from '../../templates/render-secret.ts';
import { mergeSources, type KeySource } from './data-from.ts';
import { inlineSandbox, type Sandbox, type WorkContext } from './sandbox.ts';
import { copiedMetadata } from './copied-metadata.ts';
import { externalSecretCompat } from '../../api/eso-compat.ts';
import { generatorSources, type IssuedCredentials, type LeaseKeeper } from './generators.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Condition, ConditionUpdate } from '../conditions.ts';
import { findCondition, sameCondition, setCondition } from '../conditions.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import type { PendingChange } from '../changefeed/remote-changes.ts';
import { decide, type Decision, jitteredIntervalMs, refusedRecheckMs, syncedResourceVersionOf, type ObservedExternalSecret } from './decide.ts';
import { assertWritableTarget, buildDesiredSecret, CredentialSecretError, needsApply, observeTarget, type ExistingSecret } from './desired-secret.ts';
import { adoptionNote, adoptionPatch, classifyTarget, refusalMessage, wantsAdoption, type ForeignOwner, type ManagedFieldsEntryView, type OwnerReferenceView } from './ownership.ts';
import type { ResolvedStore, StoreResolution } from './store-ref.ts';
import { describeError } from '../../k8s/describe-error.ts';

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
  readonly resolveStore: (es: ExternalSecret) => StoreResolution;
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
  /** DEFAULT_REFRESH_TIME_PERIOD_MS when absent; 0 writes status.refreshTime at every refresh (as ESO). */
  readonly refreshTimePeriodMs?: number;
  /** Told of each finished sync: whether its status was written or the refreshTime write deferred. */
  readonly onSynced?: (statusWrite: 'written' | 'deferred') => void;
  /** Where property reads, decoding, rewrites and templates run (a worker pool in the operator); same-thread when absent. */
  readonly sandbox?: Sandbox;
  /** --min-refresh-interval: a shorter non-zero spec.refreshInterval is raised to it. */
  readonly minRefreshIntervalMs?: number;
  /** Change feeds (src/controller/changefeed/): a remote change of a key this ExternalSecret reads refreshes it now. */
  readonly remoteChanges?: RemoteChangeMarks;
}

/** The ExternalSecret reconciler's view of ctx.remoteChanges. */
export interface RemoteChangeMarks {
  pending(key: string): PendingChange | undefined;
  handled(key: string, change: PendingChange): void;
  dismiss(key: string, change: PendingChange): void;
}

/**
 * What this process last wrote to an ExternalSecret's status. The informer cache can lag behind our own
 * status patch; deciding from that stale copy would refetch (and break CreatedOnce) right after a sync.
 */
export interface WrittenStatus {
  /** Whose: an ExternalSecret deleted and recreated under the same name must not inherit its predecessor's sync. */
  readonly uid: string;
  readonly syncedResourceVersion: string;
  /** When this process last refreshed it (ms, second precision): what the refresh schedule counts from. */
  readonly refreshTime: number;
  /** The status.refreshTime this process last wrote; older than refreshTime while a write is deferred. */
  readonly persistedRefreshTime: number;
  readonly boundTargetName: string;
}

/**
 * How old status.refreshTime may grow before a refresh that changed nothing writes it (default 10 min). A
 * refresh that changes nothing else in status costs no write until then: 10,000 ExternalSecrets on a 1m interval
 * cost ~17 status writes/s instead of 167 (the default --qps is 50). Anything else in status that changes is
 * written at once, with the current refreshTime.
 */
export const DEFAULT_REFRESH_TIME_PERIOD_MS = 10 * 60_000;

type FetchOutcome = { readonly data: Map<string, Uint8Array>; readonly missing: string[] };

export function createExternalSecretReconciler(options: ExternalSecretReconcilerDeps) {
  const templateEngine = options.templateEngine ?? createTemplateEngine();
  const deps: ExternalSecretReconcilerDeps = { ...options, templateEngine, sandbox: options.sandbox ?? inlineSandbox(templateEngine) };
  const written = new Map<string, WrittenStatus>();
  // The refusal message last reported per key, so a recheck that reads a lagging cache does not repeat its Event and audit record.
  const refusals = new Map<string, string>();
  return async function reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const cached = deps.getExternalSecret(namespace, name);
    // Gone: an Owner Secret follows through its ownerReference (garbage collector); others are kept by design.
    if (!cached) {
      written.delete(key);
      refusals.delete(key);
      return;
    }
    if (!cached.ok) {
      await reportInvalid(deps, namespace, name, cached);
      // Retrying cannot help until the object changes.
      throw new TerminalError(cached.error);
    }
    const es = cached.value;
    if (es.metadata.deletionTimestamp) {
      // Generated credentials are revoked before the finalizer lets the ExternalSecret go.
      if (deps.leases) await deps.leases.release(es, signal);
      return;
    }
    return new Reconciliation(deps, es, signal, written, key, refusals).run();
  };
}

export type ParsedObject<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly raw: InvalidObject };

export interface InvalidObject {
  readonly metadata?: { readonly uid?: string; readonly generation?: number } | undefined;
  readonly status?: { readonly conditions?: readonly Condition[] } | undefined;
}

async function reportInvalid(deps: ExternalSecretReconcilerDeps, namespace: string, name: string, invalid: { error: string; raw: InvalidObject }) {
  const update: ConditionUpdate = { type: ConditionType.Ready, status: 'False', reason: ExternalSecretReason.InvalidSpec, message: invalid.error };
  const conditions = invalid.raw.status?.conditions;
  const generation = invalid.raw.metadata?.generation;
  if (sameCondition(findCondition(conditions, ConditionType.Ready), update, generation)) return;
  await deps.status.patch(
    { group: API_GROUP, version: API_VERSION, plural: Plural.ExternalSecret, namespace, name },
    { conditions: setCondition(conditions, update, deps.clock.now(), generation) },
  );
  await deps.events.record(
    { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, namespace, name, uid: invalid.raw.metadata?.uid ?? '' },
    'Warning',
    EventReason.UpdateFailed,
    invalid.error,
  );
}

class Reconciliation {
  private readonly deps: ExternalSecretReconcilerDeps;
  private readonly es: ExternalSecret;
  private readonly signal: AbortSignal;
  private readonly now: number;
  private readonly namespace: string;
  private readonly name: string;
  private readonly targetName: string;
  private readonly eventTarget: EventTarget;
  private readonly uid: string;
  /** Whose data a Secret write carries, for its audit record: set once the provider client exists (its identity is read live). */
  private source: { provider: string; client: SecretsClient | undefined } = { provider: '-', client: undefined };
  /** Credentials generated during this reconcile, committed (or revoked) once the Secret is written (or not). */
  private readonly issued: IssuedCredentials[] = [];
  /** Set when the target exists and is someone else's: whose, for the refusal or the adoption. */
  private foreignOwner: ForeignOwner | undefined;
  /** Set when this reconcile refused to write. */
  private refused = false;
  /** Set when this reconcile wrote (or deleted) a Secret: its status write is never deferred. */
  private secretWritten = false;

  private readonly written: Map<string, WrittenStatus>;
  private readonly key: string;
  private readonly refusals: Map<string, string>;

  constructor(deps: ExternalSecretReconcilerDeps, es: ExternalSecret, signal: AbortSignal, written: Map<string, WrittenStatus>, key: string, refusals: Map<string, string>) {
    this.refusals = refusals;
    this.deps = deps;
    this.written = written;
    this.key = key;
    this.es = es;
    this.signal = signal;
    this.now = deps.clock.now();
    this.namespace = es.metadata.namespace ?? '';
    this.uid = es.metadata.uid ?? '';
    this.name = es.metadata.name;
    this.targetName = targetSecretName(es);
    this.eventTarget = { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, namespace: this.namespace, name: this.name, uid: this.uid };
  }

  async run(): Promise<ReconcileResult> {
    const { es } = this;
    const requestedIntervalMs = parseDuration(es.spec.refreshInterval ?? '1h');
    // The operator's floor (--min-refresh-interval) applies to periodic refreshes; 0 still means "once per change".
    const refreshIntervalMs = requestedIntervalMs > 0 ? Math.max(requestedIntervalMs, this.deps.minRefreshIntervalMs ?? 0) : 0;
    const creationPolicy = es.spec.target?.creationPolicy ?? 'Owner';

    const store = this.deps.resolveStore(es);
    if (!store.ok) {
      await this.setNotReady(store.reason, store.message);
      // Store changes requeue this object; the recheck (a cache read, no provider call) covers what no event tells.
      return { recheck: true };
    }

    const leases = this.deps.leases;
    const generating = leases !== undefined && (generatorSources(es).size > 0 || leases.tracks(es));
    let committing = false;
    try {
      const existing = await this.observeExisting(creationPolicy);
      const target = this.observeTargetOf(existing, creationPolicy);
      const change = this.deps.remoteChanges?.pending(this.key);
      const decided = remoteChanged(decide(this.observed(refreshIntervalMs), target, this.now), change, es.spec.refreshPolicy, refreshIntervalMs);
      // Only a Periodic ExternalSecret refreshes on a remote change (OnChange and CreatedOnce keep their meaning).
      if (change && decided.action !== 'sync') this.deps.remoteChanges?.dismiss(this.key, change);
      // Refused before any provider call or generated credential: nothing could be written anyway.
      if (decided.action === 'refuse') return await this.refuse(decided.recheckMs);
      this.refusals.delete(this.key);
      // Leases of generated credentials: renewed when due; new credentials (a sync) before they end.
      const upkeep = generating ? await leases.maintain(es, this.now, this.signal) : { rotate: false, nextAt: undefined };
      const decision = upkeep.rotate ? ({ action: 'sync' } as const) : decided;
      if (decision.action !== 'sync') {
        // Nothing to fetch; but a condition left over from a store outage is cleared.
        await this.ensureReadyAfterIdle();
        return this.soonest(decision.action === 'wait' ? { requeueAfter: decision.ms } : undefined, upkeep.nextAt);
      }
      if (generating) await leases.ensureFinalizer(es);
      const client = await this.deps.clientFor(store.store, this.namespace, this.signal);
      this.source = { provider: store.store.providerName, client };
      const fetched = await this.fetch(client, store.store);
      const result = await this.write(fetched, existing, creationPolicy, refreshIntervalMs);
      if (this.refused) {
        // Nothing was written: credentials generated for it are revoked, not kept.
        if (this.issued.length > 0) await leases?.abandon(es, this.issued, this.signal);
        return result;
      }
      committing = true;
      const nextAt = generating ? await leases.commit(es, this.issued, this.deps.clock.now(), this.signal) : undefined;
      if (change) this.deps.remoteChanges?.handled(this.key, change);
      return this.soonest(result, nextAt);
    } catch (err) {
      if (this.issued.length > 0 && !this.secretWritten) await this.deps.leases?.abandon(es, this.issued, this.signal);
      // The Secret holds them (a later step failed: the status patch, a rename's cleanup): never revoked; their leases
      // are recorded — once: a failed commit keeps them in the keeper's memory, else they end at their TTL.
      else if (this.issued.length > 0 && !committing) await this.deps.leases?.commit(es, this.issued, this.deps.clock.now(), this.signal).catch(() => {});
      const message = describeError(err);
      // The sync's own error is what is retried and reported: a failed status write must not replace it.
      await this.setNotReady(err instanceof CredentialSecretError ? err.reason : ExternalSecretReason.SecretSyncedError, message).catch(() => {});
      await this.deps.events.record(this.eventTarget, 'Warning', EventReason.UpdateFailed, message);
      throw err;
    }
  }

  /**
   * The target Secret from the managed-Secret cache (labelled ones). A Secret someone else made is not in it, so
   * on a miss: Merge and CreateOrMerge read it (one GET); Owner and Orphan assume it is absent — their write is
   * create-only (applyIfAbsent) and finds out — unless this ExternalSecret was refused already (in memory, or
   * by its status after a restart), when one GET tells whether it is still there without a provider call.
   */
  private async observeExisting(creationPolicy: CreationPolicy): Promise<SecretView | undefined> {
    const cached = this.deps.getManagedSecret(this.namespace, this.targetName);
    if (cached || creationPolicy === 'None') return cached;
    if ((creationPolicy === 'Owner' || creationPolicy === 'Orphan') && !this.refusedBefore()) return undefined;
    return this.deps.secrets.read(this.namespace, this.targetName);
  }

  private refusedBefore(): boolean {
    if (this.refusals.get(this.key)?.startsWith(`${this.uid}\u0000`)) return true;
    return findCondition(this.es.status?.conditions as Condition[] | undefined, ConditionType.Ready)?.reason === ExternalSecretReason.SecretExistsNotOwned;
  }

  private observeTargetOf(existing: SecretView | undefined, creationPolicy: CreationPolicy) {
    if (creationPolicy === 'None') return { state: 'intact' } as const;
    // Owner and Orphan make the Secret ours; Merge and CreateOrMerge add keys to whoever's Secret it is.
    if (existing && (creationPolicy === 'Owner' || creationPolicy === 'Orphan')) {
      const ownership = classifyTarget(existing.metadata ?? {}, { uid: this.uid, name: this.name, fieldManager: fieldManagerFor(this.name), controls: creationPolicy === 'Owner' });
      if (!ownership.owned) {
        this.foreignOwner = ownership.owner;
        // A deleted predecessor's Secret would be garbage-collected: taken over without the opt-in.
        const predecessor = ownership.owner.by === 'controller' && ownership.owner.predecessor === true;
        return { state: 'foreign', adopt: predecessor || wantsAdoption(this.es.metadata.annotations) } as const;
      }
    }
    return observeTarget(toExisting(existing), this.deps.hmacKey, { namespace: this.namespace, name: this.targetName });
  }

  /** Nothing written: Ready=False naming the Secret, its owner and the ways forward; Event and audit once per change. */
  private async refuse(recheckMs: number): Promise<ReconcileResult> {
    this.refused = true;
    const message = refusalMessage(this.namespace, this.targetName, this.foreignOwner!);
    const changed = await this.setReady({ type: ConditionType.Ready, status: 'False', reason: ExternalSecretReason.SecretExistsNotOwned, message });
    const reported = this.refusals.get(this.key) === `${this.uid}\u0000${message}`;
    this.refusals.set(this.key, `${this.uid}\u0000${message}`);
    // Once per refusal: not when the status already said so (a restart), nor again while the cache lags our patch.
    if (changed && !reported) {
      await this.deps.events.record(this.eventTarget, 'Warning', EventReason.SecretExistsNotOwned, message);
      this.auditWrite('secret.refuse', 'denied', this.now, message);
    }
    return { requeueAfter: recheckMs };
  }

  /** The earlier of a requeue and a lease's next due time. */
  private soonest(result: ReconcileResult, at: number | undefined): ReconcileResult {
    if (at === undefined) return result;
    const ms = Math.max(at - this.deps.clock.now(), 200);
    const current = result ? result.requeueAfter : undefined;
    return { requeueAfter: current === undefined ? ms : Math.min(current, ms) };
  }

  private observed(refreshIntervalMs: number): ObservedExternalSecret {
    const { es } = this;
    const statusTime = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : undefined;
    const ours = this.written.get(this.key);
    // Our own later write wins over a cache that has not caught up with it yet.
    if (ours && ours.uid === this.uid && (statusTime === undefined || ours.refreshTime > statusTime)) {
      return {
        ...this.observedSpec(refreshIntervalMs),
        syncedResourceVersion: ours.syncedResourceVersion,
        refreshTime: ours.refreshTime,
        boundTargetName: ours.boundTargetName,
      };
    }
    return {
      ...this.observedSpec(refreshIntervalMs),
      syncedResourceVersion: es.status?.syncedResourceVersion,
      refreshTime: statusTime,
      boundTargetName: es.status?.binding?.name,
    };
  }

  private observedSpec(refreshIntervalMs: number) {
    const { es } = this;
    return {
      uid: this.uid,
      generation: es.metadata.generation ?? 0,
      labels: es.metadata.labels ?? {},
      annotations: es.metadata.annotations ?? {},
      refreshPolicy: es.spec.refreshPolicy ?? 'Periodic',
      refreshIntervalMs,
      targetName: this.targetName,
    };
  }

  /**
   * Reads every data and dataFrom entry and merges their keys (each from exactly one source). Missing remote
   * keys are collected (deletionPolicy decides); other errors throw.
   */
  private async fetch(client: SecretsClient, store: ResolvedStore): Promise<FetchOutcome> {
    const unsupported = externalSecretCompat(this.es.spec);
    if (unsupported.length > 0) throw new TerminalError(unsupported.join('; '));
    const sources: KeySource[] = [];
    const missing: string[] = [];
    const dataEntries = this.es.spec.data ?? [];
    for (const [index, entry] of dataEntries.entries()) {
      const { key, property, version, decodingStrategy, metadataPolicy, nullBytePolicy } = entry.remoteRef;
      const value = await this.read(client, store, property ? `${key}#${property}` : key, missing, async () => {
        // The whole value is fetched (property and decoding applied here), so ExternalSecrets reading
        // different properties of one remote secret share one provider call.
        const raw = await client.getSecret({ key, ...(version ? { version } : {}), ...(metadataPolicy === 'Fetch' ? { metadataPolicy } : {}) }, this.signal);
        return this.deps.sandbox!.selectValue(this.work(), raw, property, decodingStrategy ?? 'None', key);
      }, property ? `${key} (property ${property})` : key);
      if (value !== undefined && nullBytePolicy === 'Fail') refuseNullBytes(`spec.data[${index}]`, new Map([[entry.secretKey, value]]));
      if (value !== undefined) sources.push({ where: `spec.data[${index}]`, data: new Map([[entry.secretKey, value]]) });
    }
    for (const [index, entry] of (this.es.spec.dataFrom ?? []).entries()) {
      const where = `spec.dataFrom[${index}]`;
      const fetched = await this.fetchDataFrom(client, store, entry, missing, index);
      if (fetched === undefined) continue;
      const generator = entry.sourceRef?.generatorRef;
      const label = entry.extract
        ? `${where} (extract "${entry.extract.key}")`
        : generator
          ? `${where} (${generator.kind} ${generator.name})`
          : `${where} (find)`;
      const shaped = await this.deps.sandbox!.shapeDataFrom(this.work(), entry, fetched, where);
      if ((entry.extract ?? entry.find)?.nullBytePolicy === 'Fail') refuseNullBytes(where, shaped);
      sources.push({ where: label, data: shaped });
    }
    return { data: mergeSources(sources), missing };
  }

  /** One dataFrom entry's raw map: the fields of a JSON object (extract) or the remote secrets found (find). */
  private async fetchDataFrom(
    client: SecretsClient,
    store: ResolvedStore,
    entry: ExternalSecretDataFrom,
    missing: string[],
    index: number,
  ): Promise<Map<string, Uint8Array> | undefined> {
    if (entry.extract) {
      const { key, property, version, metadataPolicy } = entry.extract;
      return this.read(client, store, property ? `${key}#${property}` : key, missing, async () => {
        // The whole value (split here), so a data[] entry and an extract of the same key share one call.
        const raw = await client.getSecret({ key, ...(version ? { version } : {}), ...(metadataPolicy === 'Fetch' ? { metadataPolicy } : {}) }, this.signal);
        return this.deps.sandbox!.extractEntries(this.work(), raw, property, key);
      }, property ? `${key} (property ${property})` : key);
    }
    if (entry.sourceRef) {
      const leases = this.deps.leases;
      if (!leases) throw new TerminalError('dataFrom[].sourceRef.generatorRef is not served by this operator');
      const generatorRef = entry.sourceRef.generatorRef;
      if (!generatorRef) throw new TerminalError(`spec.dataFrom[${index}].sourceRef.storeRef is not supported by secret-relay yet; use spec.secretStoreRef`);
      const { data, issued } = await leases.generate(this.es, index, generatorRef, this.deps.clock.now(), this.signal);
      this.issued.push(issued);
      return new Map(data);
    }
    const find = entry.find!;
    const described = [
      find.path !== undefined ? `path=${find.path}` : '',
      find.name ? `name=/${find.name.regexp}/` : '',
      ...Object.entries(find.tags ?? {}).map(([tag, value]) => `tag ${tag}=${value}`),
    ].filter((part) => part !== '').join(', ');
    return this.read(client, store, `find(${described})`, missing, async () => {
      const found = await client.getAllSecrets(
        {
          ...(find.name ? { name: { regexp: find.name.regexp } } : {}),
          ...(find.tags ? { tags: find.tags } : {}),
          ...(find.path !== undefined ? { path: find.path } : {}),
          ...(find.conversionStrategy !== undefined ? { conversionStrategy: find.conversionStrategy } : {}),
        },
        this.signal,
      );
      return new Map(Object.entries(found));
    }, `find(${described})`, 'provider.find');
  }

  /** One provider read, audited; a NoSecretError is recorded in `missing` (as `missingLabel`) and gives undefined. */
  private async read<T>(
    client: SecretsClient,
    store: ResolvedStore,
    remoteKey: string,
    missing: string[],
    call: () => Promise<T>,
    missingLabel: string,
    action: 'provider.read' | 'provider.find' = 'provider.read',
  ): Promise<T | undefined> {
    const started = this.deps.clock.now();
    let result: AuditResult = 'success';
    let error: string | undefined;
    try {
      return await call();
    } catch (err) {
      if (err instanceof NoSecretError) {
        result = 'not_found';
        missing.push(missingLabel);
        return undefined;
      }
      // A refusal of the store's identity is what an auditor looks for: `denied`, not a generic error.
      result = err instanceof AccessDeniedError ? 'denied' : 'error';
      error = describeError(err);
      throw err;
    } finally {
      this.deps.audit.record({
        action,
        externalSecret: { namespace: this.namespace, name: this.name },
        store: { kind: store.kind, name: store.name },
        provider: store.providerName,
        identity: client.identity,
        remoteKey,
        result,
        durationMs: this.deps.clock.now() - started,
        ...(error ? { error } : {}),
      });
    }
  }

  /** Reads the ConfigMaps and Secrets templateFrom names, from the ExternalSecret's namespace only. */
  private async readTemplateSources(): Promise<TemplateSources> {
    const names = templateSourceNames(this.es.spec.target?.template);
    const configMaps = new Map<string, Readonly<Record<string, string>>>();
    const secrets = new Map<string, Readonly<Record<string, Uint8Array>>>();
    if (names.configMaps.length + names.secrets.length === 0) return { configMaps, secrets };
    const reader = this.deps.templateSources;
    if (!reader) throw new Error('templateFrom cannot read ConfigMaps or Secrets in this operator (no reader configured)');
    for (const name of names.configMaps) {
      const data = await reader.configMapData(this.namespace, name);
      if (data) configMaps.set(name, data);
    }
    for (const name of names.secrets) {
      const data = await reader.secretData(this.namespace, name);
      if (data) secrets.set(name, Object.fromEntries(Object.entries(data).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))])));
    }
    return { configMaps, secrets };
  }

  /** The Secret's contents: the fetched data as it is, or shaped by spec.target.template. */
  private async shape(data: Map<string, Uint8Array>): Promise<RenderedSecret | { data: Map<string, Uint8Array>; type?: undefined; labels: Record<string, string>; annotations: Record<string, string> }> {
    const template = this.es.spec.target?.template;
    // Without a template the ExternalSecret's own labels and annotations go to the Secret, as ESO does.
    if (!template) return { data, ...copiedMetadata(this.es.metadata) };
    return this.deps.sandbox!.renderSecret(this.work(), data, template, await this.readTemplateSources());
  }

  /** Whose sandboxed work it is: the namespace pays for it, the reconcile's signal abandons it. */
  private work(): WorkContext {
    return { namespace: this.namespace, signal: this.signal };
  }

  private async write(
    fetched: FetchOutcome,
    existingView: SecretView | undefined,
    creationPolicy: CreationPolicy,
    refreshIntervalMs: number,
  ): Promise<ReconcileResult> {
    const { es } = this;
    const deletionPolicy = es.spec.target?.deletionPolicy ?? 'Retain';
    const requeue = this.nextRefresh(refreshIntervalMs);

    if (fetched.missing.length > 0 && deletionPolicy === 'Retain') {
      await this.setNotReady(
        ExternalSecretReason.SecretMissing,
        `remote secret not found: ${fetched.missing.join(', ')}; the Secret keeps its last data (deletionPolicy Retain)`,
      );
      await this.deps.events.record(this.eventTarget, 'Warning', EventReason.UpdateFailed, `remote secret not found: ${fetched.missing.join(', ')}`);
      // Created in the provider later, it is found at the recheck backoff, not only at the next refresh.
      return { ...requeue, recheck: true };
    }

    if (fetched.data.size === 0 && fetched.missing.length === 0 && deletionPolicy === 'Retain') {
      // As ESO: no data (a find that matched nothing) writes no Secret and keeps an existing one as it is.
      return this.finish(
        ExternalSecretReason.SecretSynced,
        'the provider returned no data (no key matched); no Secret written, an existing one is kept (deletionPolicy Retain)',
        requeue,
      );
    }

    if (creationPolicy === 'None') return this.finish(ExternalSecretReason.SecretSynced, 'provider values fetched; creationPolicy None writes no Secret', requeue);

    if (this.foreignOwner && fetched.data.size === 0 && deletionPolicy === 'Delete') {
      // The remote secrets are gone before an adoption: a Secret that is not ours yet is neither adopted nor deleted.
      await this.setNotReady(ExternalSecretReason.SecretMissing, `no remote data (${fetched.missing.join(', ') || 'nothing matched'}); Secret ${this.targetName} was not adopted and is left as it was`);
      return requeue;
    }

    if (creationPolicy === 'Merge' && !existingView) {
      throw new Error(
        `creationPolicy Merge needs an existing Secret ${this.namespace}/${this.targetName} to merge into: create it, or use creationPolicy Owner`,
      );
    }

    const existing = toExisting(existingView);
    if (fetched.data.size === 0 && deletionPolicy === 'Delete') {
      // Every remote secret is gone, or a find matched nothing (as ESO): remove the Secret we created.
      if (existingView) await this.deleteSecret(this.targetName, existingView.metadata?.uid);
      const why = fetched.missing.length > 0 ? `remote secrets gone (${fetched.missing.join(', ')})` : 'the provider returned no data (no key matched)';
      return this.finish(ExternalSecretReason.SecretDeleted, `${why}; Secret deleted (deletionPolicy Delete)`, requeue, false);
    }

    // Templates render before anything is written: an error leaves the Secret as it was.
    const shaped = await this.shape(fetched.data);
    const desired = buildDesiredSecret({
      namespace: this.namespace,
      name: this.targetName,
      creationPolicy,
      immutable: es.spec.target?.immutable ?? false,
      owner: { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, name: this.name, uid: this.uid },
      data: shaped.data,
      hmacKey: this.deps.hmacKey,
      type: shaped.type,
      labels: shaped.labels,
      annotations: shaped.annotations,
    });

    let view = existingView;
    let created = false;
    if (!view && (creationPolicy === 'Owner' || creationPolicy === 'Orphan')) {
      // Not in the cache: create it only if no Secret of that name exists; else see whose it is.
      created = await this.applyIfAbsent(desired);
      if (!created) {
        view = await this.deps.secrets.read(this.namespace, this.targetName);
        const target = this.observeTargetOf(view, creationPolicy);
        if (target.state === 'foreign' && !target.adopt) {
          return this.refuse(refusedRecheckMs({ uid: this.uid, refreshPolicy: es.spec.refreshPolicy ?? 'Periodic', refreshIntervalMs }));
        }
      }
    }
    const current = view === existingView ? existing : toExisting(view);
    if (!created) assertWritableTarget(this.namespace, this.targetName, current);
    if (created) {
      // Written by applyIfAbsent.
    } else if (this.foreignOwner && view) {
      await this.adopt(desired, view, this.foreignOwner);
    } else if (needsApply(desired, current)) {
      if (current?.immutable) {
        throw new TerminalError(
          `target Secret ${this.namespace}/${this.targetName} is immutable and its data differs from the provider's: delete it to let secret-relay recreate it`,
        );
      }
      const started = this.deps.clock.now();
      const action = view ? 'secret.update' : 'secret.create';
      try {
        await this.deps.secrets.apply(desired, fieldManagerFor(this.name));
        this.secretWritten = true;
        this.auditWrite(action, 'success', started);
      } catch (err) {
        this.auditWrite(action, 'error', started, describeError(err));
        throw err;
      }
      await this.deps.events.record(
        this.eventTarget,
        'Normal',
        view ? EventReason.Updated : EventReason.Created,
        `Secret ${this.targetName} ${view ? 'updated' : 'created'}`,
      );
    }

    // After a target rename, the Secret we created under the old name goes.
    const bound = es.status?.binding?.name;
    if (bound && bound !== this.targetName) {
      const old = this.deps.getManagedSecret(this.namespace, bound);
      // Only a Secret this ExternalSecret controls; a Merge/CreateOrMerge/Orphan target or someone else's stays.
      if (old?.metadata?.ownerReferences?.some((r) => r.uid === this.uid && r.controller === true)) await this.deleteSecret(bound, old.metadata.uid);
    }

    if (fetched.missing.length > 0) {
      return this.finish(
        ExternalSecretReason.SecretDeleted,
        `remote secret not found: ${fetched.missing.join(', ')}; its keys were removed (deletionPolicy ${deletionPolicy})`,
        requeue,
        false,
      );
    }
    return this.finish(ExternalSecretReason.SecretSynced, 'Secret was synced', requeue);
  }

  /** The create-only write of a target the cache does not hold; false (nothing written) when a Secret of that name exists. */
  private async applyIfAbsent(desired: ReturnType<typeof buildDesiredSecret>): Promise<boolean> {
    const started = this.deps.clock.now();
    let outcome: 'created' | 'exists';
    try {
      outcome = await this.deps.secrets.applyIfAbsent(desired, fieldManagerFor(this.name));
    } catch (err) {
      this.auditWrite('secret.create', 'error', started, describeError(err));
      throw err;
    }
    if (outcome === 'exists') return false;
    this.secretWritten = true;
    this.auditWrite('secret.create', 'success', started);
    await this.deps.events.record(this.eventTarget, 'Normal', EventReason.Created, `Secret ${this.targetName} created`);
    return true;
  }

  /**
   * Takes an existing Secret over (the secret-relay.dev/adopt opt-in): first the foreign controller reference and
   * the keys we do not declare go (a patch guarded by resourceVersion), then our apply takes every field we write.
   * Keys whose values equal the provider's are never absent or different in between.
   */
  private async adopt(desired: ReturnType<typeof buildDesiredSecret>, existingView: SecretView, from: ForeignOwner): Promise<void> {
    if (existingView.type !== undefined && desired.type !== undefined && existingView.type !== desired.type) {
      throw new TerminalError(
        `Secret ${this.namespace}/${this.targetName} is of type ${existingView.type} and this ExternalSecret writes ${desired.type}: ` +
          `set spec.target.template.type: ${existingView.type} to adopt it (a Secret's type cannot change)`,
      );
    }
    const fieldManager = fieldManagerFor(this.name);
    const patch = adoptionPatch(
      { ownerReferences: existingView.metadata?.ownerReferences, managedFields: existingView.metadata?.managedFields, dataKeys: Object.keys(existingView.data ?? {}) },
      { keys: new Set(Object.keys(desired.data)), writesType: desired.type !== undefined, fieldManager },
    );
    const dataDiffers = patch.removedKeys.length > 0 || Object.entries(desired.data).some(([key, value]) => existingView.data?.[key] !== value);
    if (existingView.immutable && dataDiffers) {
      throw new TerminalError(
        `Secret ${this.namespace}/${this.targetName} is immutable and its data differs from what this ExternalSecret writes: it cannot be adopted; delete it to let secret-relay recreate it`,
      );
    }
    const started = this.deps.clock.now();
    try {
      await this.deps.secrets.releaseForAdoption(
        { namespace: this.namespace, name: this.targetName, resourceVersion: existingView.metadata?.resourceVersion ?? '' },
        { ownerReferences: patch.ownerReferences.map((ref) => ({ ...ref })), removedKeys: patch.removedKeys, managedFields: patch.managedFields },
        fieldManager,
      );
      await this.deps.secrets.apply(desired, fieldManager);
      this.secretWritten = true;
      this.auditWrite('secret.adopt', 'success', started);
    } catch (err) {
      this.auditWrite('secret.adopt', 'error', started, describeError(err));
      throw err;
    }
    await this.deps.events.record(this.eventTarget, 'Normal', EventReason.Adopted, adoptionNote(this.targetName, from, patch.removedKeys));
  }

  private nextRefresh(refreshIntervalMs: number): ReconcileResult {
    if ((this.es.spec.refreshPolicy ?? 'Periodic') !== 'Periodic' || refreshIntervalMs <= 0) return undefined;
    return { requeueAfter: jitteredIntervalMs(this.uid, refreshIntervalMs) };
  }

  private async deleteSecret(name: string, uid: string | undefined): Promise<void> {
    const started = this.deps.clock.now();
    try {
      const outcome = await this.deps.secrets.delete(this.namespace, name, uid ? { uid } : undefined);
      this.secretWritten = true;
      this.auditWrite('secret.delete', outcome === 'deleted' ? 'success' : 'not_found', started, undefined, name);
    } catch (err) {
      this.auditWrite('secret.delete', 'error', started, describeError(err), name);
      throw err;
    }
    await this.deps.events.record(this.eventTarget, 'Normal', EventReason.Deleted, `Secret ${name} deleted`);
  }

  private auditWrite(
    action: 'secret.create' | 'secret.update' | 'secret.delete' | 'secret.adopt' | 'secret.refuse',
    result: AuditResult,
    started: number,
    error?: string,
    secretName = this.targetName,
  ): void {
    const ref = this.es.spec.secretStoreRef;
    this.deps.audit.record({
      action,
      externalSecret: { namespace: this.namespace, name: this.name },
      store: { kind: ref?.kind ?? 'SecretStore', name: ref?.name ?? '' },
      provider: this.source.provider,
      identity: this.source.client?.identity ?? '-',
      targetSecret: { namespace: this.namespace, name: secretName },
      result,
      durationMs: this.deps.clock.now() - started,
      ...(error ? { error } : {}),
    });
  }

  /** The one status write of a successful (or deliberately finished) sync. */
  private async finish(reason: string, message: string, requeue: ReconcileResult, ready = true): Promise<ReconcileResult> {
    const { es } = this;
    const update: ConditionUpdate = { type: ConditionType.Ready, status: ready ? 'True' : 'False', reason, message };
    const syncedResourceVersion = syncedResourceVersionOf({
      generation: es.metadata.generation ?? 0,
      labels: es.metadata.labels ?? {},
      annotations: es.metadata.annotations ?? {},
    });
    // status.refreshTime has second precision: remember what the apiserver will hold.
    const refreshTime = Math.floor(this.now / 1000) * 1000;
    const persisted = this.persistedRefreshTime();
    const deferrable = !this.secretWritten && persisted !== undefined && this.statusHolds(update, syncedResourceVersion);
    if (deferrable && refreshTime - persisted < this.refreshTimePeriodMs()) {
      // Nothing but refreshTime would change, and no Secret was written: the write waits (see DEFAULT_REFRESH_TIME_PERIOD_MS).
      this.written.set(this.key, { uid: this.uid, syncedResourceVersion, refreshTime, persistedRefreshTime: persisted, boundTargetName: this.targetName });
      this.deps.onSynced?.('deferred');
      return requeue;
    }
    await this.deps.status.patch(this.statusRef(), {
      conditions: setCondition(es.status?.conditions as Condition[] | undefined, update, this.now, es.metadata.generation),
      refreshTime: new Date(refreshTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      syncedResourceVersion,
      binding: { name: this.targetName },
    });
    this.written.set(this.key, { uid: this.uid, syncedResourceVersion, refreshTime, persistedRefreshTime: refreshTime, boundTargetName: this.targetName });
    this.deps.onSynced?.('written');
    return requeue;
  }

  private refreshTimePeriodMs(): number {
    return this.deps.refreshTimePeriodMs ?? DEFAULT_REFRESH_TIME_PERIOD_MS;
  }

  /** The status.refreshTime the apiserver holds: the cached one, or our own later write the cache has not shown yet. */
  private persistedRefreshTime(): number | undefined {
    const cached = this.es.status?.refreshTime ? Date.parse(this.es.status.refreshTime) : undefined;
    const ours = this.written.get(this.key);
    const mine = ours && ours.uid === this.uid ? ours.persistedRefreshTime : undefined;
    if (cached === undefined || Number.isNaN(cached)) return mine;
    return mine === undefined ? cached : Math.max(cached, mine);
  }

  /** Whether the cached status already says everything this sync would write, refreshTime aside. */
  private statusHolds(update: ConditionUpdate, syncedResourceVersion: string): boolean {
    const status = this.es.status;
    return (
      status?.syncedResourceVersion === syncedResourceVersion &&
      status.binding?.name === this.targetName &&
      sameCondition(findCondition(status.conditions as Condition[] | undefined, update.type), update, this.es.metadata.generation)
    );
  }

  private async setNotReady(reason: string, message: string): Promise<void> {
    await this.setReady({ type: ConditionType.Ready, status: 'False', reason, message });
  }

  private async ensureReadyAfterIdle(): Promise<void> {
    const ready = findCondition(this.es.status?.conditions as Condition[] | undefined, ConditionType.Ready);
    if (ready?.status === 'True') return;
    if (ready?.reason === ExternalSecretReason.SecretDeleted || ready?.reason === ExternalSecretReason.SecretMissing) return;
    await this.setReady({ type: ConditionType.Ready, status: 'True', reason: ExternalSecretReason.SecretSynced, message: 'Secret was synced' });
  }

  /** Writes the Ready condition alone, skipping the write when nothing would change; true when it wrote. */
  private async setReady(update: ConditionUpdate): Promise<boolean> {
    const conditions = this.es.status?.conditions as Condition[] | undefined;
    const generation = this.es.metadata.generation;
    if (sameCondition(findCondition(conditions, update.type), update, generation)) return false;
    await this.deps.status.patch(this.statusRef(), { conditions: setCondition(conditions, update, this.now, generation) });
    return true;
  }

  private statusRef() {
    return { group: API_GROUP, version: API_VERSION, plural: Plural.ExternalSecret, namespace: this.namespace, name: this.name };
  }
}

function toExisting(secret: SecretView | undefined): ExistingSecret | undefined {
  if (!secret) return undefined;
  return {
    labels: secret.metadata?.labels ?? {},
    annotations: secret.metadata?.annotations ?? {},
    data: secret.data ?? {},
    immutable: secret.immutable ?? false,
    ownerUids: (secret.metadata?.ownerReferences ?? []).map((r) => r.uid),
    type: secret.type,
  };
}

/** A Periodic ExternalSecret with a remote change pending syncs now, whatever its interval says. Pure. */
export function remoteChanged(decided: Decision, change: PendingChange | undefined, policy: string | undefined, refreshIntervalMs: number): Decision {
  if (!change || decided.action === 'sync' || decided.action === 'refuse') return decided;
  if ((policy ?? 'Periodic') !== 'Periodic' || refreshIntervalMs <= 0) return decided;
  return { action: 'sync', reason: 'remote-changed' };
}

export function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
}

/** nullBytePolicy Fail: a value holding a NUL byte fails the ExternalSecret, naming the key (never the value). */
function refuseNullBytes(where: string, data: ReadonlyMap<string, Uint8Array>): void {
  for (const [key, value] of data) {
    if (value.includes(0)) {
      throw new TerminalError(`${where}: the value for key "${key}" holds a NUL byte (nullBytePolicy Fail); store text (PEM, base64) or leave nullBytePolicy unset for binary data`);
    }
  }
}
