// One ExternalSecret, level-based. The steps, each returning what it found or did:
//   resolve the store(s) of each entry → observe the target Secret → decide (pure) → keep the generated leases
//   up → read the remote values → build and write the Secret → delete the one left by a rename → record the
//   status → commit the generated credentials' leases.
// Every failure becomes a condition, an Event, a metric and a retry; the last good Secret is never emptied because
// a provider failed, and credentials the Secret holds are never revoked (./new-credentials.ts).
import type { ExternalSecret, GeneratorLease } from '../../api/index.ts';
import { targetSecretName, API_GROUP, API_VERSION, API_GROUP_VERSION, Plural, Kind, ConditionType, ExternalSecretReason, EventReason, ROTATE_ANNOTATION } from '../../api/index.ts';
import { TerminalError } from '../../providers/provider.ts';
import type { SecretsClient } from '../../providers/provider.ts';
import { createTemplateEngine } from '../../templates/engine.ts';
import { describeError } from '../../k8s/describe-error.ts';
import { parseDuration } from '../../util/duration.ts';
import type { ConditionUpdate } from '../conditions.ts';
import { findCondition, sameCondition, setCondition } from '../conditions.ts';
import { RetryAtInterval, type ReconcileResult } from '../runtime/controller.ts';
import { decide } from './decide.ts';
import { remoteChanged } from '../changefeed/refresh-mark.ts';
import { managedSecretOrRead, type ExternalSecretReconcilerDeps, type InvalidObject, type ReconcilerDeps, type SecretView } from './deps.ts';
import { CredentialSecretError } from './desired-secret.ts';
import { generatorSources, LEASE_FINALIZER } from './generators.ts';
import { leasesOfSecret } from './lease-annotation.ts';
import { emptyMemory, type ReconcilerMemory } from './memory.ts';
import { perTerm } from './term-memory.ts';
import { NewCredentials } from './new-credentials.ts';
import { observeTargetSecret, observedExternalSecret, refuse, type SyncPolicy } from './observe-target.ts';
import { readRemoteValues, type KeptValues } from './read-remote.ts';
import { rotationAsked } from '../generators/local.ts';
import { ensureReadyAfterIdle, recordSync } from './record-status.ts';
import { resolveSources } from './resolve-sources.ts';
import { inlineSandbox } from './sandbox.ts';
import type { ResolvedStore } from './store-ref.ts';
import { GENERATED_SOURCE, NO_SOURCE, setNotReady, syncContext, type SyncContext, type WriteSource } from './sync-context.ts';
import { nextRefresh, removeRenamedSecret, writeSecret, type RenameCleanup } from './write-secret.ts';

export type { ExternalSecretReconcilerDeps, InvalidObject, ParsedObject, SecretView, TemplateSourceReader } from './deps.ts';
export { DEFAULT_REFRESH_TIME_PERIOD_MS } from './deps.ts';
export type { WrittenStatus } from './memory.ts';

export function createExternalSecretReconciler(options: ExternalSecretReconcilerDeps) {
  const templateEngine = options.templateEngine ?? createTemplateEngine();
  const deps: ReconcilerDeps = { ...options, templateEngine, sandbox: options.sandbox ?? inlineSandbox(templateEngine) };
  const memoryOfTerm = perTerm(emptyMemory);
  return async function reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const memory = memoryOfTerm();
    const [namespace, name] = splitKey(key);
    const cached = deps.getExternalSecret(namespace, name);
    // Gone: an Owner Secret follows through its ownerReference (garbage collector); others are kept by design.
    if (!cached) {
      memory.written.delete(key);
      memory.refusals.delete(key);
      return;
    }
    if (!cached.ok) {
      await reportInvalid(deps, namespace, name, cached);
      // Retrying cannot help until the object changes.
      throw new TerminalError(cached.error);
    }
    const es = cached.value;
    if (es.metadata.deletionTimestamp) {
      // Generated credentials are revoked before the finalizer lets the ExternalSecret go — also those only the
      // Secret's annotation records (a failed status patch): a Secret the cache has not seen yet is read, since
      // after the finalizer nothing would ever revoke them (a deletion is rare: one GET).
      if (deps.leases && es.metadata.finalizers?.includes(LEASE_FINALIZER)) {
        const target = targetSecretName(es);
        const secret = await managedSecretOrRead(deps, namespace, target);
        await deps.leases.release(es, signal, leasesHeld(deps, es, secret));
      }
      return;
    }
    return sync(syncContext(deps, es, signal, key), memory);
  };
}

