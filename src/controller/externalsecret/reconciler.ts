// One ExternalSecret, level-based: observe (caches) → decide (pure) → fetch (provider) → build (pure) →
// apply (server-side apply) → one status patch. Every failure becomes a condition, an Event, a metric and a
// retry; the last good Secret is never emptied because a provider failed.
import type { Clock } from '../../util/clock.ts';
import type { ExternalSecret } from '../../api/index.ts';
import { targetSecretName, API_GROUP, API_VERSION, API_GROUP_VERSION, Plural, Kind, ConditionType, ExternalSecretReason, EventReason } from '../../api/index.ts';
import type { AuditLog, AuditResult } from '../../audit/audit-log.ts';
import type { SecretWriter } from '../../k8s/secrets.ts';
import { fieldManagerFor } from '../../k8s/secrets.ts';
import type { StatusWriter } from '../../k8s/status.ts';
import type { EventRecorder, EventTarget } from '../../k8s/events.ts';
import type { SecretsClient } from '../../providers/provider.ts';
import { AccessDeniedError, NoSecretError, TerminalError } from '../../providers/provider.ts';
import { decode, extractProperty, jsonObjectEntries } from '../../providers/decoding.ts';
import type { ExternalSecretDataFrom } from '../../api/types.generated.ts';
import { createTemplateEngine, type TemplateEngine } from '../../templates/engine.ts';
import { renderSecret, templateSourceNames, type RenderedSecret, type TemplateSources } from '../../templates/render-secret.ts';
import { mergeSources, shapeDataFrom, type KeySource } from './data-from.ts';
import { generatorSources, type IssuedCredentials, type LeaseKeeper } from './generators.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Condition, ConditionUpdate } from '../conditions.ts';
import { findCondition, sameCondition, setCondition } from '../conditions.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { decide, jitteredIntervalMs, syncedResourceVersionOf, type ObservedExternalSecret } from './decide.ts';
import { buildDesiredSecret, needsApply, observeTarget, type ExistingSecret } from './desired-secret.ts';
import type { ResolvedStore, StoreResolution } from './store-ref.ts';
import { describeError } from '../describe-error.ts';

