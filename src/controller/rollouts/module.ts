// The rollout controller: when a managed Secret's data really changes, the workloads of its namespace that asked
// for it (rolloutRestartTargets, rollout policy Auto, Reloader's or our annotation) get a new pod template
// annotation, and their own rolling-update strategy replaces the pods.
//
// The trigger is the data HMAC annotation the ExternalSecret reconciler writes with the data (one apply), seen
// through the shared cache of managed Secrets: it changes exactly when the data does, and not on an unchanged
// refresh (no write), a drift repair (it restores the data the annotation still describes) or an edit of labels
// and annotations. So reconciler.ts needs no hook, and a standby replica sees the same changes as the leader,
// which lets it finish a batch the old leader had not rolled yet (the versions annotation makes that idempotent).
//
// Queue keys are namespaces: a namespace's settled changes are rolled together (one rollout per workload for
// several Secrets), after one LIST of its workloads (docs/rollouts.md: cheaper than caching every workload).
import { API_GROUP, API_GROUP_VERSION, API_VERSION, EventReason, Kind, Plural, parseExternalSecret, targetSecretName, type ExternalSecret } from '../../api/index.ts';
import { apiErrorCode } from '../../k8s/kube-client.ts';
import { describeKubeError } from '../../k8s/describe-error.ts';
import { ExternalSecretKind, ManagedSecretKind, NamespaceKind, type RawCustomObject, type V1Secret } from '../../k8s/kinds.ts';
import type { EventTarget } from '../../k8s/events.ts';
import { createWorkloadClient, type WorkloadObject } from '../../k8s/workloads.ts';
import { parseDuration } from '../../util/duration.ts';
import { ExternalSecretIndex } from '../external-secret-index.ts';
import { memoizeParse } from '../informer-parse-cache.ts';
import type { ControllerContext, ControllerModule } from '../module.ts';
import { keyOf, watch } from '../runtime/manager.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { DATA_HMAC_ANNOTATION } from '../externalsecret/desired-secret.ts';
import { isStale, settleWaitMs, PendingChanges, type FirstSight, type PendingChange } from './pending.ts';
import { DEFAULT_MIN_INTERVAL_MS, DEFAULT_SETTLE_MS, planRollouts, type RolloutPlan, type RolloutRules, type Workload, type WorkloadDecision } from './plan.ts';

/** The field manager of our pod-template patches. */
export const ROLLOUT_FIELD_MANAGER = 'secret-relay.dev/rollouts';
/** Event notes are cut here (the apiserver refuses notes over 1 kB). */
const MAX_NOTE = 900;

export const rolloutController: ControllerModule = {
  name: 'rollout',
  build(ctx) {
    const externalSecrets = ctx.informer(ExternalSecretKind);
    const parse = memoizeParse(parseExternalSecret);
    const index = new ExternalSecretIndex();
    const pending = new PendingChanges();
    const workloads = createWorkloadClient(ctx.kube);

    /** The ExternalSecrets writing Secret `secret` now (not those still bound to it after a rename). */
    const writersOf = (namespace: string, secret: string): { es: ExternalSecret; rules: RolloutRules }[] => {
      const writers: { es: ExternalSecret; rules: RolloutRules }[] = [];
      for (const key of index.targeting(namespace, secret)) {
        const raw = externalSecrets.get(key.slice(namespace.length + 1), namespace);
        const parsed = raw === undefined ? undefined : parse(raw);
        if (!parsed?.ok || targetSecretName(parsed.value) !== secret) continue;
        if (!ctx.classes.servesExternalSecretSpec(namespace, raw?.spec)) continue; // another installation's
        writers.push({ es: parsed.value, rules: rulesOf(parsed.value) });
      }
      return writers;
    };

    const onSecret = (event: string, secret: V1Secret) => {
      const namespace = secret.metadata?.namespace ?? '';
      const name = secret.metadata?.name ?? '';
      if (event === 'delete') return pending.forget(namespace, name);
      const writers = writersOf(namespace, name);
      // No ExternalSecret in the cache (yet): the schema's default window.
      const settleMs = writers.length === 0 ? DEFAULT_SETTLE_MS : Math.max(...writers.map((w) => w.rules.settleMs));
      pending.observe(namespace, name, secret.metadata?.annotations?.[DATA_HMAC_ANNOTATION], ctx.clock.now(), settleMs);
    };

    return {
      // Keys are namespaces; a namespace's own changes concern nothing (the fingerprint lets only its add through).
      primary: { kind: NamespaceKind, fingerprint: () => '' },
      watches: [
        watch<RawCustomObject>({
          kind: ExternalSecretKind,
          observe(event, obj) {
            if (event === 'delete') return index.remove(keyOf(obj));
            const parsed = parse(obj);
            if (parsed.ok) index.upsert(parsed.value);
          },
          map: () => [],
        }),
        watch<V1Secret>({
          kind: ManagedSecretKind,
          observe: onSecret,
          map: (secret, event) => {
            const namespace = secret.metadata?.namespace ?? '';
            return event !== 'delete' && pending.pendingIn(namespace).some((p) => p.secret === secret.metadata?.name) ? [namespace] : [];
          },
        }),
      ],
      reconcile: (namespace, signal) => rollNamespace(ctx, namespace, signal, { pending, writersOf, workloads }),
    };
  },
};

