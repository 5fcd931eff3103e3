// Step: write the Secret the remote values make — create, update, adopt or delete it, or leave it as it is and
// say why — and, after a target rename, delete the Secret this ExternalSecret created under the old name. Each
// returns what it did; the status is recorded by the next step.
import { ExternalSecretReason, EventReason } from '../../api/index.ts';
import type { CreationPolicy } from '../../api/types.generated.ts';
import { fieldManagerFor } from '../../k8s/secrets.ts';
import { TerminalError } from '../../providers/provider.ts';
import { describeError } from '../../k8s/describe-error.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { desiredSecret } from './build-secret.ts';
import { nextRefreshAt, refreshPhaseOf, refusedRecheckMs } from './decide.ts';
import { assertWritableTarget, needsApply, type SecretApplyBody } from './desired-secret.ts';
import { managedSecretOrRead, type SecretView } from './deps.ts';
import type { ReconcilerMemory } from './memory.ts';
import { classifyTargetSecret, refuse, type SyncPolicy, type TargetObservation } from './observe-target.ts';
import { adoptionNote, adoptionPatch, type ForeignOwner } from './ownership.ts';
import type { RemoteValues } from './read-remote.ts';
import { auditSecretWrite, setNotReady, toExisting, type SyncContext, type WriteSource } from './sync-context.ts';

/** The Ready condition a finished sync records. */
export interface SyncStatus {
  readonly reason: string;
  readonly message: string;
  readonly ready: boolean;
}

export type WriteOutcome =
  /** A Secret of that name is someone else's (found by the create-only write): refused and reported; nothing written. */
  | { readonly kind: 'refused'; readonly result: ReconcileResult }
  /** The Secret is left as it was, and the reason reported (remote secrets missing under Retain; not adopted). */
  | { readonly kind: 'kept'; readonly result: ReconcileResult }
  /**
   * Finished: `secret` says what happened to the target (`written`/`unchanged`: it holds the values; `deleted`;
   * `none`: no Secret is written); `status` is what to record.
   */
  | { readonly kind: 'synced'; readonly secret: 'written' | 'unchanged' | 'deleted' | 'none'; readonly status: SyncStatus; readonly requeue: ReconcileResult };

const SYNCED: SyncStatus = { reason: ExternalSecretReason.SecretSynced, message: 'Secret was synced', ready: true };

export async function writeSecret(
  ctx: SyncContext,
  memory: ReconcilerMemory,
  remote: RemoteValues,
  observation: TargetObservation,
  policy: SyncPolicy,
  source: WriteSource,
): Promise<WriteOutcome> {
  const { es } = ctx;
  const { creationPolicy } = policy;
  const deletionPolicy = es.spec.target?.deletionPolicy ?? 'Retain';
  const requeue = nextRefresh(ctx, policy.refreshIntervalMs);
  const missing = remote.missing.join(', ');

  if (remote.missing.length > 0 && deletionPolicy === 'Retain') {
    // Before the first write (typically a mistyped key) there is no Secret to keep: say what to check instead.
    const kept = observation.view ? `Secret ${ctx.targetName} keeps its last data (deletionPolicy Retain)` : 'no Secret written (check the remote key and the store it is read from)';
    await setNotReady(ctx, ExternalSecretReason.SecretMissing, `remote secret not found: ${missing}; ${kept}`);
    await ctx.deps.events.record(ctx.eventTarget, 'Warning', EventReason.UpdateFailed, `remote secret not found: ${missing}`);
    // Created in the provider later, it is found at the recheck backoff, not only at the next refresh.
    return { kind: 'kept', result: { ...requeue, recheck: true } };
  }
  if (remote.data.size === 0 && remote.missing.length === 0 && deletionPolicy === 'Retain') {
    // As ESO: no data (a find that matched nothing) writes no Secret and keeps an existing one as it is.
    const message = 'the provider returned no data (no key matched); no Secret written, an existing one is kept (deletionPolicy Retain)';
    return { kind: 'synced', secret: 'none', status: { ...SYNCED, message }, requeue };
  }
  if (creationPolicy === 'None') {
    return { kind: 'synced', secret: 'none', status: { ...SYNCED, message: 'provider values fetched; creationPolicy None writes no Secret' }, requeue };
  }
  if (observation.foreignOwner && remote.data.size === 0 && deletionPolicy === 'Delete') {
    // The remote secrets are gone before an adoption: a Secret that is not ours yet is neither adopted nor deleted.
    await setNotReady(ctx, ExternalSecretReason.SecretMissing, `no remote data (${missing || 'nothing matched'}); Secret ${ctx.targetName} was not adopted and is left as it was`);
    return { kind: 'kept', result: requeue };
  }
  if (creationPolicy === 'Merge' && !observation.view) {
    throw new Error(`creationPolicy Merge needs an existing Secret ${ctx.namespace}/${ctx.targetName} to merge into: create it, or use creationPolicy Owner`);
  }
  if (remote.data.size === 0 && deletionPolicy === 'Delete') {
    // Every remote secret is gone, or a find matched nothing (as ESO): remove the Secret we created. The cache may
    // not show one created a moment ago (no later event would bring this back, and the status would say deleted):
    // on a miss it is read — a rare path — and deleted only if it carries our controller reference.
    const existing = observation.view ?? controlledByUs(ctx, await ctx.deps.secrets.read(ctx.namespace, ctx.targetName));
    if (existing) await deleteSecret(ctx, source, ctx.targetName, existing.metadata?.uid);
    const why = remote.missing.length > 0 ? `remote secrets gone (${missing})` : 'the provider returned no data (no key matched)';
    const message = `${why}; Secret deleted (deletionPolicy Delete)`;
    return { kind: 'synced', secret: existing ? 'deleted' : 'none', status: { reason: ExternalSecretReason.SecretDeleted, message, ready: false }, requeue };
  }

  const leases = remote.issued.flatMap((entry) => (entry.lease ? [entry.lease] : []));
  const desired = await desiredSecret(ctx, remote.data, creationPolicy, leases);
  const applied = await applySecret(ctx, memory, desired, observation, policy, source);
  if (applied.kind === 'refused') return applied;
  const status: SyncStatus =
    remote.missing.length > 0
      ? { reason: ExternalSecretReason.SecretDeleted, message: `remote secret not found: ${missing}; its keys were removed (deletionPolicy ${deletionPolicy})`, ready: false }
      : SYNCED;
  return { kind: 'synced', secret: applied.kind, status, requeue };
}

