// Schemas shared by the kinds: object metadata, metav1.Condition, LabelSelector, durations.
import { z } from 'zod';
import { DURATION_PATTERN, DurationError, parseDuration } from '../util/duration.ts';
import { matchingString, typeMeta, withRules } from './schema-helpers.ts';

/** Size limits. Every list and string is bounded so the apiserver can estimate the cost of the CEL rules. */
export const Limits = {
  /** Kubernetes object names (DNS subdomain). */
  name: 253,
  /** Namespace names (DNS label). */
  namespace: 63,
  duration: 32,
  conditions: 16,
} as const;

export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const DURATION_MESSAGE = 'must be a duration such as 1h, 15m or 30s; 0 fetches once';

/**
 * A Go-style duration string ("1h", "15m30s", "0") in the grammar of src/duration.ts; `field` names it in the
 * message. The CRD checks the pattern; parsing also refuses what only parseDuration can (e.g. "0.5ms").
 */
export function durationString(field: string): z.ZodString {
  const pattern = new RegExp(DURATION_PATTERN);
  return matchingString({ pattern: DURATION_PATTERN, message: `${field} ${DURATION_MESSAGE}`, maxLength: Limits.duration })
    .superRefine((text, ctx) => {
      if (!pattern.test(text)) return; // reported by the pattern check
      try {
        parseDuration(text);
      } catch (err) {
        if (!(err instanceof DurationError)) throw err;
        ctx.addIssue({ code: 'custom', message: `${field} ${DURATION_MESSAGE} (${err.reason})` });
      }
    });
}

export const OwnerReferenceSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    name: z.string(),
    uid: z.string(),
    controller: z.boolean().optional(),
    blockOwnerDeletion: z.boolean().optional(),
  })
  .meta(typeMeta('OwnerReference', 'metav1.OwnerReference: an object this one depends on.'));

/**
 * The parts of metav1.ObjectMeta the operator reads. The CRD leaves metadata to the apiserver;
 * parsing keeps only these fields (managedFields and the like are dropped).
 */
export const ObjectMetaSchema = z
  .object({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.int().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    ownerReferences: z.array(OwnerReferenceSchema).optional(),
  })
  .meta(typeMeta('ObjectMeta', 'Standard object metadata (the fields secret-relay reads).'));

export const ConditionStatusSchema = z
  .enum(['True', 'False', 'Unknown'])
  .meta(typeMeta('ConditionStatus', 'Status of a condition.'));

/** metav1.Condition, with the apiserver's own bounds and patterns. */
export const ConditionSchema = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
      )
      .describe('Type of condition in CamelCase; secret-relay reports "Ready".'),
    status: ConditionStatusSchema.describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the condition was set for; older than the current generation means stale.'),
    lastTransitionTime: z.iso
      .datetime({ offset: true })
      .max(64)
      .describe('When the condition last changed from one status to another (RFC 3339).'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('A CamelCase reason for the last transition, for machines (SecretSynced, StoreNotReady, …).'),
    message: z.string().max(32768).describe('A human-readable message about the transition; never contains a secret value.'),
  })
  .meta(typeMeta('Condition', "A metav1.Condition: one aspect of the object's current state."));

/** `status.conditions`: a map list keyed by type, so server-side apply merges entries per type. */
export function conditionsSchema(description: string) {
  return z
    .array(ConditionSchema)
    .max(Limits.conditions)
    .optional()
    .meta({
      description,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
}

export const LabelSelectorOperatorSchema = z
  .enum(['In', 'NotIn', 'Exists', 'DoesNotExist'])
  .meta(typeMeta('LabelSelectorOperator', 'How a label selector requirement relates a key to its values.'));

export const LabelSelectorRequirementSchema = withRules(
  z
    .object({
      key: z.string().max(317).describe('The label key the selector applies to.'),
      operator: LabelSelectorOperatorSchema.describe('How the key relates to the values: In, NotIn, Exists or DoesNotExist.'),
      values: z
        .array(z.string().max(63))
        .max(64)
        .optional()
        .describe('Label values; non-empty for In and NotIn, empty for Exists and DoesNotExist.'),
    })
    .meta(typeMeta('LabelSelectorRequirement', 'One requirement of a label selector.')),
  [
    {
      rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
      message: 'matchExpressions values must be non-empty for operator In and NotIn, and empty for Exists and DoesNotExist',
      holds: (requirement) =>
        requirement.operator === 'In' || requirement.operator === 'NotIn'
          ? (requirement.values?.length ?? 0) > 0
          : (requirement.values?.length ?? 0) === 0,
    },
  ],
);

export const LabelSelectorSchema = z
  .object({
    matchLabels: z
      .record(z.string(), z.string().max(63))
      .optional()
      .describe('Labels that must all be present with these values.'),
    matchExpressions: z
      .array(LabelSelectorRequirementSchema)
      .max(32)
      .optional()
      .describe('Requirements that must all hold.'),
  })
  .meta(typeMeta('LabelSelector', 'A metav1.LabelSelector; an empty selector matches everything.'));
