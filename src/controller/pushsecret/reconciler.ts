// PushSecret: read the source (a Secret of the namespace, or a generator's kept value), push each value to each
// selected store unless the keyed HMAC in status says that destination already holds it, clean up destinations that
// were dropped (deletionPolicy Delete, and only what we created), and report one status patch. A deleted PushSecret
// under deletionPolicy Delete is held by a finalizer until what it created is deleted.
// status.syncedPushSecrets is what every decision here rests on (what is pushed, what we created, what to delete),
// and the cache lags behind our own patch of it: the reconcile the finalizer's own update event brings right after
// the first push, or a deletion during it, would otherwise read no entries — push everything again, forget under
// IfNotExists that we created it, or let the finalizer go with the remote secrets left behind for good. So the
// reconciler remembers, for one leadership term, the map it last wrote (recordedSynced).
import type { PushSecret, PushSecretSyncedEntry } from '../../api/index.ts';
import { ADOPT_ANNOTATION, API_GROUP, API_GROUP_VERSION, API_VERSION, ConditionType, Kind, Plural, PushSecretReason } from '../../api/index.ts';
import type { AuditLog, AuditResult } from '../../audit/audit-log.ts';
import type { EventRecorder } from '../../k8s/events.ts';
import type { FinalizerEditor } from '../../k8s/finalizers.ts';
import type { StatusWriter } from '../../k8s/status.ts';
import { describeError } from '../../k8s/describe-error.ts';
import { TemplateError } from '../../templates/errors.ts';
import type { SecretsClient } from '../../providers/provider.ts';
import { AccessDeniedError, NoSecretError, TerminalError } from '../../providers/provider.ts';
import { RemoteNotOwnedError, type PushResult } from '../../providers/push.ts';
import type { Clock } from '../../util/clock.ts';
import { parseDuration } from '../../util/duration.ts';
import { stableJson } from '../../util/stable-json.ts';
import { perTerm } from '../externalsecret/term-memory.ts';
import { setCondition, type Condition, type ConditionUpdate } from '../conditions.ts';
import type { ResolvedStore } from '../externalsecret/store-ref.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { checkDataTo, parseStoreStatusKey, pushHmac, pushItems, storeStatusKey, syncedPatch, type KeyRenamer, type PushItem, type SourceSecret, type SyncedMap } from './plan.ts';

/** Held on a PushSecret with deletionPolicy Delete until what it created remotely is deleted. */
export const PUSH_SECRET_FINALIZER = 'secret-relay.dev/push-secret-cleanup';

export type CachedPushSecret = { readonly ok: true; readonly value: PushSecret } | { readonly ok: false; readonly error: string; readonly uid: string; readonly conditions: readonly Condition[] | undefined; readonly generation: number | undefined };

/**
 * The source Secrets (one, or each spec.selector.secret.selector matches, by name; none is fine) — or the message
 * saying what is missing.
 */
export type SourceData = { readonly ok: true; readonly sources: readonly SourceSecret[]; readonly selected?: string | undefined } | { readonly ok: false; readonly message: string };

/** A selected store and its labels (spec.dataTo[].storeRef.labelSelector picks rules by them). */
export type SelectedStore = ResolvedStore & { readonly labels: Readonly<Record<string, string>> };

export type StoreSelection = { readonly ok: true; readonly stores: readonly SelectedStore[] } | { readonly ok: false; readonly message: string };