/** Creates, adopts or updates the target so it holds `desired`; nothing when it already does. */
async function applySecret(
  ctx: SyncContext,
  memory: ReconcilerMemory,
  desired: SecretApplyBody,
  observation: TargetObservation,
  policy: SyncPolicy,
  source: WriteSource,
): Promise<{ readonly kind: 'written' | 'unchanged' } | { readonly kind: 'refused'; readonly result: ReconcileResult }> {
  const { creationPolicy } = policy;
  let view = observation.view;
  let foreignOwner = observation.foreignOwner;
  if (!view && (creationPolicy === 'Owner' || creationPolicy === 'Orphan')) {
    // Not in the cache: create it only if no Secret of that name exists; else see whose it is.
    if (await createIfAbsent(ctx, desired, source)) return { kind: 'written' };
    view = await ctx.deps.secrets.read(ctx.namespace, ctx.targetName);
    const found = classifyTargetSecret(ctx, view, creationPolicy);
    foreignOwner = found.foreignOwner ?? foreignOwner;
    if (found.target.state === 'foreign' && !found.target.adopt) {
      const recheckMs = refusedRecheckMs({ uid: ctx.uid, refreshPolicy: ctx.es.spec.refreshPolicy ?? 'Periodic', refreshIntervalMs: policy.refreshIntervalMs });
      return { kind: 'refused', result: await refuse(ctx, memory, found.foreignOwner!, recheckMs, source) };
    }
  }
  const current = toExisting(view);
  assertWritableTarget(ctx.namespace, ctx.targetName, current);
  if (foreignOwner && view) {
    await adopt(ctx, desired, view, foreignOwner, source);
    return { kind: 'written' };
  }
  if (!needsApply(desired, current)) return { kind: 'unchanged' };
  if (current?.immutable) {
    throw new TerminalError(`target Secret ${ctx.namespace}/${ctx.targetName} is immutable and its data differs from the provider's: delete it to let secret-relay recreate it`);
  }
  const started = ctx.deps.clock.now();
  const action = view ? 'secret.update' : 'secret.create';
  try {
    await ctx.deps.secrets.apply(desired, fieldManagerFor(ctx.name));
    auditSecretWrite(ctx, source, action, 'success', started);
  } catch (err) {
    auditSecretWrite(ctx, source, action, 'error', started, describeError(err));
    throw err;
  }
  await ctx.deps.events.record(ctx.eventTarget, 'Normal', view ? EventReason.Updated : EventReason.Created, `Secret ${ctx.targetName} ${view ? 'updated' : 'created'}`);
  return { kind: 'written' };
}

/** The create-only write of a target the cache does not hold; false (nothing written) when a Secret of that name exists. */
async function createIfAbsent(ctx: SyncContext, desired: SecretApplyBody, source: WriteSource): Promise<boolean> {
  const started = ctx.deps.clock.now();
  let outcome: 'created' | 'exists';
  try {
    outcome = await ctx.deps.secrets.applyIfAbsent(desired, fieldManagerFor(ctx.name));
  } catch (err) {
    auditSecretWrite(ctx, source, 'secret.create', 'error', started, describeError(err));
    throw err;
  }
  if (outcome === 'exists') return false;
  auditSecretWrite(ctx, source, 'secret.create', 'success', started);
  await ctx.deps.events.record(ctx.eventTarget, 'Normal', EventReason.Created, `Secret ${ctx.targetName} created`);
  return true;
}

/**
 * Takes an existing Secret over (the secret-relay.dev/adopt opt-in): first the foreign controller reference and
 * the keys we do not declare go (a patch guarded by resourceVersion), then our apply takes every field we write.
 * Keys whose values equal the provider's are never absent or different in between.
 */
