// dataFrom[].sourceRef.generatorRef: values generated for this ExternalSecret (e.g. Vault database credentials)
// and the leases that come with them. Leases live on the ExternalSecret's status (never the credentials), so they
// survive an operator restart; this process keeps the last leases it wrote, which the cache may not show yet.
// A lease is renewed once `renewAtPercent` of its TTL has passed; new credentials are issued `rotateBefore` its
// hard end (max TTL, or its expiry when not renewable); everything is revoked when the ExternalSecret is deleted
// (a finalizer holds it until then).
//
// New credentials are one state machine (ESO's runtime/statemanager is the model):
//   issued → written to the Secret → recorded in status (leases; the replaced ones in retiredLeases) → old revoked.
// Nothing is rolled back once the Secret holds the new values. A retired lease stays in status.retiredLeases until
// it is revoked, has expired, or its revocation failed MAX_REVOKE_ATTEMPTS times (then a Warning Event): a restart or
// another leader picks it up from there. A state this process could not record (its status patch failed) stays in
// memory and is recorded first at the next reconcile, before anything is revoked. The Secret itself names the leases
// of the credentials it holds (./lease-annotation.ts, written with the values): a leader whose memory never had
// them (another process, a later term) records them from there (withLeasesHeld).
// The memory lasts one leadership term (./term-memory.ts), and within it only wins over the cached status while that
// status is one this process derived from or wrote (the cache lags behind our own patch); a status it never saw
// (another leader's) is the truth, and the memory is dropped.
import type { ExternalSecret, GeneratorLease, GeneratorRef, RetiredLease } from '../../api/index.ts';
import { API_GROUP, API_VERSION, ExternalSecretLimits, Plural } from '../../api/index.ts';
import type { StatusWriter } from '../../k8s/status.ts';
import { NoSecretError, TerminalError } from '../../providers/provider.ts';
import { describeError } from '../../k8s/describe-error.ts';
import type { GeneratorKind, GeneratorObjectRef, LeaseSettings, IssuedLease, Generated, Generator, Generators, RevocationListener } from '../../providers/generator.ts';
import { GENERATOR_PROVIDERS } from '../../providers/generator.ts';
import { LOCAL_GENERATOR_KINDS } from '../generators/local.ts';
import { perTerm } from './term-memory.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { Clock } from '../../util/clock.ts';

export type { GeneratorKind, GeneratorObjectRef, LeaseSettings, IssuedLease, Generated, Generator, Generators };

/** Holds a deleted ExternalSecret until the leases of its generated credentials are revoked. */
export const LEASE_FINALIZER = 'secret-relay.dev/generator-leases';

const iso = (ms: number) => new Date(ms).toISOString();

/** The status entry of a new lease. Pure. */
export function issuedLease(source: number, ref: Pick<GeneratorObjectRef, 'kind' | 'name'>, lease: IssuedLease, now: number): GeneratorLease {
  return {
    source,
    kind: ref.kind,
    name: ref.name,
    leaseId: lease.leaseId,
    renewable: lease.renewable,
    leaseDurationSeconds: lease.leaseDurationSeconds,
    issueTime: iso(now),
    expireTime: iso(now + lease.leaseDurationSeconds * 1000),
  };
}

export type LeasePlan = { readonly action: 'none' | 'renew' | 'rotate'; readonly nextAt: number | undefined };

/** What a lease needs now, and when to look at it again. Pure. */
export function planLease(lease: GeneratorLease, settings: LeaseSettings, now: number): LeasePlan {
  if (lease.leaseDurationSeconds <= 0) return { action: 'none', nextAt: undefined };
  const since = Date.parse(lease.renewTime ?? lease.issueTime);
  const expire = Date.parse(lease.expireTime);
  const hardEnd = lease.maxExpireTime !== undefined ? Date.parse(lease.maxExpireTime) : lease.renewable ? undefined : expire;
  const rotateAt = hardEnd !== undefined ? hardEnd - settings.rotateBeforeMs : undefined;
  // Once a renewal came back capped, renewing cannot extend the lease: only a new issue can.
  const renewAt = lease.renewable && lease.maxExpireTime === undefined ? since + (lease.leaseDurationSeconds * 1000 * settings.renewAtPercent) / 100 : undefined;
  if ((rotateAt !== undefined && now >= rotateAt) || now >= expire) return { action: 'rotate', nextAt: undefined };
  if (renewAt !== undefined && now >= renewAt) return { action: 'renew', nextAt: undefined };
  const candidates = [rotateAt, renewAt].filter((at): at is number => at !== undefined);
  return { action: 'none', nextAt: candidates.length > 0 ? Math.min(...candidates) : undefined };
}

