// metav1.Condition bookkeeping, shared by every controller: lastTransitionTime moves only when status does.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number | undefined;
}

export interface ConditionUpdate {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

export function setCondition(
  current: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: number,
  observedGeneration: number | undefined,
): Condition[] {
  const previous = current?.find((c) => c.type === update.type);
  const next: Condition = {
    ...update,
    message: truncate(update.message, 2048),
    lastTransitionTime:
      previous && previous.status === update.status ? previous.lastTransitionTime : new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  return [...(current ?? []).filter((c) => c.type !== update.type), next];
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Same status, reason, message and generation: writing it again would change nothing. */
export function sameCondition(a: Condition | undefined, b: ConditionUpdate, observedGeneration: number | undefined): boolean {
  return (
    a !== undefined &&
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === truncate(b.message, 2048) &&
    a.observedGeneration === observedGeneration
  );
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
