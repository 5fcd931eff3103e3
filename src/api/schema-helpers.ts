// Small builders that keep each rule in one place: the CEL rule the apiserver enforces (x-kubernetes-validations)
// and the same rule in TypeScript, so parsing in the operator rejects exactly what `kubectl apply` rejects.
import { z } from 'zod';

/** Meta key naming the TypeScript interface/alias generated for a schema (stripped from the CRD). */
export const TYPE_NAME_META = 'typeName';
/** Meta key holding the doc comment of that declaration; `description` may be overridden where the schema is used. */
export const TYPE_DOC_META = 'typeDescription';

/** Metadata naming a schema's generated TypeScript declaration and documenting it. */
export function typeMeta(name: string, description: string): Record<string, string> {
  return { [TYPE_NAME_META]: name, [TYPE_DOC_META]: description, description };
}

export interface CelRule<T> {
  /** CEL over `self`, true when the value is valid. */
  readonly rule: string;
  /** What `kubectl apply` prints: names the field and says what to do. */
  readonly message: string;
  /** Where the apiserver reports the error, relative to `self` (e.g. ".deletionPolicy"); dotted names only. */
  readonly fieldPath?: string;
  /** The same rule in TypeScript, evaluated on the parsed (defaulted) value. */
  readonly holds: (value: T) => boolean;
}

interface CelValidation {
  readonly rule: string;
  readonly message: string;
  readonly fieldPath?: string;
}

function existingValidations(schema: z.ZodType): CelValidation[] {
  const found = schema.meta()?.['x-kubernetes-validations'];
  return Array.isArray(found) ? (found as CelValidation[]) : [];
}

function celValidation(rule: { rule: string; message: string; fieldPath?: string | undefined }): CelValidation {
  return rule.fieldPath === undefined
    ? { rule: rule.rule, message: rule.message }
    : { rule: rule.rule, message: rule.message, fieldPath: rule.fieldPath };
}

/** Attaches rules to a schema: each becomes an x-kubernetes-validations entry and a zod refinement. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly CelRule<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (rule.holds(value as z.output<S>)) continue;
      const path = rule.fieldPath?.split('.').filter((part) => part !== '') ?? [];
      ctx.addIssue({ code: 'custom', message: rule.message, path });
    }
  });
  return refined.meta({
    'x-kubernetes-validations': [...existingValidations(schema), ...rules.map(celValidation)],
  });
}

/** Rejects patterns a CEL single-quoted string or RE2 would read differently from JavaScript. */
function celPattern(pattern: string): string {
  if (/['\\]/.test(pattern)) throw new Error(`pattern ${pattern} must not contain quotes or backslashes (use [.] etc.)`);
  return pattern;
}

/**
 * A bounded string that must match `pattern`. The CRD checks it with CEL `matches()` rather than a bare
 * OpenAPI `pattern`, so the user reads `message` instead of the regular expression.
 */
export function matchingString(options: { pattern: string; message: string; maxLength: number }): z.ZodString {
  const regExp = new RegExp(celPattern(options.pattern));
  return z
    .string()
    .max(options.maxLength)
    .refine((text) => regExp.test(text), options.message)
    .meta({ 'x-kubernetes-validations': [{ rule: `self.matches('${options.pattern}')`, message: options.message }] });
}

/** A bounded string that must not be empty, with a readable message instead of "should be at least 1 chars long". */
export function nonEmptyString(options: { maxLength: number; message: string }): z.ZodString {
  return z
    .string()
    .max(options.maxLength)
    .refine((text) => text.length > 0, options.message)
    .meta({ 'x-kubernetes-validations': [{ rule: "self != ''", message: options.message }] });
}

/** True when no two items give the same key; the TypeScript twin of an `exists_one` CEL rule. */
export function uniqueBy<T>(items: readonly T[], key: (item: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}