/** The lease after a renewal that asked for `requestedSeconds`; a shorter grant means the max TTL is reached. Pure. */
export function renewedLease(lease: GeneratorLease, result: { leaseDurationSeconds: number; renewable: boolean }, requestedSeconds: number, now: number): GeneratorLease {
  const capped = result.leaseDurationSeconds < requestedSeconds - 1;
  const expire = now + result.leaseDurationSeconds * 1000;
  return {
    ...lease,
    renewable: result.renewable,
    // The requested TTL is kept (it is the increment of the next renewal) unless the grant was capped.
    leaseDurationSeconds: capped ? result.leaseDurationSeconds : lease.leaseDurationSeconds,
    renewTime: iso(now),
    expireTime: iso(expire),
    ...(capped ? { maxExpireTime: iso(expire) } : {}),
  };
}

/** Failed revocations of a retired lease before it is given up (Warning Event; it ends at its TTL). */
export const MAX_REVOKE_ATTEMPTS = 6;
/** The wait before the n-th retry of a revocation: 10 s doubling, at most 5 min (10, 20, 40, 80, 160 s: ~5 min in all). */
export function revokeRetryMs(attempts: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 5 * 60_000);
}

/** The leases an ExternalSecret's status records: held by the Secret, and retired (to revoke). */
export interface LeaseState {
  readonly leases: readonly GeneratorLease[];
  readonly retired: readonly RetiredLease[];
}

/** A comparable form of a lease state (key order and absent fields aside). Pure. */
export function leaseStateFingerprint(state: LeaseState): string {
  const one = (entry: object) => JSON.stringify(entry, Object.keys(entry).sort());
  return JSON.stringify([state.leases.map(one), state.retired.map(one)]);
}

/**
 * The lease state once the leases the Secret holds (its verified annotation, ./lease-annotation.ts) are recorded:
 * a held lease the status does not know, newer than the status's lease of the same entry, replaces it (which is
 * retired, to revoke). That is the Secret written with new credentials whose status patch failed, perhaps under
 * another leader. A held lease the status knows (held or retired), an older one (a restored copy of the Secret),
 * or one of an entry that now names another generator changes nothing. undefined when nothing changes. Pure.
 */
export function withLeasesHeld(state: LeaseState, held: readonly GeneratorLease[], sources: ReadonlyMap<number, { readonly kind: string; readonly name: string }>, now: number): LeaseState | undefined {
  const known = new Set([...state.leases, ...state.retired].map((lease) => lease.leaseId));
  let leases = [...state.leases];
  const retired = [...state.retired];
  for (const lease of held) {
    const source = sources.get(lease.source);
    if (known.has(lease.leaseId) || !source || source.kind !== lease.kind || source.name !== lease.name) continue;
    const recorded = leases.find((l) => l.source === lease.source);
    if (recorded && Date.parse(recorded.issueTime) >= Date.parse(lease.issueTime)) continue;
    if (recorded) retired.push({ ...recorded, retireTime: iso(now), revokeAttempts: 0 });
    leases = [...leases.filter((l) => l !== recorded), lease].sort((a, b) => a.source - b.source);
    known.add(lease.leaseId);
  }
  return leases.length === state.leases.length && leases.every((l, i) => l === state.leases[i]) ? undefined : { leases, retired };
}

