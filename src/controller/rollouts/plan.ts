// Which workloads of a namespace roll out for a batch of Secret changes, and why — pure. Inputs are what the
// caches and one LIST of the namespace hold; the output says, per workload, roll / wait (minimum interval) /
// current (already carries these versions), the consumers left alone on purpose, and explicit targets missing.
import { describeUse, needsNewPod, secretUses, type PodSpecView } from './consumers.ts';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'argo.Rollout';

/** A workload as the plan reads it: its own annotations (opt-ins, the last rollout time) and its pod template. */
export interface Workload {
  readonly kind: WorkloadKind;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly template: { readonly annotations: Readonly<Record<string, string>>; readonly spec: PodSpecView | undefined };
}

/** A Secret whose data changed, with the HMAC of its new data (the `secret-relay.dev/data-hmac` annotation). */
export interface SecretChange {
  readonly secret: string;
  readonly hmac: string;
}

/** One ExternalSecret's rollout settings for the Secret it writes. */
export interface RolloutRules {
  readonly externalSecret: string;
  readonly policy: 'Off' | 'Auto';
  readonly volumeConsumers: 'Skip' | 'Restart';
  readonly targets: readonly { readonly kind: WorkloadKind; readonly name: string }[];
  readonly settleMs: number;
  readonly minIntervalMs: number;
}

/** Schema defaults, for Secrets whose ExternalSecret has no spec.rollout (workloads asking by annotation). */
export const DEFAULT_SETTLE_MS = 5_000;
export const DEFAULT_MIN_INTERVAL_MS = 30_000;

/** On the pod template: `secret=hmac,…` of the Secret versions the pods were rolled for. Names and HMACs only. */
export const SECRET_VERSIONS_ANNOTATION = 'secret-relay.dev/secret-versions';
/** On the workload itself (not its template, so writing it starts nothing): when we last rolled it. */
export const ROLLED_AT_ANNOTATION = 'secret-relay.dev/rolled-at';
/** Our own opt-in on a workload: `auto` (every managed Secret it reads) or a comma-separated list of Secret names. */
export const ROLLOUT_ANNOTATION = 'secret-relay.dev/rollout';
/** Stakater Reloader's opt-ins, honoured for Secrets this operator manages. */
export const ReloaderAnnotation = {
  auto: 'reloader.stakater.com/auto',
  secretAuto: 'secret.reloader.stakater.com/auto',
  secretReload: 'secret.reloader.stakater.com/reload',
} as const;

export interface RollReason {
  readonly secret: string;
  readonly hmac: string;
  readonly why: string;
}

export type WorkloadDecision =
  | { readonly action: 'roll'; readonly workload: Workload; readonly reasons: readonly RollReason[]; readonly patch: WorkloadPatch }
  | { readonly action: 'wait'; readonly workload: Workload; readonly reasons: readonly RollReason[]; readonly waitMs: number }
  | { readonly action: 'current'; readonly workload: Workload; readonly reasons: readonly RollReason[] };

/** A consumer deliberately not rolled (Auto with volumeConsumers Skip), reported in an Event. */
export interface LeftAlone {
  readonly workload: Workload;
  readonly secret: string;
  readonly why: string;
}

export interface MissingTarget {
  readonly externalSecret: string;
  readonly secret: string;
  readonly kind: WorkloadKind;
  readonly name: string;
}

export interface RolloutPlan {
  readonly decisions: readonly WorkloadDecision[];
  readonly leftAlone: readonly LeftAlone[];
  readonly missing: readonly MissingTarget[];
}

/** A merge patch: the pod template's versions annotation (this starts the rollout) and our time stamp. */
export interface WorkloadPatch {
  readonly metadata: { readonly annotations: Record<string, string> };
  readonly spec: { readonly template: { readonly metadata: { readonly annotations: Record<string, string> } } };
}

export interface PlanInput {
  readonly changes: readonly SecretChange[];
  /** The rules of the ExternalSecrets writing each changed Secret (usually one). */
  readonly rules: ReadonlyMap<string, readonly RolloutRules[]>;
  readonly workloads: readonly Workload[];
  readonly now: number;
  /**
   * Secrets of `changes` first seen by this process, not known to have changed: a workload rolls for one only if its
   * versions annotation records another version of it (a change whose rollout was lost); nothing else is reported.
   */
  readonly onlyRecorded?: ReadonlySet<string> | undefined;
}

