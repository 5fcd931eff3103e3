// Step: the one status write of a finished sync (Ready, refreshTime, syncedResourceVersion, binding) — deferred
// when only refreshTime would change (DEFAULT_REFRESH_TIME_PERIOD_MS) — and the Ready condition of a reconcile
// that had nothing to fetch.
import { ConditionType, ExternalSecretReason } from '../../api/index.ts';
import type { Condition, ConditionUpdate } from '../conditions.ts';
import { findCondition, sameCondition, setCondition } from '../conditions.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { syncedResourceVersionOf } from './decide.ts';
import { DEFAULT_REFRESH_TIME_PERIOD_MS } from './deps.ts';
import type { ReconcilerMemory } from './memory.ts';
import { setReady, statusRef, type SyncContext } from './sync-context.ts';
import type { SyncStatus } from './write-secret.ts';

/**
 * Records a finished sync. `secretWritten`: this reconcile wrote or deleted a Secret (then the write is never
 * deferred). `binding`: the Secret still to clean up after a rename, when deleting it failed (the next reconcile
 * sees the rename and deletes it, without fetching again); `refreshedAt`: when the values were fetched, when not now.
 */
export async function recordSync(
  ctx: SyncContext,
  memory: ReconcilerMemory,
  status: SyncStatus,
  secretWritten: boolean,
  requeue: ReconcileResult,
  options: { readonly binding?: string; readonly refreshedAt?: number } = {},
): Promise<ReconcileResult> {
  const { es } = ctx;
  const binding = options.binding ?? ctx.targetName;
  const update: ConditionUpdate = { type: ConditionType.Ready, status: status.ready ? 'True' : 'False', reason: status.reason, message: status.message };
  const syncedResourceVersion = syncedResourceVersionOf({ generation: es.metadata.generation ?? 0, labels: es.metadata.labels ?? {}, annotations: es.metadata.annotations ?? {} });
  // status.refreshTime has second precision: remember what the apiserver will hold.
  const refreshTime = Math.floor((options.refreshedAt ?? ctx.now) / 1000) * 1000;
  const persisted = persistedRefreshTime(ctx, memory);
  const deferrable = !secretWritten && persisted !== undefined && statusHolds(ctx, update, syncedResourceVersion, binding);
  if (deferrable && refreshTime - persisted < (ctx.deps.refreshTimePeriodMs ?? DEFAULT_REFRESH_TIME_PERIOD_MS)) {
    // Nothing but refreshTime would change, and no Secret was written: the write waits (see DEFAULT_REFRESH_TIME_PERIOD_MS).
    memory.written.set(ctx.key, { uid: ctx.uid, syncedResourceVersion, refreshTime, persistedRefreshTime: persisted, boundTargetName: binding });
    ctx.deps.onSynced?.('deferred');
    return requeue;
  }
  await ctx.deps.status.patch(statusRef(ctx), {
    conditions: setCondition(es.status?.conditions as Condition[] | undefined, update, ctx.now, es.metadata.generation),
    refreshTime: new Date(refreshTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    syncedResourceVersion,
    binding: { name: binding },
  });
  memory.written.set(ctx.key, { uid: ctx.uid, syncedResourceVersion, refreshTime, persistedRefreshTime: refreshTime, boundTargetName: binding });
  ctx.deps.onSynced?.('written');
  return requeue;
}

/** Nothing to fetch; but a condition left over from a store outage is cleared. */
export async function ensureReadyAfterIdle(ctx: SyncContext): Promise<void> {
  const ready = findCondition(ctx.es.status?.conditions as Condition[] | undefined, ConditionType.Ready);
  if (ready?.status === 'True') return;
  if (ready?.reason === ExternalSecretReason.SecretDeleted || ready?.reason === ExternalSecretReason.SecretMissing) return;
  await setReady(ctx, { type: ConditionType.Ready, status: 'True', reason: ExternalSecretReason.SecretSynced, message: 'Secret was synced' });
}

/** The status.refreshTime the apiserver holds: the cached one, or our own later write the cache has not shown yet. */
function persistedRefreshTime(ctx: SyncContext, memory: ReconcilerMemory): number | undefined {
  const cached = ctx.es.status?.refreshTime ? Date.parse(ctx.es.status.refreshTime) : undefined;
  const ours = memory.written.get(ctx.key);
  const mine = ours && ours.uid === ctx.uid ? ours.persistedRefreshTime : undefined;
  if (cached === undefined || Number.isNaN(cached)) return mine;
  return mine === undefined ? cached : Math.max(cached, mine);
}

/** Whether the cached status already says everything this sync would write, refreshTime aside. */
function statusHolds(ctx: SyncContext, update: ConditionUpdate, syncedResourceVersion: string, binding: string): boolean {
  const status = ctx.es.status;
  return (
    status?.syncedResourceVersion === syncedResourceVersion &&
    status.binding?.name === binding &&
    sameCondition(findCondition(status.conditions as Condition[] | undefined, update.type), update, ctx.es.metadata.generation)
  );
}