/** The generator entries of an ExternalSecret: dataFrom index → generator. */
export function generatorSources(es: ExternalSecret): Map<number, GeneratorRef> {
  const out = new Map<number, GeneratorRef>();
  for (const [index, entry] of (es.spec.dataFrom ?? []).entries()) {
    // Local generators (Password, SSHKey, UUID) issue no lease: nothing to renew, revoke or hold a finalizer for.
    if (entry.sourceRef?.generatorRef && !LOCAL_GENERATOR_KINDS.has(entry.sourceRef.generatorRef.kind)) out.set(index, entry.sourceRef.generatorRef);
  }
  return out;
}

export interface FinalizerWriter {
  /** Adds or removes one finalizer of an ExternalSecret (read-modify-write on the latest resourceVersion). */
  add(namespace: string, name: string, finalizer: string): Promise<void>;
  remove(namespace: string, name: string, finalizer: string): Promise<void>;
}

export interface LeaseKeeperLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

export interface LeaseKeeperDeps {
  readonly generators: Generators;
  readonly status: StatusWriter;
  readonly finalizers: FinalizerWriter;
  readonly logger?: LeaseKeeperLogger | undefined;
  /** Warnings about leases that could not be revoked (Events on the ExternalSecret). */
  readonly warn?: ((es: ExternalSecret, message: string) => Promise<void>) | undefined;
  /** Every revocation (of a lease, or of a token the generator revoked on the side) is audited as provider.revoke … */
  readonly audit?: Pick<AuditLog, 'record'> | undefined;
  /** … and counted as provider_requests_total{operation="revoke"}. */
  readonly metrics?: Pick<Metrics, 'providerRequest'> | undefined;
  /** For the durations of revocations; without it they are 0. */
  readonly clock?: Clock | undefined;
}

/** New credentials issued during one reconcile, not yet committed to the status. */
export interface IssuedCredentials {
  readonly source: number;
  readonly ref: GeneratorObjectRef;
  readonly lease: GeneratorLease | undefined;
}

export interface MaintainOutcome {
  /** Some lease needs new credentials: sync now, whatever the refresh interval says. */
  readonly rotate: boolean;
  /** When a lease next needs attention (epoch ms). */
  readonly nextAt: number | undefined;
}

export interface LeaseKeeper {
  leasesOf(es: ExternalSecret): readonly GeneratorLease[];
  /** Whether anything is left to keep up: held or retired leases, or a state not recorded yet. */
  tracks(es: ExternalSecret): boolean;
  /** Adds the finalizer to an ExternalSecret that generates values (before anything is issued). */
  ensureFinalizer(es: ExternalSecret): Promise<void>;
  /**
   * Records a state not recorded yet and the leases the Secret holds that the status does not know (`held`: the
   * Secret's verified annotation), revokes the retired leases that are due, renews the leases that are due; says
   * whether any needs new credentials and when to come back.
   */
  maintain(es: ExternalSecret, now: number, signal: AbortSignal, held?: readonly GeneratorLease[]): Promise<MaintainOutcome>;
  generate(es: ExternalSecret, source: number, generatorRef: GeneratorRef, now: number, signal: AbortSignal): Promise<{ data: ReadonlyMap<string, Uint8Array>; issued: IssuedCredentials }>;
  /**
   * The Secret now holds the new credentials: record their leases (the replaced ones as retired), then revoke the
   * retired ones — best-effort: a failed revocation is retried later, never failing the sync. Throws only when the
   * status patch fails (the state is kept in memory and recorded at the next reconcile). Returns the next lease time.
   */
  commit(es: ExternalSecret, issued: readonly IssuedCredentials[], now: number, signal: AbortSignal): Promise<number | undefined>;
  /** The new credentials never reached the Secret: revoke them. */
  abandon(es: ExternalSecret, issued: readonly IssuedCredentials[], signal: AbortSignal): Promise<void>;
  /** The ExternalSecret is being deleted: revoke every lease (`held`: also those the Secret holds), then remove the finalizer. */
  release(es: ExternalSecret, signal: AbortSignal, held?: readonly GeneratorLease[]): Promise<void>;
}

