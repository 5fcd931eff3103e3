// A provider's store spec arrives from the cluster, so its shape is checked with the same zod schema the CRD was
// generated from; the messages name the field as the user wrote it (spec.provider.<name>.<path>). One parse gives
// both the problems and, when there are none, the typed spec.
import type { z } from 'zod';
import { TerminalError } from '../../util/errors.ts';

export interface SpecProblems {
  readonly warnings: string[];
  readonly errors: string[];
}

export type CheckedSpec<T> = ({ readonly ok: true; readonly spec: T } | { readonly ok: false }) & SpecProblems;

/**
 * Parses `spec` with `schema`; on success runs `check` (cross-field rules the schema cannot say) for more warnings
 * and errors. Pure.
 */
export function checkProviderSpec<T>(
  providerName: string,
  schema: z.ZodType,
  spec: unknown,
  check?: (spec: T) => Partial<SpecProblems>,
): CheckedSpec<T> {
  const parsed = schema.safeParse(spec);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => {
      const at = ['spec', 'provider', providerName, ...issue.path.map(String)].join('.');
      return issue.message.startsWith('spec.') ? issue.message : `${at}: ${issue.message}`;
    });
    return { ok: false, warnings: [], errors };
  }
  const value = parsed.data as T;
  const more = check?.(value) ?? {};
  const errors = more.errors ?? [];
  const warnings = more.warnings ?? [];
  return errors.length > 0 ? { ok: false, warnings, errors } : { ok: true, spec: value, warnings, errors };
}

/** The typed spec, or a TerminalError listing every problem (newClient of a spec validateStore would refuse). */
export function specOrThrow<T>(providerName: string, checked: CheckedSpec<T>): T {
  if (!checked.ok) throw new TerminalError(`the ${providerName} store's spec is invalid: ${checked.errors.join('; ')}`);
  return checked.spec;
}