async function reportInvalid(deps: ReconcilerDeps, namespace: string, name: string, invalid: { error: string; raw: InvalidObject }) {
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

/** One reconcile of an ExternalSecret that exists and is not being deleted. */
async function sync(ctx: SyncContext, memory: ReconcilerMemory): Promise<ReconcileResult> {
  const { deps, es, signal } = ctx;
  const policy = syncPolicy(ctx);
  const sources = resolveSources(es, deps.resolveStore);
  if (!sources.ok) {
    await setNotReady(ctx, sources.reason, sources.message);
    // Store changes requeue this object; the recheck (a cache read, no provider call) covers what no event tells.
    return { recheck: true };
  }
  const leases = deps.leases !== undefined && (generatorSources(es).size > 0 || deps.leases.tracks(es)) ? deps.leases : undefined;
  let credentials: NewCredentials | undefined;
  try {
    const observation = await observeTargetSecret(ctx, memory, policy.creationPolicy);
    // A change feed said a key it reads changed: sync now (../changefeed/refresh-mark.ts).
    const change = deps.remoteChanges?.pending(ctx.key);
    // Its last sync as status says, or as our own later write the cache has not shown yet (./memory.ts).
    const observed = observedExternalSecret(ctx, memory, policy);
    const decided = remoteChanged(decide(observed, observation.target, ctx.now), change, es.spec.refreshPolicy, policy.refreshIntervalMs);
    if (change && decided.action !== 'sync') deps.remoteChanges?.dismiss(ctx.key, change);
    // Refused before any provider call or generated credential: nothing could be written anyway.
    if (decided.action === 'refuse') return await refuse(ctx, memory, observation.foreignOwner!, decided.recheckMs, NO_SOURCE);
    memory.refusals.delete(ctx.key);
    // Leases of generated credentials: renewed when due; new credentials (a sync) before they end.
    const upkeep = leases ? await leases.maintain(es, ctx.now, signal, leasesHeld(deps, es, observation.view)) : { rotate: false, nextAt: undefined };
    const decision = upkeep.rotate ? ({ action: 'sync' } as const) : decided;
    if (decision.action !== 'sync') {
      await ensureReadyAfterIdle(ctx);
      return soonest(ctx, decision.action === 'wait' ? { requeueAfter: decision.ms } : undefined, upkeep.nextAt);
    }
    if (decided.action === 'sync' && decided.reason === 'target-renamed' && observation.target.state === 'intact' && !upkeep.rotate && !change) {
      // Synced under the new name already; only deleting the Secret under the old one failed: that is all left to do.
      return soonest(ctx, await finishRename(ctx, memory, policy, observed.boundTargetName, { provider: sources.stores[0]?.providerName ?? GENERATED_SOURCE.provider, identity: () => '-' }), upkeep.nextAt);
    }
    if (leases) await leases.ensureFinalizer(es);
    const clients = await openClients(ctx, sources.stores);
    const primary = sources.stores[0];
    const source: WriteSource = primary ? { provider: primary.providerName, identity: () => clients.get(primary)!.identity } : GENERATED_SOURCE;
    const remote = await readRemoteValues(ctx, sources.entries, (store) => clients.get(store)!, keptValues(ctx, observation.view));
    if (leases) credentials = new NewCredentials(leases, es, remote.issued, signal, deps.clock);
    const written = await writeSecret(ctx, memory, remote, observation, policy, source);
    if (written.kind !== 'synced') {
      // Nothing was written (refused; or the Secret keeps its last data): the Secret still holds the credentials
      // its recorded leases are for; those generated for this sync are revoked, not recorded in their place.
      await credentials?.abandon();
      if (written.kind === 'refused') return written.result;
      if (change) deps.remoteChanges?.handled(ctx.key, change);
      return soonest(ctx, written.result, upkeep.nextAt);
    }
    if (change) deps.remoteChanges?.handled(ctx.key, change);
    if (written.secret === 'written' || written.secret === 'deleted') credentials?.written();
    const cleanup: RenameCleanup = written.secret === 'written' || written.secret === 'unchanged' ? await removeRenamedSecret(ctx, observed.boundTargetName, source) : { kind: 'none' };
    const secretWritten = cleanup.kind === 'deleted' || written.secret === 'written' || written.secret === 'deleted';
    if (cleanup.kind === 'failed') {
      // The new Secret holds the values: recorded as synced but not Ready, still bound to the old name so that the
      // next reconcile deletes it without fetching (and generating) again; its credentials are committed, not revoked.
      await recordSync(ctx, memory, { ready: false, reason: ExternalSecretReason.SecretSyncedError, message: cleanup.error.message }, secretWritten, written.requeue, { binding: cleanup.bound });
      await credentials?.commit();
      throw cleanup.error;
    }
    const result = await recordSync(ctx, memory, written.status, secretWritten, written.requeue);
    return soonest(ctx, result, await credentials?.commit());
  } catch (err) {
    await credentials?.settleAfterFailure();
    // A failure the store asked to retry at its retryInterval: the queue requeues it (the wrapper), and while retries
    // are left nothing is reported, as ESO, whose client retries before the reconcile sees an error.
    if (err instanceof RetryAtInterval && (deps.failuresOf?.(ctx.key) ?? Infinity) < err.maxRetries) throw err;
    const failure = err instanceof RetryAtInterval ? err.failure : err;
    const message = describeError(failure);
    // The sync's own error is what is retried and reported: a failed status write must not replace it.
    await setNotReady(ctx, failure instanceof CredentialSecretError ? failure.reason : ExternalSecretReason.SecretSyncedError, message).catch(() => {});
    await deps.events.record(ctx.eventTarget, 'Warning', EventReason.UpdateFailed, message);
    throw err;
  }
}

/** The target's data for local generators to keep, and whether the rotate annotation asks for new values. */
function keptValues(ctx: SyncContext, view: SecretView | undefined): KeptValues {
  const data = new Map(Object.entries(view?.data ?? {}).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))]));
  return { data, rotate: rotationAsked(ctx.es.metadata.annotations, view?.metadata?.annotations, ROTATE_ANNOTATION) };
}

