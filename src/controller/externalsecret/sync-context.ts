// What every step of one ExternalSecret's reconcile shares: the object, its names, the time the reconcile
// started, and the small writes each step may make (the Ready condition, an audit record of a Secret write).
import type { ExternalSecret } from '../../api/index.ts';
import { targetSecretName, API_GROUP, API_VERSION, API_GROUP_VERSION, Plural, Kind, ConditionType } from '../../api/index.ts';
import type { AuditResult } from '../../audit/audit-log.ts';
import type { EventTarget } from '../../k8s/events.ts';
import type { Condition, ConditionUpdate } from '../conditions.ts';
import { findCondition, sameCondition, setCondition } from '../conditions.ts';
import type { ReconcilerDeps, SecretView } from './deps.ts';
import type { ExistingSecret } from './desired-secret.ts';

export interface SyncContext {
  readonly deps: ReconcilerDeps;
  readonly es: ExternalSecret;
  readonly signal: AbortSignal;
  /** When this reconcile started: every decision of it is made at this time. */
  readonly now: number;
  /** namespace/name: the work queue's key. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly targetName: string;
  readonly eventTarget: EventTarget;
}

export function syncContext(deps: ReconcilerDeps, es: ExternalSecret, signal: AbortSignal, key: string): SyncContext {
  const namespace = es.metadata.namespace ?? '';
  const uid = es.metadata.uid ?? '';
  const name = es.metadata.name;
  return {
    deps,
    es,
    signal,
    now: deps.clock.now(),
    key,
    namespace,
    name,
    uid,
    targetName: targetSecretName(es),
    eventTarget: { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, namespace, name, uid },
  };
}

/** Whose data a Secret write carries, for its audit record; the identity is read when the record is made. */
export interface WriteSource {
  readonly provider: string;
  readonly identity: () => string;
}

/** Before any provider client exists (a refusal decided from the caches alone). */
export const NO_SOURCE: WriteSource = { provider: '-', identity: () => '-' };

/** Every entry is a generator and no store is named: the values come from no provider and no remote identity. */
export const GENERATED_SOURCE: WriteSource = { provider: 'generator', identity: () => '-' };

export type SecretWriteAction = 'secret.create' | 'secret.update' | 'secret.delete' | 'secret.adopt' | 'secret.refuse';

export function auditSecretWrite(
  ctx: SyncContext,
  source: WriteSource,
  action: SecretWriteAction,
  result: AuditResult,
  started: number,
  error?: string,
  secretName = ctx.targetName,
): void {
  // The store the Secret's data came from: spec.secretStoreRef, else the first entry's own; with none, the first
  // generator (a generator-only ExternalSecret).
  const entries = [...ctx.es.spec.data, ...(ctx.es.spec.dataFrom ?? [])];
  const ref = ctx.es.spec.secretStoreRef ?? entries.find((entry) => entry.sourceRef?.storeRef)?.sourceRef?.storeRef;
  const generator = ref ? undefined : ctx.es.spec.dataFrom?.find((entry) => entry.sourceRef?.generatorRef)?.sourceRef?.generatorRef;
  ctx.deps.audit.record({
    action,
    externalSecret: { namespace: ctx.namespace, name: ctx.name },
    store: generator ? { kind: generator.kind, name: generator.name } : { kind: ref?.kind ?? 'SecretStore', name: ref?.name ?? '' },
    provider: source.provider,
    identity: source.identity(),
    targetSecret: { namespace: ctx.namespace, name: secretName },
    result,
    durationMs: ctx.deps.clock.now() - started,
    ...(error ? { error } : {}),
  });
}

export function statusRef(ctx: Pick<SyncContext, 'namespace' | 'name'>) {
  return { group: API_GROUP, version: API_VERSION, plural: Plural.ExternalSecret, namespace: ctx.namespace, name: ctx.name };
}

/** Writes the Ready condition alone, skipping the write when nothing would change; true when it wrote. */
export async function setReady(ctx: SyncContext, update: ConditionUpdate): Promise<boolean> {
  const conditions = ctx.es.status?.conditions as Condition[] | undefined;
  const generation = ctx.es.metadata.generation;
  if (sameCondition(findCondition(conditions, update.type), update, generation)) return false;
  await ctx.deps.status.patch(statusRef(ctx), { conditions: setCondition(conditions, update, ctx.now, generation) });
  return true;
}

export async function setNotReady(ctx: SyncContext, reason: string, message: string): Promise<void> {
  await setReady(ctx, { type: ConditionType.Ready, status: 'False', reason, message });
}

export function toExisting(secret: SecretView | undefined): ExistingSecret | undefined {
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
