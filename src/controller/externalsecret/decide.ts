// Whether an ExternalSecret needs a provider round-trip now, later, or never — a pure function of what the
// reconciler observed and the time, so every refresh rule is table-tested without a cluster.
import { createHash } from 'node:crypto';
import { stableJson } from '../../util/stable-json.ts';

export type RefreshPolicy = 'Periodic' | 'OnChange' | 'CreatedOnce';

export interface ObservedExternalSecret {
  readonly uid: string;
  /** Where in its refresh grid it refreshes, in [0, 1): refreshPhaseOf what it reads. */
  readonly refreshPhase: number;
  readonly generation: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly refreshPolicy: RefreshPolicy;
  /** Parsed spec.refreshInterval in ms; 0 = fetch once per change. */
  readonly refreshIntervalMs: number;
  readonly syncedResourceVersion: string | undefined;
  /** status.refreshTime in ms, when the last successful sync happened. */
  readonly refreshTime: number | undefined;
  /** The Secret name the last sync wrote (status.binding.name). */
  readonly boundTargetName: string | undefined;
  readonly targetName: string;
}

/** What the reconciler saw of the target Secret. */
export type ObservedTarget =
  | { readonly state: 'missing' }
  /** It exists, and its data still matches what we last wrote (keyed HMAC) and carries our label. */
  | { readonly state: 'intact' }
  /** It exists but was edited, or lost our label/annotation: restore it. */
  | { readonly state: 'drifted' }
  /**
   * It exists and this ExternalSecret did not create it, and the policy (Owner, Orphan) would make it ours:
   * refused unless the ExternalSecret opts in to adoption. Merge and CreateOrMerge never see this state.
   */
  | { readonly state: 'foreign'; readonly adopt: boolean };

export type Decision =
  | { readonly action: 'sync'; readonly reason: SyncReason }
  | { readonly action: 'wait'; readonly ms: number }
  | { readonly action: 'skip' }
  /** Write nothing, fetch nothing; look at the target again after `recheckMs`. */
  | { readonly action: 'refuse'; readonly recheckMs: number };

export type SyncReason = 'never-synced' | 'spec-changed' | 'target-missing' | 'target-drifted' | 'target-renamed' | 'interval-elapsed' | 'adopt' | 'remote-changed';

/**
 * How often a refused ExternalSecret looks at its target again (one GET, no provider call): a Secret we do not
 * own is outside the managed-Secret cache, so its deletion sends no event. A minute bounds the wait after the
 * user deletes the foreign Secret; 1,000 refused ExternalSecrets cost ~17 GETs/s (shorter refresh intervals win).
 */
export const REFUSED_TARGET_RECHECK_MS = 60_000;

/** Refreshes spread over this share of the interval, so objects created together do not refresh together. */
export const REFRESH_JITTER_FRACTION = 0.1;

/**
 * The fingerprint of what the user asked for: generation (spec) plus labels and annotations, so a change to
 * the force-sync annotation (or any annotation, as in ESO) triggers a refresh.
 */
export function syncedResourceVersionOf(es: Pick<ObservedExternalSecret, 'generation' | 'labels' | 'annotations'>): string {
  const meta = JSON.stringify([sortedEntries(es.labels), sortedEntries(es.annotations)]);
  return `${es.generation}-${createHash('sha256').update(meta).digest('hex').slice(0, 16)}`;
}

/** A stable offset in [0, 1) for a text (a uid, what an object reads): the same text always gives the same phase. */
export function jitterPhase(uid: string): number {
  return createHash('sha256').update(uid).digest().readUInt32BE(0) / 2 ** 32;
}

/** The interval actually waited: shortened by up to REFRESH_JITTER_FRACTION, never lengthened. */
export function jitteredIntervalMs(uid: string, intervalMs: number): number {
  return Math.round(intervalMs * (1 - REFRESH_JITTER_FRACTION * jitterPhase(uid)));
}