function rulesOf(es: ExternalSecret): RolloutRules {
  const rollout = es.spec.rollout;
  return {
    externalSecret: es.metadata.name,
    policy: rollout?.policy ?? 'Off',
    volumeConsumers: rollout?.volumeConsumers ?? 'Skip',
    targets: es.spec.rolloutRestartTargets ?? [],
    settleMs: rollout?.settleWindow !== undefined ? parseDuration(rollout.settleWindow) : DEFAULT_SETTLE_MS,
    minIntervalMs: rollout?.minInterval !== undefined ? parseDuration(rollout.minInterval) : DEFAULT_MIN_INTERVAL_MS,
  };
}

interface RolloutState {
  readonly pending: PendingChanges;
  readonly writersOf: (namespace: string, secret: string) => { es: ExternalSecret; rules: RolloutRules }[];
  readonly workloads: ReturnType<typeof createWorkloadClient>;
}

async function rollNamespace(ctx: ControllerContext, namespace: string, _signal: AbortSignal, state: RolloutState): Promise<ReconcileResult> {
  const now = ctx.clock.now();
  const recorded = state.pending.pendingIn(namespace);
  const minIntervalOf = (secret: string) => Math.max(DEFAULT_MIN_INTERVAL_MS, ...state.writersOf(namespace, secret).map((w) => w.rules.minIntervalMs));
  const stale = recorded.filter((c) => isStale(c, now, minIntervalOf(c.secret)));
  if (stale.length > 0) state.pending.done(namespace, stale);
  const fresh = recorded.filter((c) => !stale.includes(c));
  // Secrets first seen by this process (start-up, a new term): a change seen by a process that ended before rolling
  // it is checked against the versions the workloads record. Only for ExternalSecrets that ask in their spec (Auto,
  // rolloutRestartTargets): the others would cost a LIST of the namespace for nothing.
  const sights = state.pending.firstSightsIn(namespace);
  const verify = sights.filter((s) => !fresh.some((c) => c.secret === s.secret) && state.writersOf(namespace, s.secret).some((w) => w.rules.policy === 'Auto' || w.rules.targets.length > 0));
  if (fresh.length === 0 && verify.length === 0) {
    state.pending.checked(namespace, sights);
    return;
  }
  const wait = settleWaitMs(fresh, now);
  if (wait > 0) return { requeueAfter: wait };
  const onlyRecorded = new Set(verify.map((s) => s.secret));
  const changes: (PendingChange | FirstSight)[] = [...fresh, ...verify];

  const writers = new Map(changes.map((c) => [c.secret, state.writersOf(namespace, c.secret)]));
  const rules = new Map([...writers].map(([secret, ws]) => [secret, ws.map((w) => w.rules)]));
  const asking = [...writers.values()].flat().filter((w) => w.rules.policy === 'Auto' || w.rules.targets.length > 0);

  let listed: WorkloadObject[];
  try {
    listed = await state.workloads.listApps(namespace);
    const argoTargets = new Set(asking.flatMap((w) => w.rules.targets.filter((t) => t.kind === 'argo.Rollout').map((t) => t.name)));
    for (const name of argoTargets) {
      const rollout = await state.workloads.getArgoRollout(namespace, name);
      if (rollout) listed.push(rollout);
    }
  } catch (err) {
    if (apiErrorCode(err) !== 403) throw err;
    // No permission (the chart's rbac.rollouts=false): say so where it was asked for, and do not retry.
    const message = `secret-relay may not list or read workloads in namespace ${namespace} (${describeKubeError(err)}): install the chart with rbac.rollouts=true to roll out workloads when a Secret changes; the Secret itself was updated`;
    // Told where a change asked for a rollout (not at every start-up's check of the first sights).
    const told = asking.filter((w) => !onlyRecorded.has(targetSecretName(w.es)));
    for (const w of told) await ctx.events.record(esTarget(w.es), 'Warning', EventReason.RolloutFailed, message);
    if (told.length === 0) ctx.logger.info({ namespace }, 'rollouts: no permission to list workloads; nothing asked for a rollout');
    state.pending.done(namespace, fresh);
    state.pending.checked(namespace, sights);
    return;
  }
  const byKey = new Map(listed.map((w) => [`${w.kind}/${w.metadata.name}`, w]));
  const plan = planRollouts({ changes, rules, workloads: listed.map(asWorkload), now, onlyRecorded });

  const failures: { decision: WorkloadDecision; message: string }[] = [];
  const rolled: WorkloadDecision[] = [];
  for (const decision of plan.decisions) {
    if (decision.action !== 'roll') continue;
    const { kind, name } = decision.workload;
    const object = byKey.get(`${kind}/${name}`)!;
    const started = ctx.clock.now();
    try {
      const outcome = await state.workloads.patch(kind, namespace, name, decision.patch, ROLLOUT_FIELD_MANAGER);
      if (outcome === 'absent') continue; // deleted meanwhile: nothing left to roll
      ctx.metrics.rollout(kind, 'rolled');
      rolled.push(decision);
      auditRollout(ctx, namespace, decision, writers, 'success', started);
      await ctx.events.record(workloadTarget(object), 'Normal', EventReason.RolledOut, note(`rolled out by secret-relay: ${decision.reasons.map((r) => `Secret ${r.secret} changed (${r.why})`).join('; ')}`));
    } catch (err) {
      const message = describeKubeError(err);
      ctx.metrics.rollout(kind, 'failed');
      failures.push({ decision, message });
      auditRollout(ctx, namespace, decision, writers, 'error', started, message);
    }
  }
  for (const skipped of plan.leftAlone) {
    ctx.metrics.rollout(skipped.workload.kind, 'skipped');
    const object = byKey.get(`${skipped.workload.kind}/${skipped.workload.name}`)!;
    await ctx.events.record(workloadTarget(object), 'Normal', EventReason.RolloutSkipped, note(`not rolled out for Secret ${skipped.secret}: it ${skipped.why}`));
  }
  for (const m of plan.missing) ctx.metrics.rollout(m.kind, 'missing');

  await reportToExternalSecrets(ctx, namespace, writers, plan, rolled, failures, now);

  // Changes still owed to a workload (minimum interval, failed patch) stay pending; the rest are done.
  const owed = new Set([...plan.decisions.filter((d) => d.action === 'wait'), ...failures.map((f) => f.decision)].flatMap((d) => d.reasons.map((r) => r.secret)));
  state.pending.done(namespace, fresh.filter((c) => !owed.has(c.secret)));
  state.pending.checked(namespace, sights.filter((s) => !owed.has(s.secret)));
  if (failures.length > 0) {
    throw new Error(`rollout of ${failures.map((f) => `${f.decision.workload.kind} ${namespace}/${f.decision.workload.name} failed: ${f.message}`).join('; ')}`);
  }
  const waits = plan.decisions.flatMap((d) => (d.action === 'wait' ? [d.waitMs] : []));
  return waits.length > 0 ? { requeueAfter: Math.min(...waits) } : undefined;
}