export function planRollouts(input: PlanInput): RolloutPlan {
  const decisions: WorkloadDecision[] = [];
  const leftAlone: LeftAlone[] = [];
  for (const workload of input.workloads) {
    const reasons: RollReason[] = [];
    let minIntervalMs = 0;
    const recorded = parseVersions(workload.template.annotations[SECRET_VERSIONS_ANNOTATION]);
    for (const change of input.changes) {
      if (input.onlyRecorded?.has(change.secret) && (recorded.get(change.secret) ?? change.hmac) === change.hmac) continue;
      const rules = input.rules.get(change.secret) ?? [];
      const verdict = rollVerdict(workload, change.secret, rules);
      if (verdict === undefined) continue;
      if (verdict.roll) {
        reasons.push({ secret: change.secret, hmac: change.hmac, why: verdict.why });
        minIntervalMs = Math.max(minIntervalMs, ...rules.map((r) => r.minIntervalMs), rules.length === 0 ? DEFAULT_MIN_INTERVAL_MS : 0);
      } else {
        leftAlone.push({ workload, secret: change.secret, why: verdict.why });
      }
    }
    if (reasons.length === 0) continue;
    const versions = parseVersions(workload.template.annotations[SECRET_VERSIONS_ANNOTATION]);
    if (reasons.every((r) => versions.get(r.secret) === r.hmac)) {
      decisions.push({ action: 'current', workload, reasons });
      continue;
    }
    const last = Date.parse(workload.annotations[ROLLED_AT_ANNOTATION] ?? '');
    const waitMs = Number.isNaN(last) ? 0 : last + minIntervalMs - input.now;
    if (waitMs > 0) {
      decisions.push({ action: 'wait', workload, reasons, waitMs });
      continue;
    }
    for (const r of reasons) versions.set(r.secret, r.hmac);
    decisions.push({
      action: 'roll',
      workload,
      reasons,
      patch: {
        metadata: { annotations: { [ROLLED_AT_ANNOTATION]: new Date(input.now).toISOString() } },
        spec: { template: { metadata: { annotations: { [SECRET_VERSIONS_ANNOTATION]: formatVersions(versions) } } } },
      },
    });
  }
  const present = new Set(input.workloads.map((w) => `${w.kind}/${w.name}`));
  const missing: MissingTarget[] = [];
  for (const change of input.changes) {
    if (input.onlyRecorded?.has(change.secret)) continue;
    for (const rules of input.rules.get(change.secret) ?? []) {
      for (const t of rules.targets) {
        if (!present.has(`${t.kind}/${t.name}`)) missing.push({ externalSecret: rules.externalSecret, secret: change.secret, kind: t.kind, name: t.name });
      }
    }
  }
  return { decisions, leftAlone, missing };
}

/** Why a workload rolls for one Secret, why it is left alone, or undefined when it has nothing to do with it. */
function rollVerdict(workload: Workload, secret: string, rules: readonly RolloutRules[]): { roll: boolean; why: string } | undefined {
  const named = rules.find((r) => r.targets.some((t) => t.kind === workload.kind && t.name === workload.name));
  if (named) return { roll: true, why: `named in ExternalSecret ${named.externalSecret}'s rolloutRestartTargets` };
  const uses = secretUses(workload.template.spec, secret);
  const reads = uses.length > 0 ? ` (${uses.map(describeUse).join('; ')})` : '';
  const ours = workload.annotations[ROLLOUT_ANNOTATION]?.trim();
  if (ours === 'auto' && uses.length > 0) return { roll: true, why: `annotation ${ROLLOUT_ANNOTATION}=auto, reads it${reads}` };
  if (ours !== undefined && ours !== 'auto' && listNames(ours, secret)) return { roll: true, why: `annotation ${ROLLOUT_ANNOTATION} names it` };
  const reloaderAuto = workload.annotations[ReloaderAnnotation.auto] === 'true' || workload.annotations[ReloaderAnnotation.secretAuto] === 'true';
  if (reloaderAuto && uses.length > 0) return { roll: true, why: `Reloader annotation auto, reads it${reads}` };
  const reload = workload.annotations[ReloaderAnnotation.secretReload];
  if (reload !== undefined && listNames(reload, secret)) return { roll: true, why: `Reloader annotation ${ReloaderAnnotation.secretReload} names it` };
  const auto = rules.filter((r) => r.policy === 'Auto');
  if (auto.length === 0 || uses.length === 0) return undefined;
  if (needsNewPod(uses)) return { roll: true, why: `rollout policy Auto, reads it${reads}` };
  const restartVolumes = auto.find((r) => r.volumeConsumers === 'Restart');
  if (restartVolumes) return { roll: true, why: `rollout policy Auto with volumeConsumers Restart${reads}` };
  return { roll: false, why: `mounts it as a volume${reads}: the kubelet updates the files in place, so it is not restarted (volumeConsumers: Skip)` };
}

function listNames(list: string, secret: string): boolean {
  return list.split(',').some((n) => n.trim() === secret);
}

/** `a=v1:…,b=v1:…` → map; unreadable entries are dropped (the annotation is ours, but users can edit it). */
export function parseVersions(text: string | undefined): Map<string, string> {
  const versions = new Map<string, string>();
  for (const entry of (text ?? '').split(',')) {
    const eq = entry.indexOf('=');
    if (eq > 0) versions.set(entry.slice(0, eq).trim(), entry.slice(eq + 1).trim());
  }
  return versions;
}

export function formatVersions(versions: ReadonlyMap<string, string>): string {
  return [...versions.keys()].sort().map((k) => `${k}=${versions.get(k)}`).join(',');
}