/**
 * When a Periodic ExternalSecret refreshes next: the first point of its refresh grid at least (1 − J) × interval
 * after its last refresh, so the wait is in [(1 − J) × interval, interval) — never longer than the interval. The grid's
 * points are J × interval apart (J = REFRESH_JITTER_FRACTION), shifted by `phase`. ExternalSecrets that read the same
 * remote values have one phase (refreshPhaseOf), so those synced within one cell of each other refresh at the same
 * instants and share one provider call (../../providers/shared-calls.ts); ExternalSecrets that read other values spread
 * over the cell. With a phase per object (before), the ten readers of one secret drifted up to a cell plus their first
 * sync's spread apart, past the 5 s a result is held: a 20 s interval under load cost 15 calls for 10 secrets, not 10.
 */
export function nextRefreshAt(lastRefresh: number, intervalMs: number, phase: number): number {
  const cell = intervalMs * REFRESH_JITTER_FRACTION;
  const offset = phase * cell;
  return Math.ceil((lastRefresh + intervalMs - cell - offset) / cell) * cell + offset;
}

/**
 * The refresh phase of what an ExternalSecret reads, in [0, 1): its store, every remote reference and dataFrom entry
 * (not the keys it writes them under). Readers of the same values share it; it is only a time, never a result.
 */
export function refreshPhaseOf(spec: ReadsOfSpec): number {
  const data = spec.data?.map((entry) => [entry.remoteRef, entry.sourceRef]);
  return jitterPhase(stableJson([spec.secretStoreRef, data, spec.dataFrom]));
}

/** The parts of an ExternalSecret's spec that say what it reads. */
export interface ReadsOfSpec {
  readonly secretStoreRef?: unknown;
  readonly data?: readonly { readonly remoteRef?: unknown; readonly sourceRef?: unknown }[] | undefined;
  readonly dataFrom?: unknown;
}

/** When a refused ExternalSecret looks at its target again: in a minute, or at its refresh interval when shorter. */
export function refusedRecheckMs(es: Pick<ObservedExternalSecret, 'uid' | 'refreshPolicy' | 'refreshIntervalMs'>): number {
  const interval = es.refreshPolicy === 'Periodic' && es.refreshIntervalMs > 0 ? jitteredIntervalMs(es.uid, es.refreshIntervalMs) : Infinity;
  return Math.min(REFUSED_TARGET_RECHECK_MS, interval);
}

export function decide(es: ObservedExternalSecret, target: ObservedTarget, now: number): Decision {
  // Before anything else: a Secret someone else has is never written without the opt-in, whatever the refresh state.
  if (target.state === 'foreign') return target.adopt ? sync('adopt') : { action: 'refuse', recheckMs: refusedRecheckMs(es) };
  const specChanged = es.syncedResourceVersion !== syncedResourceVersionOf(es);
  if (es.syncedResourceVersion === undefined || es.refreshTime === undefined) return sync('never-synced');
  if (specChanged) {
    // CreatedOnce ignores later spec changes once the Secret exists, as in ESO.
    if (es.refreshPolicy !== 'CreatedOnce' || target.state === 'missing') return sync('spec-changed');
  }
  if (es.boundTargetName !== undefined && es.boundTargetName !== es.targetName) return sync('target-renamed');
  // A missing or edited Secret is restored whatever the policy: the user declared what it must contain.
  if (target.state === 'missing') return sync('target-missing');
  if (target.state === 'drifted') return sync('target-drifted');

  if (es.refreshPolicy !== 'Periodic' || es.refreshIntervalMs <= 0) return { action: 'skip' };
  const dueAt = nextRefreshAt(es.refreshTime, es.refreshIntervalMs, es.refreshPhase);
  if (now >= dueAt) return sync('interval-elapsed');
  return { action: 'wait', ms: dueAt - now };
}

function sync(reason: SyncReason): Decision {
  return { action: 'sync', reason };
}

function sortedEntries(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