export interface PushSecretReconcilerDeps {
  readonly clock: Clock;
  readonly hmacKey: Uint8Array;
  readonly getPushSecret: (namespace: string, name: string) => CachedPushSecret | undefined;
  /** The stores spec.secretStoreRefs selects (by name or label), resolved as an ExternalSecret of the namespace would. */
  readonly selectStores: (ps: PushSecret) => StoreSelection;
  /**
   * A store by its status key, for cleaning up a destination no longer selected: `gone` when it no longer exists
   * (or may no longer be used from this namespace); otherwise it exists but cannot be used now (not Ready).
   */
  readonly storeByStatusKey: (namespace: string, kind: 'SecretStore' | 'ClusterSecretStore', name: string) => { readonly ok: true; readonly store: ResolvedStore } | { readonly ok: false; readonly gone: boolean; readonly message: string };
  readonly readSource: (ps: PushSecret, signal: AbortSignal) => Promise<SourceData>;
  /** spec.template over one source's data (Liquid, as ExternalSecret templates; rendered in the sandbox): the data with the rendered keys. */
  readonly renderTemplate?: ((ps: PushSecret, data: ReadonlyMap<string, Uint8Array>, signal: AbortSignal) => Promise<Map<string, Uint8Array>>) | undefined;
  /** spec.dataTo[].rewrite (original key → remote key): a renamer for one reconcile, which shares one render budget. */
  readonly newKeyRenamer: () => KeyRenamer;
  readonly clientFor: (store: ResolvedStore, namespace: string, signal: AbortSignal) => Promise<SecretsClient>;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly audit: AuditLog;
  readonly finalizers: FinalizerEditor;
  /** --min-refresh-interval: a shorter non-zero refreshInterval is raised to it. */
  readonly minRefreshIntervalMs?: number | undefined;
  /** Counted per write outcome (secret_relay_push_writes_total). */
  readonly onWrite?: (provider: string, result: PushResult | 'denied' | 'error' | 'deleted') => void;
}

const ownerOf = (ps: PushSecret) => `${ps.metadata.namespace ?? ''}/${ps.metadata.name}`;
const storeLabel = (store: ResolvedStore) => (store.kind === 'ClusterSecretStore' ? `ClusterSecretStore ${store.name}` : `SecretStore ${store.namespace}/${store.name}`);
const auditResult = (err: unknown): AuditResult => (err instanceof RemoteNotOwnedError || err instanceof AccessDeniedError ? 'denied' : err instanceof NoSecretError ? 'not_found' : 'error');

