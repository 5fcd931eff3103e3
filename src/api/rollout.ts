// Rollouts of the workloads that use an ExternalSecret's Secret, when its data really changed. Explicit targets
// take Vault Secrets Operator's shape (`rolloutRestartTargets: [{kind, name}]`, kinds as VSO spells them), so a
// VaultStaticSecret's list can be copied over unchanged; `rollout` adds discovery (Auto) and the batching knobs.
import { z } from 'zod';
import { DNS_SUBDOMAIN_PATTERN, durationString, Limits } from './common.ts';
import { matchingString, typeMeta, uniqueBy, withRules } from './schema-helpers.ts';

export const RolloutLimits = {
  /** Explicit targets per ExternalSecret; the uniqueness rule is quadratic, 64² stays far inside the CEL budget. */
  targets: 64,
  /** Workloads named in status.rollout. */
  statusWorkloads: 64,
} as const;

/** The kinds a rollout patches; `argo.Rollout` is VSO's spelling of Argo Rollouts' Rollout. */
export const RolloutTargetKindSchema = z
  .enum(['Deployment', 'StatefulSet', 'DaemonSet', 'argo.Rollout'])
  .meta(typeMeta('RolloutTargetKind', 'A workload kind whose pod template a rollout patches.'));

export const RolloutRestartTargetSchema = z
  .object({
    kind: RolloutTargetKindSchema.describe('Deployment, StatefulSet, DaemonSet, or argo.Rollout (when the Argo Rollouts CRD is installed).'),
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'spec.rolloutRestartTargets[].name must be the name of a workload in the ExternalSecret\'s namespace (a DNS subdomain)',
    }).describe('Name of the workload, in the ExternalSecret\'s namespace.'),
  })
  .meta(typeMeta('RolloutRestartTarget', 'A workload restarted (by a rollout) when the Secret\'s data changes, whatever it reads of it.'));

export const RolloutTargetsSchema = withRules(
  z.array(RolloutRestartTargetSchema).max(RolloutLimits.targets),
  [
    {
      rule: 'self.all(x, self.exists_one(y, y.kind == x.kind && y.name == x.name))',
      message: 'spec.rolloutRestartTargets must not name the same workload twice',
      holds: (targets) => uniqueBy(targets, (t) => `${t.kind}/${t.name}`),
    },
  ],
);

export const RolloutPolicySchema = z
  .enum(['Off', 'Auto'])
  .meta(typeMeta('RolloutPolicy', 'Off: only rolloutRestartTargets (and workloads asking by annotation) roll. Auto: also every workload of the namespace that reads the Secret in a way it cannot see change by itself.'));

export const VolumeConsumersSchema = z
  .enum(['Skip', 'Restart'])
  .meta(typeMeta('RolloutVolumeConsumers', 'What Auto does with workloads that mount the Secret as a whole volume (the kubelet updates those files by itself).'));

export const RolloutSpecSchema = z
  .object({
    policy: RolloutPolicySchema.default('Off').describe(
      'Off (default): nothing restarts unless named in rolloutRestartTargets or asking by annotation. Auto: workloads reading the Secret through env, envFrom or a subPath mount roll out when its data changes.',
    ),
    volumeConsumers: VolumeConsumersSchema.default('Skip').describe(
      'Under Auto: Skip (default) leaves workloads that mount the Secret as a whole volume alone (their files change in place); Restart rolls them out too.',
    ),
    settleWindow: durationString('spec.rollout.settleWindow')
      .default('5s')
      .describe('How long to wait after a change for more changes before rolling out, so Secrets rotated a moment apart (a username and a password) give one rollout.'),
    minInterval: durationString('spec.rollout.minInterval')
      .default('30s')
      .describe('The least time between two rollouts of one workload; a change sooner waits for it (it is not dropped).'),
  })
  .meta(typeMeta('RolloutSpec', 'Whether and how workloads that use the Secret roll out when its data changes.'));

export const RolloutStatusSchema = z
  .object({
    time: z.iso.datetime({ offset: true }).max(64).describe('When the last rollout was started (RFC 3339).'),
    secret: z.string().max(Limits.name).describe('The Secret whose change it was for.'),
    workloads: z
      .array(z.string().max(Limits.name + 32))
      .max(RolloutLimits.statusWorkloads)
      .describe('The workloads patched, as Kind/name.'),
  })
  .meta(typeMeta('RolloutStatus', 'The last rollout this ExternalSecret\'s Secret caused.'));
