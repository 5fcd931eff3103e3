// Step: what the target Secret is (absent, ours and intact, edited, someone else's) and what the ExternalSecret's
// last sync was — the inputs of decide(). Refusing to touch someone else's Secret is reported from here.
import type { CreationPolicy } from '../../api/types.generated.ts';
import { ConditionType, ExternalSecretReason, EventReason } from '../../api/index.ts';
import { fieldManagerFor } from '../../k8s/secrets.ts';
import type { Condition } from '../conditions.ts';
import { findCondition } from '../conditions.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import type { ObservedExternalSecret, ObservedTarget } from './decide.ts';
import { refreshPhaseOf } from './decide.ts';
import { observeTarget } from './desired-secret.ts';
import type { SecretView } from './deps.ts';
import type { ReconcilerMemory } from './memory.ts';
import { classifyTarget, refusalMessage, wantsAdoption, type ForeignOwner } from './ownership.ts';
import { auditSecretWrite, setReady, toExisting, type SyncContext, type WriteSource } from './sync-context.ts';

export interface TargetObservation {
  /** The Secret as read (cache or GET); undefined when absent or assumed absent. */
  readonly view: SecretView | undefined;
  readonly target: ObservedTarget;
  /** Whose the Secret is when it exists and is not ours: for the refusal or the adoption. */
  readonly foreignOwner: ForeignOwner | undefined;
}

/** spec.refreshInterval and spec.target.creationPolicy as this reconcile applies them. */
export interface SyncPolicy {
  readonly refreshIntervalMs: number;
  readonly creationPolicy: CreationPolicy;
}

/**
 * The target Secret from the managed-Secret cache (labelled ones). A Secret someone else made is not in it, so
 * on a miss: Merge and CreateOrMerge read it (one GET); Owner and Orphan assume it is absent — their write is
 * create-only (applyIfAbsent) and finds out — unless this ExternalSecret was refused already (in memory, or
 * by its status after a restart), when one GET tells whether it is still there without a provider call.
 */
export async function observeTargetSecret(ctx: SyncContext, memory: ReconcilerMemory, creationPolicy: CreationPolicy): Promise<TargetObservation> {
  const cached = ctx.deps.getManagedSecret(ctx.namespace, ctx.targetName);
  let view: SecretView | undefined = cached;
  if (!cached && creationPolicy !== 'None' && ((creationPolicy !== 'Owner' && creationPolicy !== 'Orphan') || refusedBefore(ctx, memory))) {
    view = await ctx.deps.secrets.read(ctx.namespace, ctx.targetName);
  }
  return { view, ...classifyTargetSecret(ctx, view, creationPolicy) };
}

function refusedBefore(ctx: SyncContext, memory: ReconcilerMemory): boolean {
  if (memory.refusals.get(ctx.key)?.startsWith(`${ctx.uid}\u0000`)) return true;
  return findCondition(ctx.es.status?.conditions as Condition[] | undefined, ConditionType.Ready)?.reason === ExternalSecretReason.SecretExistsNotOwned;
}

export function classifyTargetSecret(ctx: SyncContext, existing: SecretView | undefined, creationPolicy: CreationPolicy): Omit<TargetObservation, 'view'> {
  if (creationPolicy === 'None') return { target: { state: 'intact' }, foreignOwner: undefined };
  // Owner and Orphan make the Secret ours; Merge and CreateOrMerge add keys to whoever's Secret it is.
  if (existing && (creationPolicy === 'Owner' || creationPolicy === 'Orphan')) {
    const ownership = classifyTarget(existing.metadata ?? {}, { uid: ctx.uid, name: ctx.name, fieldManager: fieldManagerFor(ctx.name), controls: creationPolicy === 'Owner' });
    if (!ownership.owned) {
      // A deleted predecessor's Secret would be garbage-collected: taken over without the opt-in.
      const predecessor = ownership.owner.by === 'controller' && ownership.owner.predecessor === true;
      return { target: { state: 'foreign', adopt: predecessor || wantsAdoption(ctx.es.metadata.annotations) }, foreignOwner: ownership.owner };
    }
  }
  return { target: observeTarget(toExisting(existing), ctx.deps.hmacKey, { namespace: ctx.namespace, name: ctx.targetName }), foreignOwner: undefined };
}

/** decide()'s view of the ExternalSecret: its spec, and its last sync — from status, or our own later write the cache does not show yet. */
export function observedExternalSecret(ctx: SyncContext, memory: ReconcilerMemory, policy: SyncPolicy): ObservedExternalSecret {
  const { es } = ctx;
  const spec = {
    uid: ctx.uid,
    refreshPhase: refreshPhaseOf(es.spec),
    generation: es.metadata.generation ?? 0,
    labels: es.metadata.labels ?? {},
    annotations: es.metadata.annotations ?? {},
    refreshPolicy: es.spec.refreshPolicy ?? 'Periodic',
    refreshIntervalMs: policy.refreshIntervalMs,
    targetName: ctx.targetName,
  };
  const statusTime = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : undefined;
  const ours = memory.written.get(ctx.key);
  // Our own later write wins over a cache that has not caught up with it yet.
  if (ours && ours.uid === ctx.uid && (statusTime === undefined || ours.refreshTime > statusTime)) {
    return { ...spec, syncedResourceVersion: ours.syncedResourceVersion, refreshTime: ours.refreshTime, boundTargetName: ours.boundTargetName };
  }
  return { ...spec, syncedResourceVersion: es.status?.syncedResourceVersion, refreshTime: statusTime, boundTargetName: es.status?.binding?.name };
}

/** Nothing written: Ready=False naming the Secret, its owner and the ways forward; Event and audit once per change. */
export async function refuse(ctx: SyncContext, memory: ReconcilerMemory, owner: ForeignOwner, recheckMs: number, source: WriteSource): Promise<ReconcileResult> {
  const message = refusalMessage(ctx.namespace, ctx.targetName, owner);
  const changed = await setReady(ctx, { type: ConditionType.Ready, status: 'False', reason: ExternalSecretReason.SecretExistsNotOwned, message });
  const reported = memory.refusals.get(ctx.key) === `${ctx.uid}\u0000${message}`;
  memory.refusals.set(ctx.key, `${ctx.uid}\u0000${message}`);
  // Once per refusal: not when the status already said so (a restart), nor again while the cache lags our patch.
  if (changed && !reported) {
    await ctx.deps.events.record(ctx.eventTarget, 'Warning', EventReason.SecretExistsNotOwned, message);
    auditSecretWrite(ctx, source, 'secret.refuse', 'denied', ctx.now, message);
  }
  return { requeueAfter: recheckMs };
}