/** One Event per ExternalSecret whose Secret changed and concerned some workload, and its status.rollout. */
async function reportToExternalSecrets(
  ctx: ControllerContext,
  namespace: string,
  writers: ReadonlyMap<string, readonly { es: ExternalSecret; rules: RolloutRules }[]>,
  plan: RolloutPlan,
  rolled: readonly WorkloadDecision[],
  failures: readonly { decision: WorkloadDecision; message: string }[],
  now: number,
): Promise<void> {
  for (const [secret, ws] of writers) {
    const ref = (d: { workload: Workload }) => `${d.workload.kind}/${d.workload.name}`;
    const rolledHere = rolled.filter((d) => d.reasons.some((r) => r.secret === secret));
    const parts = [
      ...rolledHere.map((d) => `rolled out ${ref(d)} (${d.reasons.find((r) => r.secret === secret)!.why})`),
      ...plan.decisions.filter((d) => d.action === 'wait' && d.reasons.some((r) => r.secret === secret)).map((d) => `${ref(d)} waits ${Math.ceil((d as { waitMs: number }).waitMs / 1000)}s for its minimum interval`),
      ...plan.leftAlone.filter((s) => s.secret === secret).map((s) => `left ${ref(s)} alone: it ${s.why}`),
    ];
    for (const { es } of ws) {
      const target = esTarget(es);
      for (const m of plan.missing.filter((x) => x.secret === secret && x.externalSecret === es.metadata.name)) {
        await ctx.events.record(target, 'Warning', EventReason.RolloutFailed, `spec.rolloutRestartTargets names ${m.kind} ${m.name}, which does not exist in namespace ${namespace}: nothing was rolled for it (Secret ${secret} was updated)`);
      }
      for (const f of failures.filter((x) => x.decision.reasons.some((r) => r.secret === secret))) {
        await ctx.events.record(target, 'Warning', EventReason.RolloutFailed, note(`could not roll out ${ref(f.decision)} for Secret ${secret}: ${f.message}; retrying`));
      }
      if (parts.length > 0) {
        await ctx.events.record(target, 'Normal', rolledHere.length > 0 ? EventReason.RolledOut : EventReason.RolloutSkipped, note(`Secret ${secret} changed: ${parts.join('; ')}`));
      }
      if (rolledHere.length > 0) {
        await ctx.status.patch(
          { group: API_GROUP, version: API_VERSION, plural: Plural.ExternalSecret, namespace, name: es.metadata.name },
          { rollout: { time: new Date(Math.floor(now / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), secret, workloads: rolledHere.slice(0, 64).map(ref) } },
        );
      }
    }
  }
}

function auditRollout(
  ctx: ControllerContext,
  namespace: string,
  decision: WorkloadDecision,
  writers: ReadonlyMap<string, readonly { es: ExternalSecret }[]>,
  result: 'success' | 'error',
  started: number,
  error?: string,
): void {
  for (const reason of decision.reasons) {
    const es = writers.get(reason.secret)?.[0]?.es;
    ctx.audit.record({
      action: 'workload.rollout',
      externalSecret: { namespace, name: es?.metadata.name ?? '-' },
      store: { kind: es?.spec.secretStoreRef?.kind ?? '-', name: es?.spec.secretStoreRef?.name ?? '-' },
      provider: '-',
      identity: 'secret-relay',
      targetSecret: { namespace, name: reason.secret },
      workload: { kind: decision.workload.kind, namespace, name: decision.workload.name },
      result,
      durationMs: ctx.clock.now() - started,
      ...(error ? { error } : {}),
    });
  }
}

function asWorkload(w: WorkloadObject): Workload {
  return { kind: w.kind, name: w.metadata.name, annotations: w.metadata.annotations, template: w.template };
}

function workloadTarget(w: WorkloadObject): EventTarget {
  return w.kind === 'argo.Rollout'
    ? { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', namespace: w.metadata.namespace, name: w.metadata.name, uid: w.metadata.uid }
    : { apiVersion: 'apps/v1', kind: w.kind, namespace: w.metadata.namespace, name: w.metadata.name, uid: w.metadata.uid };
}

function esTarget(es: ExternalSecret): EventTarget {
  return { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, namespace: es.metadata.namespace ?? '', name: es.metadata.name, uid: es.metadata.uid ?? '' };
}

function note(text: string): string {
  return text.length > MAX_NOTE ? `${text.slice(0, MAX_NOTE - 1)}…` : text;
}