/** What the reconciler reads of a Secret; the k8s V1Secret fits. */
export interface SecretView {
  readonly metadata?: {
    readonly labels?: Record<string, string> | undefined;
    readonly annotations?: Record<string, string> | undefined;
    readonly ownerReferences?: readonly { readonly uid: string }[] | undefined;
    readonly uid?: string | undefined;
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
}

/**
 * What this process last wrote to an ExternalSecret's status. The informer cache can lag behind our own
 * status patch; deciding from that stale copy would refetch (and break CreatedOnce) right after a sync.
 */
export interface WrittenStatus {
  readonly syncedResourceVersion: string;
  readonly refreshTime: number;
  readonly boundTargetName: string;
}

type FetchOutcome = { readonly data: Map<string, Uint8Array>; readonly missing: string[] };

export function createExternalSecretReconciler(options: ExternalSecretReconcilerDeps) {
  const deps: ExternalSecretReconcilerDeps = { ...options, templateEngine: options.templateEngine ?? createTemplateEngine() };
  const written = new Map<string, WrittenStatus>();
  return async function reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const cached = deps.getExternalSecret(namespace, name);
    // Gone: an Owner Secret follows through its ownerReference (garbage collector); others are kept by design.
    if (!cached) {
      written.delete(key);
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
    return new Reconciliation(deps, es, signal, written, key).run();
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

  private readonly written: Map<string, WrittenStatus>;
  private readonly key: string;

  constructor(deps: ExternalSecretReconcilerDeps, es: ExternalSecret, signal: AbortSignal, written: Map<string, WrittenStatus>, key: string) {
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
    const refreshIntervalMs = parseDuration(es.spec.refreshInterval ?? '1h');
    const creationPolicy = es.spec.target?.creationPolicy ?? 'Owner';

    const store = this.deps.resolveStore(es);
    if (!store.ok) {
      await this.setNotReady(store.reason, store.message);
      // Store changes requeue this object; until then there is nothing to retry.
      return;
    }

    let existing = this.deps.getManagedSecret(this.namespace, this.targetName);
    if (!existing && creationPolicy === 'Merge') existing = await this.deps.secrets.read(this.namespace, this.targetName);
    const target = creationPolicy === 'None' ? ({ state: 'intact' } as const) : observeTarget(toExisting(existing), this.deps.hmacKey);

    const leases = this.deps.leases;
    const generating = leases !== undefined && (generatorSources(es).size > 0 || leases.leasesOf(es).length > 0);
    try {
      // Leases of generated credentials: renewed when due; new credentials (a sync) before they end.
      const upkeep = generating ? await leases.maintain(es, this.now, this.signal) : { rotate: false, nextAt: undefined };
      const decision = upkeep.rotate ? ({ action: 'sync' } as const) : decide(this.observed(refreshIntervalMs), target, this.now);
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
      const nextAt = generating ? await leases.commit(es, this.issued, this.deps.clock.now(), this.signal) : undefined;
      return this.soonest(result, nextAt);
    } catch (err) {
      if (this.issued.length > 0) await this.deps.leases?.abandon(es, this.issued, this.signal);
      const message = describeError(err);
      await this.setNotReady(ExternalSecretReason.SecretSyncedError, message);
      await this.deps.events.record(this.eventTarget, 'Warning', EventReason.UpdateFailed, message);
      throw err;
    }
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
    if (ours && (statusTime === undefined || ours.refreshTime > statusTime)) {
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
    const sources: KeySource[] = [];
    const missing: string[] = [];
    const dataEntries = this.es.spec.data ?? [];
    for (const [index, entry] of dataEntries.entries()) {
      const { key, property, version, decodingStrategy, metadataPolicy } = entry.remoteRef;
      const value = await this.read(client, store, property ? `${key}#${property}` : key, missing, async () => {
        // The whole value is fetched (property and decoding applied here), so ExternalSecrets reading
        // different properties of one remote secret share one provider call.
        const raw = await client.getSecret({ key, ...(version ? { version } : {}), ...(metadataPolicy === 'Fetch' ? { metadataPolicy } : {}) }, this.signal);
        const selected = property ? extractProperty(raw, property, key) : raw;
        return decode(selected, decodingStrategy ?? 'None', key);
      }, property ? `${key} (property ${property})` : key);
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
      sources.push({ where: label, data: shapeDataFrom(entry, fetched, this.deps.templateEngine!, where) });
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
      const { key, property, version } = entry.extract;
      return this.read(client, store, property ? `${key}#${property}` : key, missing, async () => {
        // The whole value (split here), so a data[] entry and an extract of the same key share one call.
        const raw = await client.getSecret({ key, ...(version ? { version } : {}) }, this.signal);
        const selected = property ? extractProperty(raw, property, key) : raw;
        return new Map(Object.entries(jsonObjectEntries(selected, key)));
      }, property ? `${key} (property ${property})` : key);
    }
    if (entry.sourceRef) {
      const leases = this.deps.leases;
      if (!leases) throw new TerminalError('dataFrom[].sourceRef.generatorRef is not served by this operator');
      const { data, issued } = await leases.generate(this.es, index, entry.sourceRef.generatorRef, this.deps.clock.now(), this.signal);
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
  private async shape(data: Map<string, Uint8Array>): Promise<RenderedSecret | { data: Map<string, Uint8Array>; type?: undefined; labels?: undefined; annotations?: undefined }> {
    const template = this.es.spec.target?.template;
    if (!template) return { data };
    return renderSecret(this.deps.templateEngine!, data, template, await this.readTemplateSources());
  }

  private async write(
    fetched: FetchOutcome,
    existingView: SecretView | undefined,
    creationPolicy: 'Owner' | 'Orphan' | 'Merge' | 'None',
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
      return requeue;
    }

    if (creationPolicy === 'None') return this.finish(ExternalSecretReason.SecretSynced, 'provider values fetched; creationPolicy None writes no Secret', requeue);

    if (creationPolicy === 'Merge' && !existingView) {
      throw new Error(
        `creationPolicy Merge needs an existing Secret ${this.namespace}/${this.targetName} to merge into: create it, or use creationPolicy Owner`,
      );
    }

    const existing = toExisting(existingView);
    if (fetched.data.size === 0 && fetched.missing.length > 0 && deletionPolicy === 'Delete') {
      // Every remote secret is gone: remove the Secret we created.
      if (existingView) await this.deleteSecret(this.targetName, existingView.metadata?.uid);
      return this.finish(ExternalSecretReason.SecretDeleted, `remote secrets gone (${fetched.missing.join(', ')}); Secret deleted (deletionPolicy Delete)`, requeue, false);
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

    if (needsApply(desired, existing)) {
      if (existing?.immutable) {
        throw new TerminalError(
          `target Secret ${this.namespace}/${this.targetName} is immutable and its data differs from the provider's: delete it to let secret-relay recreate it`,
        );
      }
      const started = this.deps.clock.now();
      const action = existingView ? 'secret.update' : 'secret.create';
      try {
        await this.deps.secrets.apply(desired, fieldManagerFor(this.name));
        this.auditWrite(action, 'success', started);
      } catch (err) {
        this.auditWrite(action, 'error', started, describeError(err));
        throw err;
      }
      await this.deps.events.record(
        this.eventTarget,
        'Normal',
        existingView ? EventReason.Updated : EventReason.Created,
        `Secret ${this.targetName} ${existingView ? 'updated' : 'created'}`,
      );
    }

    // After a target rename, the Secret we created under the old name goes.
    const bound = es.status?.binding?.name;
    if (bound && bound !== this.targetName) {
      const old = this.deps.getManagedSecret(this.namespace, bound);
      if (old?.metadata?.ownerReferences?.some((r) => r.uid === this.uid)) await this.deleteSecret(bound, old.metadata.uid);
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

  private nextRefresh(refreshIntervalMs: number): ReconcileResult {
    if ((this.es.spec.refreshPolicy ?? 'Periodic') !== 'Periodic' || refreshIntervalMs <= 0) return undefined;
    return { requeueAfter: jitteredIntervalMs(this.uid, refreshIntervalMs) };
  }

  private async deleteSecret(name: string, uid: string | undefined): Promise<void> {
    const started = this.deps.clock.now();
    try {
      const outcome = await this.deps.secrets.delete(this.namespace, name, uid ? { uid } : undefined);
      this.auditWrite('secret.delete', outcome === 'deleted' ? 'success' : 'not_found', started, undefined, name);
    } catch (err) {
      this.auditWrite('secret.delete', 'error', started, describeError(err), name);
      throw err;
    }
    await this.deps.events.record(this.eventTarget, 'Normal', EventReason.Deleted, `Secret ${name} deleted`);
  }

  private auditWrite(
    action: 'secret.create' | 'secret.update' | 'secret.delete',
    result: AuditResult,
    started: number,
    error?: string,
    secretName = this.targetName,
  ): void {
    const ref = this.es.spec.secretStoreRef;
    this.deps.audit.record({
      action,
      externalSecret: { namespace: this.namespace, name: this.name },
      store: { kind: ref.kind ?? 'SecretStore', name: ref.name },
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
    await this.deps.status.patch(this.statusRef(), {
      conditions: setCondition(es.status?.conditions as Condition[] | undefined, update, this.now, es.metadata.generation),
      refreshTime: new Date(refreshTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      syncedResourceVersion,
      binding: { name: this.targetName },
    });
    this.written.set(this.key, { syncedResourceVersion, refreshTime, boundTargetName: this.targetName });
    return requeue;
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

  /** Writes the Ready condition alone, skipping the write when nothing would change. */
  private async setReady(update: ConditionUpdate): Promise<void> {
    const conditions = this.es.status?.conditions as Condition[] | undefined;
    const generation = this.es.metadata.generation;
    if (sameCondition(findCondition(conditions, update.type), update, generation)) return;
    await this.deps.status.patch(this.statusRef(), { conditions: setCondition(conditions, update, this.now, generation) });
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

export function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
}