export function createLeaseKeeper(deps: LeaseKeeperDeps): LeaseKeeper {
  // The lease state this process wrote last, by ExternalSecret uid: the informer cache can lag behind our own status
  // patch. `seen`: the fingerprints of every status state it derived from or wrote — a cached status among them is
  // merely lagging; any other was written by someone else (another leader) and is the truth. `recorded`: false
  // while the status patch of `state` has not succeeded.
  // Per leadership term (./term-memory.ts): a term starts from what the apiserver says.
  const writtenInTerm = perTerm(() => new Map<string, { state: LeaseState; recorded: boolean; seen: Set<string> }>());

  const generatorFor = (kind: GeneratorKind): Generator => {
    const generator = deps.generators[kind];
    if (!generator) throw new TerminalError(`generator kind ${kind} is not available in this operator`);
    return generator;
  };
  const refOf = (es: ExternalSecret, lease: Pick<GeneratorLease, 'kind' | 'name'>): GeneratorObjectRef => ({
    namespace: es.metadata.namespace ?? '',
    kind: lease.kind as GeneratorKind,
    name: lease.name,
  });
  const describe = (es: ExternalSecret) => `${es.metadata.namespace}/${es.metadata.name}`;
  /** The lease state to act on: the cached status, or our own newer write the cache does not show yet. */
  const stateOf = (es: ExternalSecret): LeaseState => {
    const uid = es.metadata.uid ?? '';
    const cached: LeaseState = { leases: es.status?.leases ?? [], retired: es.status?.retiredLeases ?? [] };
    const memory = writtenInTerm().get(uid);
    if (!memory) return cached;
    const fingerprint = leaseStateFingerprint(cached);
    if (memory.recorded && fingerprint === leaseStateFingerprint(memory.state)) {
      // The cache caught up: the status is the truth again.
      writtenInTerm().delete(uid);
      return cached;
    }
    if (memory.seen.has(fingerprint)) return memory.state;
    // Someone else (another leader) wrote the leases since: what we remember is stale.
    writtenInTerm().delete(uid);
    deps.logger?.warn(
      { externalSecret: describe(es), remembered: memory.state.leases.map((l) => l.leaseId), status: cached.leases.map((l) => l.leaseId), recorded: memory.recorded },
      'the status holds leases this process did not write (another leader): it is the truth; the remembered ones are dropped',
    );
    return cached;
  };
  const leasesOf = (es: ExternalSecret): readonly GeneratorLease[] => stateOf(es).leases;
  /** Records `state` (derived from `base`) in the status; remembered first, so a failed patch is retried, not lost. */
  const writeState = async (es: ExternalSecret, state: LeaseState, base: LeaseState): Promise<void> => {
    const uid = es.metadata.uid ?? '';
    const seen = new Set(writtenInTerm().get(uid)?.seen ?? []);
    seen.add(leaseStateFingerprint(base));
    seen.add(leaseStateFingerprint(state));
    const memory = { state, recorded: false, seen };
    writtenInTerm().set(uid, memory);
    await deps.status.patch(
      { group: API_GROUP, version: API_VERSION, plural: Plural.ExternalSecret, namespace: es.metadata.namespace, name: es.metadata.name },
      // A merge patch: null removes the field.
      { leases: [...state.leases], retiredLeases: state.retired.length > 0 ? [...state.retired] : null },
    );
    memory.recorded = true;
  };
  /** A state remembered but not recorded yet is recorded first. */
  const recordPending = async (es: ExternalSecret): Promise<LeaseState> => {
    const state = stateOf(es);
    const memory = writtenInTerm().get(es.metadata.uid ?? '');
    if (memory && !memory.recorded) await writeState(es, state, state);
    return state;
  };
  const now = () => deps.clock?.now() ?? 0;

  /** One revocation, audited and counted. `subject` names what was revoked (a lease id, "the Vault token of …"). */
  const recordRevocation = (es: ExternalSecret, generator: Pick<GeneratorLease, 'kind' | 'name'>, outcome: { subject: string; identity: string; error?: string | undefined; durationMs: number }): void => {
    const provider = GENERATOR_PROVIDERS[generator.kind as GeneratorKind] ?? 'vault';
    const result = outcome.error === undefined ? 'success' : 'error';
    deps.metrics?.providerRequest(provider, 'revoke', result, outcome.durationMs / 1000);
    deps.audit?.record({
      action: 'provider.revoke',
      externalSecret: { namespace: es.metadata.namespace ?? '', name: es.metadata.name },
      store: { kind: generator.kind, name: generator.name },
      provider,
      identity: outcome.identity,
      remoteKey: outcome.subject,
      result,
      durationMs: outcome.durationMs,
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    });
  };

  /** What a generator revoked on the side while serving `es` (a replaced connection's token): recorded, a failure shown. */
  const sideRevocations = (es: ExternalSecret, generator: Pick<GeneratorLease, 'kind' | 'name'>): RevocationListener => (report) => {
    recordRevocation(es, generator, report);
    if (report.error === undefined) return;
    const message = `could not revoke ${report.subject}: ${report.error}; it ends at its TTL`;
    deps.logger?.warn({ externalSecret: describe(es) }, message);
    void deps.warn?.(es, message).catch((err: unknown) => deps.logger?.warn({ externalSecret: describe(es), err: describeError(err) }, 'could not record a Warning Event'));
  };

  /** Revokes; a lease that cannot be revoked for good (generator gone, lease gone) is given up with a warning. */
  const revoke = async (es: ExternalSecret, lease: GeneratorLease, signal: AbortSignal, why: string): Promise<void> => {
    const started = now();
    const identity = `${lease.kind} ${es.metadata.namespace}/${lease.name}`;
    try {
      await generatorFor(lease.kind as GeneratorKind).revoke(refOf(es, lease), lease.leaseId, signal, sideRevocations(es, lease));
      recordRevocation(es, lease, { subject: lease.leaseId, identity, durationMs: now() - started });
      deps.logger?.info({ externalSecret: describe(es), generator: lease.name, leaseId: lease.leaseId, why }, 'lease revoked');
    } catch (err) {
      recordRevocation(es, lease, { subject: lease.leaseId, identity, error: describeError(err), durationMs: now() - started });
      if (!(err instanceof TerminalError || err instanceof NoSecretError)) throw err;
      const message = `could not revoke lease ${lease.leaseId} of ${lease.kind} ${lease.name} (${why}): ${describeError(err)}; it ends at its TTL (${lease.expireTime})`;
      deps.logger?.warn({ externalSecret: describe(es) }, message);
      await deps.warn?.(es, message);
    }
  };

  /**
   * Revokes the retired leases that are due; records what changed. A failure is retried later (attempts counted in
   * status), given up with a Warning Event after MAX_REVOKE_ATTEMPTS; an expired lease needs no revocation.
   */
  const revokeRetired = async (es: ExternalSecret, state: LeaseState, at: number, signal: AbortSignal): Promise<{ state: LeaseState; nextAt: number | undefined }> => {
    if (state.retired.length === 0) return { state, nextAt: undefined };
    const remaining: RetiredLease[] = [];
    let nextAt: number | undefined;
    let changed = false;
    for (const lease of state.retired) {
      if (at >= Date.parse(lease.expireTime)) {
        changed = true;
        deps.logger?.info({ externalSecret: describe(es), generator: lease.name, leaseId: lease.leaseId }, 'retired lease expired before it was revoked');
        continue;
      }
      const due = lease.nextRevokeTime === undefined ? at : Date.parse(lease.nextRevokeTime);
      if (at < due) {
        remaining.push(lease);
        nextAt = nextAt === undefined ? due : Math.min(nextAt, due);
        continue;
      }
      changed = true;
      try {
        // Revoked, or given up for good (generator or lease gone: a warning already).
        await revoke(es, lease, signal, 'replaced by new credentials');
      } catch (err) {
        if (signal.aborted) throw err;
        const attempts = lease.revokeAttempts + 1;
        if (attempts >= MAX_REVOKE_ATTEMPTS) {
          const message = `could not revoke lease ${lease.leaseId} of ${lease.kind} ${lease.name} (replaced by new credentials) after ${attempts} attempts: ${describeError(err)}; it ends at its TTL (${lease.expireTime})`;
          deps.logger?.warn({ externalSecret: describe(es) }, message);
          await deps.warn?.(es, message).catch((warnErr: unknown) => deps.logger?.warn({ externalSecret: describe(es), err: describeError(warnErr) }, 'could not record a Warning Event'));
          continue;
        }
        const retryAt = at + revokeRetryMs(attempts);
        deps.logger?.warn({ externalSecret: describe(es), generator: lease.name, leaseId: lease.leaseId, attempts, err: describeError(err) }, 'could not revoke a retired lease; retrying later');
        remaining.push({ ...lease, revokeAttempts: attempts, nextRevokeTime: iso(retryAt) });
        nextAt = nextAt === undefined ? retryAt : Math.min(nextAt, retryAt);
      }
    }
    if (!changed) return { state, nextAt };
    const next: LeaseState = { leases: state.leases, retired: remaining };
    await writeState(es, next, state);
    return { state: next, nextAt };
  };
  const earliest = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

  return {
    leasesOf,
    tracks(es) {
      const state = stateOf(es);
      return state.leases.length > 0 || state.retired.length > 0 || writtenInTerm().get(es.metadata.uid ?? '')?.recorded === false;
    },
    async ensureFinalizer(es) {
      const finalizers = es.metadata.finalizers ?? [];
      if (finalizers.includes(LEASE_FINALIZER)) return;
      await deps.finalizers.add(es.metadata.namespace ?? '', es.metadata.name, LEASE_FINALIZER);
    },

    async maintain(es, now, signal, held) {
      // Recorded → old revoked: a state not recorded yet first (ours, or the Secret's), then the retired leases that are due.
      let recorded = await recordPending(es);
      const withHeld = held ? withLeasesHeld(recorded, held, generatorSources(es), now) : undefined;
      if (withHeld) {
        deps.logger?.warn(
          { externalSecret: describe(es), held: held!.map((l) => l.leaseId), status: recorded.leases.map((l) => l.leaseId) },
          'the Secret holds credentials whose lease the status does not record (its status patch failed): recording it',
        );
        await writeState(es, withHeld, recorded);
        recorded = withHeld;
      }
      const settled = await revokeRetired(es, recorded, now, signal);
      const leases = settled.state.leases;
      let nextAt: number | undefined = settled.nextAt;
      if (leases.length === 0) return { rotate: false, nextAt };
      const sources = generatorSources(es);
      let rotate = false;
      const later = (at: number | undefined) => {
        if (at !== undefined) nextAt = nextAt === undefined ? at : Math.min(nextAt, at);
      };
      let changed = false;
      const updated: GeneratorLease[] = [];
      for (const lease of leases) {
        const source = sources.get(lease.source);
        // The entry was removed or now names another generator: the next sync replaces (and revokes) it.
        if (!source || source.kind !== lease.kind || source.name !== lease.name) {
          rotate = true;
          updated.push(lease);
          continue;
        }
        const ref = refOf(es, lease);
        const generator = generatorFor(ref.kind);
        const plan = planLease(lease, await generator.settings(ref, signal), now);
        if (plan.action === 'renew') {
          try {
            const result = await generator.renew(ref, lease.leaseId, lease.leaseDurationSeconds, signal, sideRevocations(es, lease));
            const renewed = renewedLease(lease, result, lease.leaseDurationSeconds, now);
            updated.push(renewed);
            changed = true;
            deps.logger?.info({ externalSecret: describe(es), generator: lease.name, leaseId: lease.leaseId, ttlSeconds: result.leaseDurationSeconds }, 'lease renewed');
            const next = planLease(renewed, await generator.settings(ref, signal), now);
            if (next.action === 'rotate') rotate = true;
            later(next.nextAt);
          } catch (err) {
            // A lease that is gone or refused renewal needs new credentials; anything else is retried.
            if (!(err instanceof TerminalError || err instanceof NoSecretError)) throw err;
            deps.logger?.warn({ externalSecret: describe(es), generator: lease.name, err: describeError(err) }, 'lease renewal refused; issuing new credentials');
            updated.push(lease);
            rotate = true;
          }
          continue;
        }
        updated.push(lease);
        if (plan.action === 'rotate') rotate = true;
        later(plan.nextAt);
      }
      if (changed) await writeState(es, { leases: updated, retired: settled.state.retired }, settled.state);
      return { rotate, nextAt };
    },

    async generate(es, source, generatorRef, now, signal) {
      const ref: GeneratorObjectRef = { namespace: es.metadata.namespace ?? '', kind: generatorRef.kind, name: generatorRef.name };
      const generated = await generatorFor(ref.kind).generate(ref, signal, sideRevocations(es, ref));
      return {
        data: generated.data,
        issued: { source, ref, lease: generated.lease ? issuedLease(source, ref, generated.lease, now) : undefined },
      };
    },

    async commit(es, issued, now, signal) {
      const base = stateOf(es);
      const previous = base.leases;
      const sources = generatorSources(es);
      const replacedSources = new Set(issued.map((entry) => entry.source));
      const kept = previous.filter((lease) => !replacedSources.has(lease.source) && sources.get(lease.source)?.name === lease.name && sources.get(lease.source)?.kind === lease.kind);
      const retiring = previous.filter((lease) => !kept.includes(lease));
      const next = [...kept, ...issued.flatMap((entry) => (entry.lease ? [entry.lease] : []))].sort((a, b) => a.source - b.source);
      const retired = [...base.retired, ...retiring.map((lease): RetiredLease => ({ ...lease, retireTime: iso(now), revokeAttempts: 0 }))];
      // The status holds at most ExternalSecretLimits.dataFrom retired leases: the oldest beyond are given up.
      for (const lease of retired.splice(0, Math.max(0, retired.length - ExternalSecretLimits.dataFrom))) {
        const message = `gave up revoking lease ${lease.leaseId} of ${lease.kind} ${lease.name} (${lease.revokeAttempts} failed attempts; too many retired leases pending); it ends at its TTL (${lease.expireTime})`;
        deps.logger?.warn({ externalSecret: describe(es) }, message);
        await deps.warn?.(es, message).catch(() => {});
      }
      let state: LeaseState = { leases: next, retired };
      const unrecorded = writtenInTerm().get(es.metadata.uid ?? '')?.recorded === false;
      // Recorded before anything is revoked: a failed patch leaves it all in memory for the next reconcile.
      if (retiring.length > 0 || issued.some((entry) => entry.lease) || unrecorded) await writeState(es, state, base);
      else state = base;
      const revoked = await revokeRetired(es, state, now, signal);
      let nextAt: number | undefined = revoked.nextAt;
      for (const lease of next) {
        const plan = planLease(lease, await generatorFor(lease.kind as GeneratorKind).settings(refOf(es, lease), signal), now);
        nextAt = earliest(nextAt, plan.nextAt);
      }
      return nextAt;
    },

    async abandon(es, issued, signal) {
      for (const entry of issued) {
        if (!entry.lease) continue;
        try {
          await revoke(es, entry.lease, signal, 'the Secret was not updated');
        } catch (err) {
          deps.logger?.warn({ externalSecret: describe(es), err: describeError(err) }, 'could not revoke unused credentials; they end at their TTL');
        }
      }
    },

    async release(es, signal, held) {
      const finalizers = es.metadata.finalizers ?? [];
      if (!finalizers.includes(LEASE_FINALIZER)) return;
      const recorded = stateOf(es);
      const state = (held ? withLeasesHeld(recorded, held, generatorSources(es), now()) : undefined) ?? recorded;
      let remaining: LeaseState = state;
      for (const lease of [...state.retired, ...state.leases]) {
        await revoke(es, lease, signal, 'the ExternalSecret was deleted');
        const next = { leases: remaining.leases.filter((l) => l !== lease), retired: remaining.retired.filter((l) => l !== lease) };
        await writeState(es, next, remaining);
        remaining = next;
      }
      await deps.finalizers.remove(es.metadata.namespace ?? '', es.metadata.name, LEASE_FINALIZER);
      writtenInTerm().delete(es.metadata.uid ?? '');
    },
  };
}