export function createPushSecretReconciler(deps: PushSecretReconcilerDeps) {
  // By key: the syncedPushSecrets this process last wrote (`written`), and the fingerprints of every map it derived
  // from or wrote (`seen`). A cached map among `seen` but not `written` is merely lagging; any other was written by
  // someone else (another leader, a user) and is the truth. Per leadership term (../externalsecret/term-memory.ts).
  const writtenInTerm = perTerm(() => new Map<string, { readonly uid: string; readonly written: SyncedMap; readonly seen: Set<string> }>());
  /** status.syncedPushSecrets: the cached one, or our own later write the cache does not show yet. */
  const recordedSynced = (key: string, ps: PushSecret): SyncedMap => {
    const cached = ps.status?.syncedPushSecrets ?? {};
    const memory = writtenInTerm().get(key);
    if (!memory) return cached;
    const fingerprint = stableJson(cached);
    if (memory.uid === ps.metadata.uid && fingerprint !== stableJson(memory.written) && memory.seen.has(fingerprint)) return memory.written;
    writtenInTerm().delete(key); // caught up, or written by someone else since: the cache is the truth
    return cached;
  };
  const rememberSynced = (ps: PushSecret, base: SyncedMap, written: SyncedMap): void => {
    const key = `${ps.metadata.namespace ?? ''}/${ps.metadata.name}`;
    const earlier = writtenInTerm().get(key);
    const seen = new Set(earlier !== undefined && earlier.uid === ps.metadata.uid ? earlier.seen : []);
    seen.add(stableJson(base));
    seen.add(stableJson(ps.status?.syncedPushSecrets ?? {}));
    seen.add(stableJson(written));
    writtenInTerm().set(key, { uid: ps.metadata.uid ?? '', written, seen });
  };
  const statusRef = (namespace: string, name: string) => ({ group: API_GROUP, version: API_VERSION, plural: Plural.PushSecret, namespace, name });
  const target = (ps: { metadata: { namespace?: string | undefined; name: string; uid?: string | undefined } }) => ({
    apiVersion: API_GROUP_VERSION,
    kind: Kind.PushSecret,
    namespace: ps.metadata.namespace ?? '',
    name: ps.metadata.name,
    uid: ps.metadata.uid ?? '',
  });

  /** One status patch; `recorded`: the syncedPushSecrets `synced` replaces (recordedSynced). */
  async function report(ps: PushSecret, recorded: SyncedMap, update: ConditionUpdate, synced: SyncedMap | undefined, refreshed: boolean): Promise<void> {
    const generation = ps.metadata.generation;
    const conditions = setCondition(ps.status?.conditions as Condition[] | undefined, update, deps.clock.now(), generation);
    const before = ps.status?.conditions?.find((c) => c.type === ConditionType.Ready);
    const patch: Record<string, unknown> = {};
    const same = before !== undefined && before.status === update.status && before.reason === update.reason && before.message === update.message && before.observedGeneration === generation;
    if (!same) patch['conditions'] = conditions;
    const changes = synced === undefined ? undefined : syncedPatch(recorded, synced);
    if (changes !== undefined) patch['syncedPushSecrets'] = changes;
    if (refreshed) {
      patch['refreshTime'] = new Date(deps.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      patch['syncedResourceVersion'] = String(generation ?? 0);
    }
    if (Object.keys(patch).length > 0) await deps.status.patch(statusRef(ps.metadata.namespace ?? '', ps.metadata.name), patch);
    if (changes !== undefined) rememberSynced(ps, recorded, synced!);
  }

  function audit(ps: PushSecret, store: ResolvedStore, client: SecretsClient | undefined, action: 'provider.write' | 'provider.delete', remoteKey: string, started: number, err?: unknown, result?: AuditResult): void {
    deps.audit.record({
      action,
      pushSecret: { namespace: ps.metadata.namespace ?? '', name: ps.metadata.name },
      store: { kind: store.kind, name: store.name },
      provider: store.providerName,
      identity: client?.identity ?? '-',
      remoteKey,
      result: result ?? (err === undefined ? 'success' : auditResult(err)),
      durationMs: deps.clock.now() - started,
      ...(err !== undefined ? { error: describeError(err) } : {}),
    });
  }

  /** Deletes one destination if it is ours; true when it is gone (or was never ours to delete). */
  async function deleteDestination(ps: PushSecret, store: ResolvedStore, remoteKey: string, property: string | undefined, signal: AbortSignal): Promise<void> {
    const started = deps.clock.now();
    const subject = property ? `${remoteKey}#${property}` : remoteKey;
    let client: SecretsClient | undefined;
    try {
      client = await deps.clientFor(store, ps.metadata.namespace ?? '', signal);
      if (!client.deleteSecret) throw new TerminalError(`${storeLabel(store)} (provider ${store.providerName}) cannot delete pushed secrets`);
      const result = await client.deleteSecret({ remoteKey, property, owner: ownerOf(ps) }, signal);
      audit(ps, store, client, 'provider.delete', subject, started, undefined, result === 'deleted' ? 'success' : result === 'absent' ? 'not_found' : 'denied');
      if (result === 'deleted') {
        deps.onWrite?.(store.providerName, 'deleted');
        await deps.events.record(target(ps), 'Normal', PushSecretReason.RemoteDeleted, `deleted ${subject} from ${storeLabel(store)}`);
      } else if (result === 'not-owned') {
        await deps.events.record(target(ps), 'Warning', PushSecretReason.RemoteExistsNotOwned, `${subject} in ${storeLabel(store)} no longer carries this PushSecret's mark: left in place`);
      }
    } catch (err) {
      audit(ps, store, client, 'provider.delete', subject, started, err);
      throw err;
    }
  }

  /** Deletes what status says we created; entries whose store is gone are dropped. Returns what is left. */
  async function cleanUp(ps: PushSecret, entries: SyncedMap, keep: (storeKey: string, key: string) => boolean, signal: AbortSignal): Promise<{ left: Record<string, Record<string, PushSecretSyncedEntry>>; errors: string[] }> {
    const namespace = ps.metadata.namespace ?? '';
    const left: Record<string, Record<string, PushSecretSyncedEntry>> = {};
    const errors: string[] = [];
    for (const [storeKey, byKey] of Object.entries(entries)) {
      for (const [key, entry] of Object.entries(byKey)) {
        if (keep(storeKey, key)) {
          (left[storeKey] ??= {})[key] = entry;
          continue;
        }
        if (ps.spec.deletionPolicy !== 'Delete' || entry.created !== true) continue; // forgotten, left in place
        const parsed = parseStoreStatusKey(storeKey);
        const found = parsed && deps.storeByStatusKey(namespace, parsed.kind, parsed.name);
        if (!found || (!found.ok && found.gone)) continue; // the store is gone: nothing we can reach
        if (!found.ok) {
          // There but not usable now (not Ready): kept, and retried — dropping it would leave the remote secret for good.
          errors.push(`deleting ${key} from ${parsed.kind} ${parsed.name}: ${found.message}`);
          (left[storeKey] ??= {})[key] = entry;
          continue;
        }
        const store = found.store;
        try {
          await deleteDestination(ps, store, entry.match.remoteRef.remoteKey, entry.match.remoteRef.property, signal);
        } catch (err) {
          errors.push(`deleting ${key} from ${storeLabel(store)}: ${describeError(err)}`);
          (left[storeKey] ??= {})[key] = entry;
        }
      }
    }
    return { left, errors };
  }

  async function finalize(ps: PushSecret, recorded: SyncedMap, signal: AbortSignal): Promise<ReconcileResult> {
    if (!ps.metadata.finalizers?.includes(PUSH_SECRET_FINALIZER)) return;
    const { left, errors } = await cleanUp(ps, recorded, () => false, signal);
    if (errors.length > 0) {
      await report(ps, recorded, { type: ConditionType.Ready, status: 'False', reason: PushSecretReason.Errored, message: `deleting: ${errors.join('; ')}` }, left, false);
      throw new Error(`PushSecret ${ownerOf(ps)}: ${errors.join('; ')}`);
    }
    await deps.finalizers.remove(ps.metadata.namespace ?? '', ps.metadata.name, PUSH_SECRET_FINALIZER);
  }

  async function pushAll(ps: PushSecret, previous: SyncedMap, itemsOf: ReadonlyMap<SelectedStore, readonly PushItem[]>, signal: AbortSignal) {
    const namespace = ps.metadata.namespace ?? '';
    const adopt = ps.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';
    const synced: Record<string, Record<string, PushSecretSyncedEntry>> = {};
    const refused: string[] = [];
    const failed: string[] = [];
    let terminal = true;
    for (const [store, items] of itemsOf) {
      const storeKey = storeStatusKey(store.kind, store.name);
      let client: SecretsClient | undefined;
      for (const item of items) {
        const hmac = pushHmac(deps.hmacKey, { store: storeKey, storeGeneration: store.generation, item, updatePolicy: ps.spec.updatePolicy, adopt });
        const before = previous[storeKey]?.[item.statusKey];
        const entry = (created: boolean, withHmac: boolean): PushSecretSyncedEntry => ({
          match: { ...(item.secretKey !== undefined ? { secretKey: item.secretKey } : {}), remoteRef: { remoteKey: item.remoteKey, ...(item.property !== undefined ? { property: item.property } : {}) } },
          ...(item.conversionStrategy !== 'None' ? { conversionStrategy: item.conversionStrategy } : {}),
          ...(withHmac ? { hmac } : {}),
          created,
        });
        if (before?.hmac === hmac) {
          (synced[storeKey] ??= {})[item.statusKey] = before; // nothing new: no remote call at all
          continue;
        }
        const started = deps.clock.now();
        const subject = item.property ? `${item.remoteKey}#${item.property}` : item.remoteKey;
        try {
          client ??= await deps.clientFor(store, namespace, signal);
          if (!client.pushSecret) throw new TerminalError(`${storeLabel(store)} uses provider ${store.providerName}, which cannot push secrets${client.pushUnsupported ? `: ${client.pushUnsupported}` : ' yet'}`);
          const result = await client.pushSecret({ remoteKey: item.remoteKey, property: item.property, value: item.value, owner: ownerOf(ps), adopt, updatePolicy: ps.spec.updatePolicy, metadata: item.metadata }, signal);
          deps.onWrite?.(store.providerName, result);
          if (result === 'created' || result === 'updated') {
            audit(ps, store, client, 'provider.write', subject, started);
            await deps.events.record(target(ps), 'Normal', PushSecretReason.Pushed, `${result === 'created' ? 'created' : 'updated'} ${subject} in ${storeLabel(store)}`);
          }
          (synced[storeKey] ??= {})[item.statusKey] = entry(result !== 'exists' || before?.created === true, true);
        } catch (err) {
          audit(ps, store, client, 'provider.write', subject, started, err);
          deps.onWrite?.(store.providerName, err instanceof RemoteNotOwnedError ? 'denied' : 'error');
          if (before) {
            // Kept (so a later cleanup still knows it), but without its HMAC: the next pass tries again.
            const { hmac: _stale, ...rest } = before;
            (synced[storeKey] ??= {})[item.statusKey] = rest;
          }
          if (err instanceof RemoteNotOwnedError) {
            refused.push(`${storeLabel(store)}: ${describeError(err)}`);
            await deps.events.record(target(ps), 'Warning', PushSecretReason.RemoteExistsNotOwned, `${storeLabel(store)}: ${describeError(err)}`);
          } else {
            if (!(err instanceof TerminalError)) terminal = false;
            failed.push(`${subject} in ${storeLabel(store)}: ${describeError(err)}`);
          }
        }
      }
    }
    return { synced, refused, failed, terminal };
  }

  return async function reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const cached = deps.getPushSecret(namespace, name);
    if (!cached) {
      writtenInTerm().delete(key);
      return;
    }
    if (!cached.ok) {
      const before = cached.conditions?.find((c) => c.type === ConditionType.Ready);
      if (before?.reason !== PushSecretReason.InvalidSpec || before.message !== cached.error) {
        await deps.status.patch(statusRef(namespace, name), { conditions: setCondition(cached.conditions as Condition[] | undefined, { type: ConditionType.Ready, status: 'False', reason: PushSecretReason.InvalidSpec, message: cached.error }, deps.clock.now(), cached.generation) });
        await deps.events.record({ apiVersion: API_GROUP_VERSION, kind: Kind.PushSecret, namespace, name, uid: cached.uid }, 'Warning', PushSecretReason.InvalidSpec, cached.error);
      }
      throw new TerminalError(cached.error);
    }
    const ps = cached.value;
    const recorded = recordedSynced(key, ps);
    if (ps.metadata.deletionTimestamp !== undefined) return finalize(ps, recorded, signal);
    // The finalizer first, so nothing is created remotely that a deletion could then leave behind.
    if (ps.spec.deletionPolicy === 'Delete') await deps.finalizers.add(namespace, name, PUSH_SECRET_FINALIZER);
    else if (ps.metadata.finalizers?.includes(PUSH_SECRET_FINALIZER)) await deps.finalizers.remove(namespace, name, PUSH_SECRET_FINALIZER);

    const asked = parseDuration(ps.spec.refreshInterval);
    const refreshMs = asked > 0 ? Math.max(asked, deps.minRefreshIntervalMs ?? 0) : 0;
    const next: ReconcileResult = refreshMs > 0 ? { requeueAfter: refreshMs } : undefined;
    const fail = async (reason: string, message: string, synced?: SyncedMap) => {
      await report(ps, recorded, { type: ConditionType.Ready, status: 'False', reason, message }, synced, false);
      await deps.events.record(target(ps), 'Warning', reason, message);
    };

    const selection = deps.selectStores(ps);
    if (!selection.ok) {
      await fail(PushSecretReason.StoreNotReady, selection.message);
      throw new TerminalError(selection.message);
    }
    const source = await deps.readSource(ps, signal);
    if (!source.ok) {
      await fail(PushSecretReason.SourceMissing, source.message);
      throw new TerminalError(source.message);
    }
    const itemsOf = new Map<SelectedStore, PushItem[]>();
    try {
      checkDataTo(ps, selection.stores);
      let sources = source.sources;
      if (ps.spec.template !== undefined) {
        const render = deps.renderTemplate;
        if (!render) throw new TerminalError('spec.template cannot be rendered by this operator (no template engine configured)');
        // Rendered before anything is pushed: a template error pushes nothing.
        sources = await Promise.all(sources.map(async (secret) => ({ name: secret.name, data: await render(ps, secret.data, signal) })));
      }
      const rename = deps.newKeyRenamer();
      for (const store of selection.stores) itemsOf.set(store, pushItems(ps, sources, store, rename));
    } catch (err) {
      // The spec (or the template against these values) cannot work; a transient failure (the sandbox's budget) is retried.
      if (!(err instanceof TerminalError) && !(err instanceof TemplateError)) {
        await fail(PushSecretReason.Errored, describeError(err));
        throw err;
      }
      await fail(PushSecretReason.InvalidSpec, describeError(err));
      throw err instanceof TerminalError ? err : new TerminalError(describeError(err));
    }

    const { synced, refused, failed, terminal } = await pushAll(ps, recorded, itemsOf, signal);
    // Destinations no longer asked for: deleted if ours under deletionPolicy Delete, else forgotten.
    const wanted = new Set([...itemsOf].flatMap(([store, items]) => items.map((item) => `${storeStatusKey(store.kind, store.name)}\u0000${item.statusKey}`)));
    const stale: Record<string, Record<string, PushSecretSyncedEntry>> = {};
    for (const [storeKey, byKey] of Object.entries(recorded)) {
      for (const [key, entry] of Object.entries(byKey)) if (!wanted.has(`${storeKey}\u0000${key}`)) (stale[storeKey] ??= {})[key] = entry;
    }
    const cleanup = await cleanUp(ps, stale, () => false, signal);
    for (const [storeKey, byKey] of Object.entries(cleanup.left)) Object.assign((synced[storeKey] ??= {}), byKey);
    failed.push(...cleanup.errors);

    if (refused.length > 0) {
      await report(ps, recorded, { type: ConditionType.Ready, status: 'False', reason: PushSecretReason.RemoteExistsNotOwned, message: [...refused, ...failed].join('; ') }, synced, false);
      // Rechecked at the refresh interval (someone may delete theirs), without error backoff.
      if (failed.length > 0 && !terminal) throw new Error(failed.join('; '));
      return next;
    }
    if (failed.length > 0) {
      await fail(PushSecretReason.Errored, failed.join('; '), synced);
      if (terminal) throw new TerminalError(failed.join('; '));
      throw new Error(failed.join('; '));
    }
    const stores = selection.stores.map(storeLabel).join(', ') || 'no store (no store matches spec.secretStoreRefs)';
    const message = source.sources.length === 0 ? `nothing to push: no Secret matches ${source.selected ?? 'spec.selector'}` : `pushed to ${stores}`;
    await report(ps, recorded, { type: ConditionType.Ready, status: 'True', reason: PushSecretReason.Synced, message }, synced, true);
    return next;
  };
}