async function adopt(ctx: SyncContext, desired: SecretApplyBody, existingView: SecretView, from: ForeignOwner, source: WriteSource): Promise<void> {
  if (existingView.type !== undefined && desired.type !== undefined && existingView.type !== desired.type) {
    throw new TerminalError(
      `Secret ${ctx.namespace}/${ctx.targetName} is of type ${existingView.type} and this ExternalSecret writes ${desired.type}: ` +
        `set spec.target.template.type: ${existingView.type} to adopt it (a Secret's type cannot change)`,
    );
  }
  const fieldManager = fieldManagerFor(ctx.name);
  const patch = adoptionPatch(
    { ownerReferences: existingView.metadata?.ownerReferences, managedFields: existingView.metadata?.managedFields, dataKeys: Object.keys(existingView.data ?? {}) },
    { keys: new Set(Object.keys(desired.data)), writesType: desired.type !== undefined, fieldManager },
  );
  const dataDiffers = patch.removedKeys.length > 0 || Object.entries(desired.data).some(([key, value]) => existingView.data?.[key] !== value);
  if (existingView.immutable && dataDiffers) {
    throw new TerminalError(
      `Secret ${ctx.namespace}/${ctx.targetName} is immutable and its data differs from what this ExternalSecret writes: it cannot be adopted; delete it to let secret-relay recreate it`,
    );
  }
  const started = ctx.deps.clock.now();
  try {
    await ctx.deps.secrets.releaseForAdoption(
      { namespace: ctx.namespace, name: ctx.targetName, resourceVersion: existingView.metadata?.resourceVersion ?? '' },
      { ownerReferences: patch.ownerReferences.map((ref) => ({ ...ref })), removedKeys: patch.removedKeys, managedFields: patch.managedFields },
      fieldManager,
    );
    await ctx.deps.secrets.apply(desired, fieldManager);
    auditSecretWrite(ctx, source, 'secret.adopt', 'success', started);
  } catch (err) {
    auditSecretWrite(ctx, source, 'secret.adopt', 'error', started, describeError(err));
    throw err;
  }
  await ctx.deps.events.record(ctx.eventTarget, 'Normal', EventReason.Adopted, adoptionNote(ctx.targetName, from, patch.removedKeys));
}

export type RenameCleanup = { readonly kind: 'none' | 'deleted' } | { readonly kind: 'failed'; readonly error: Error; readonly bound: string };

/**
 * After a target rename, the Secret this ExternalSecret created under the old name (`bound`: status.binding, or our
 * own later write of it the cache does not show yet — the cached status alone would let a rename right after the
 * first sync move the binding on and leave the old Secret for good) goes. Only a Secret this ExternalSecret
 * controls: a Merge/CreateOrMerge/Orphan target or someone else's stays. A failure is returned, not thrown: the new
 * Secret is written by then, and the sync is recorded as such (./reconciler.ts).
 */
export async function removeRenamedSecret(ctx: SyncContext, bound: string | undefined, source: WriteSource): Promise<RenameCleanup> {
  if (!bound || bound === ctx.targetName) return { kind: 'none' };
  // Read on a cache miss: a rename right after the first sync found no old Secret in the cache (CI) and left it for good.
  const old = controlledByUs(ctx, await managedSecretOrRead(ctx.deps, ctx.namespace, bound));
  if (!old) return { kind: 'none' };
  try {
    await deleteSecret(ctx, source, bound, old.metadata?.uid);
    return { kind: 'deleted' };
  } catch (err) {
    return { kind: 'failed', bound, error: new Error(`Secret ${bound} (the target before spec.target.name changed) could not be deleted: ${describeError(err)}`, { cause: err }) };
  }
}

/** `secret` when it carries a controller ownerReference to this ExternalSecret. */
function controlledByUs(ctx: SyncContext, secret: SecretView | undefined): SecretView | undefined {
  return secret?.metadata?.ownerReferences?.some((r) => r.uid === ctx.uid && r.controller === true) ? secret : undefined;
}

async function deleteSecret(ctx: SyncContext, source: WriteSource, name: string, uid: string | undefined): Promise<void> {
  const started = ctx.deps.clock.now();
  try {
    const outcome = await ctx.deps.secrets.delete(ctx.namespace, name, uid ? { uid } : undefined);
    auditSecretWrite(ctx, source, 'secret.delete', outcome === 'deleted' ? 'success' : 'not_found', started, undefined, name);
  } catch (err) {
    auditSecretWrite(ctx, source, 'secret.delete', 'error', started, describeError(err), name);
    throw err;
  }
  await ctx.deps.events.record(ctx.eventTarget, 'Normal', EventReason.Deleted, `Secret ${name} deleted`);
}

export function nextRefresh(ctx: SyncContext, refreshIntervalMs: number): ReconcileResult {
  if ((ctx.es.spec.refreshPolicy ?? 'Periodic') !== 'Periodic' || refreshIntervalMs <= 0) return undefined;
  return { requeueAfter: Math.max(0, nextRefreshAt(ctx.now, refreshIntervalMs, refreshPhaseOf(ctx.es.spec)) - ctx.now) };
}