/** The rename's cleanup alone: the Secret under the new name holds the values fetched by the sync that recorded them. */
async function finishRename(ctx: SyncContext, memory: ReconcilerMemory, policy: SyncPolicy, bound: string | undefined, source: WriteSource): Promise<ReconcileResult> {
  const cleanup = await removeRenamedSecret(ctx, bound, source);
  if (cleanup.kind === 'failed') throw cleanup.error;
  const refreshedAt = ctx.es.status?.refreshTime ? Date.parse(ctx.es.status.refreshTime) : ctx.now;
  const status = { ready: true, reason: ExternalSecretReason.SecretSynced, message: 'Secret was synced' };
  return recordSync(ctx, memory, status, cleanup.kind === 'deleted', nextRefresh(ctx, policy.refreshIntervalMs), { refreshedAt });
}

function syncPolicy(ctx: SyncContext): SyncPolicy {
  const requested = parseDuration(ctx.es.spec.refreshInterval ?? '1h');
  // The operator's floor (--min-refresh-interval) applies to periodic refreshes; 0 still means "once per change".
  const refreshIntervalMs = requested > 0 ? Math.max(requested, ctx.deps.minRefreshIntervalMs ?? 0) : 0;
  return { refreshIntervalMs, creationPolicy: ctx.es.spec.target?.creationPolicy ?? 'Owner' };
}

/** The leases of the generated credentials `secret` holds, when its annotation verifies (./lease-annotation.ts). */
function leasesHeld(deps: ReconcilerDeps, es: ExternalSecret, secret: SecretView | undefined): GeneratorLease[] | undefined {
  const scope = { namespace: es.metadata.namespace ?? '', name: targetSecretName(es), externalSecretUid: es.metadata.uid ?? '' };
  return leasesOfSecret(deps.hmacKey, scope, secret?.metadata?.annotations);
}

/** A provider client per store the entries read from. */
async function openClients(ctx: SyncContext, stores: readonly ResolvedStore[]): Promise<Map<ResolvedStore, SecretsClient>> {
  const clients = new Map<ResolvedStore, SecretsClient>();
  for (const store of stores) clients.set(store, await ctx.deps.clientFor(store, ctx.namespace, ctx.signal));
  return clients;
}

/** The earlier of a requeue and a lease's next due time. */
function soonest(ctx: SyncContext, result: ReconcileResult, at: number | undefined): ReconcileResult {
  if (at === undefined) return result;
  const ms = Math.max(at - ctx.deps.clock.now(), 200);
  const current = result ? result.requeueAfter : undefined;
  return { requeueAfter: current === undefined ? ms : Math.min(current, ms) };
}

export function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
}
