// The ExternalSecret reconciler's side of a change notification: a remote change pending for an ExternalSecret
// turns its decision into a sync now, whatever its refreshInterval says (the read is fresh: the notification
// already dropped the shared reads of the changed keys, see ./remote-changes.ts).
import type { Decision } from '../externalsecret/decide.ts';
import type { PendingChange } from './remote-changes.ts';

/** What the ExternalSecret reconciler uses of ctx.remoteChanges. */
export interface RemoteChangeMarks {
  pending(externalSecret: string): PendingChange | undefined;
  handled(externalSecret: string, change: PendingChange): void;
  dismiss(externalSecret: string, change: PendingChange): void;
}

/**
 * A Periodic ExternalSecret with a remote change pending syncs now. OnChange and CreatedOnce keep their meaning
 * (no refresh but on a spec change), as does refreshInterval 0 (once); a refusal (a Secret someone else has) stays. Pure.
 */
export function remoteChanged(decided: Decision, change: PendingChange | undefined, policy: string | undefined, refreshIntervalMs: number): Decision {
  if (!change || decided.action === 'sync' || decided.action === 'refuse') return decided;
  if ((policy ?? 'Periodic') !== 'Periodic' || refreshIntervalMs <= 0) return decided;
  return { action: 'sync', reason: 'remote-changed' };
}
