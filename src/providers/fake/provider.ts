import { TerminalError } from '../provider.ts';
import type { Provider } from '../provider.ts';
import { createFakeClient } from './client.ts';

export type { FakeDataEntry, FakeProviderSpec, FakeOperation, FakeProviderHooks } from './spec.ts';
import type { FakeProviderSpec, FakeProviderHooks } from './spec.ts';

/** Problems in a fake store spec. The spec arrives from the cluster, so its shape is checked too. */
export function validateFakeSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  const path = 'spec.provider.fake.data';
  const data: unknown = spec !== null && typeof spec === 'object' ? (spec as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) {
    errors.push(`${path} must be a list of {key, value, version?} entries`);
    return { warnings, errors };
  }
  if (data.length === 0) warnings.push(`${path} is empty; every read from this store will find nothing`);
  const firstIndex = new Map<string, number>();
  data.forEach((entry: unknown, index) => {
    const at = `${path}[${index}]`;
    if (entry === null || typeof entry !== 'object') {
      errors.push(`${at} must be an object with key, value and optionally version`);
      return;
    }
    const { key, value, version, tags } = entry as { key?: unknown; value?: unknown; version?: unknown; tags?: unknown };
    if (typeof key !== 'string' || key === '') {
      errors.push(`${at}.key is empty; give each entry a key`);
      return;
    }
    // The message names the type only, never the value.
    if (typeof value !== 'string') errors.push(`${at}.value must be a string (key "${key}")`);
    if (
      tags !== undefined &&
      tags !== null &&
      (typeof tags !== 'object' || Array.isArray(tags) || Object.values(tags).some((tag) => typeof tag !== 'string'))
    ) {
      errors.push(`${at}.tags must map tag names to strings (key "${key}")`);
    }
    if (version !== undefined && version !== null && typeof version !== 'string') {
      errors.push(`${at}.version must be a string (key "${key}")`);
      return;
    }
    const identity = JSON.stringify([key, version ?? null]);
    const first = firstIndex.get(identity);
    if (first !== undefined) {
      const which = typeof version === 'string' ? `version "${version}"` : 'no version';
      errors.push(`${at} repeats key "${key}" with ${which} (first at ${path}[${first}]); each key+version must be unique`);
    } else {
      firstIndex.set(identity, index);
    }
  });
  return { warnings, errors };
}

/** The `fake` provider: serves the data written in the store itself. For demos, users' tests and ours. */
export function createFakeProvider(hooks: FakeProviderHooks = {}): Provider<FakeProviderSpec> {
  return {
    name: 'fake',
    validateStore: (spec) => validateFakeSpec(spec),
    async newClient(spec, ctx) {
      const { errors } = validateFakeSpec(spec);
      if (errors.length > 0) {
        throw new TerminalError(`the fake store's spec is invalid: ${errors.join('; ')}`);
      }
      await hooks.onCall?.('newClient', undefined, { signal: undefined, ctx });
      const data = spec.data.map(({ key, value, version, tags }) => ({
        key,
        value,
        ...(version === undefined || version === null ? {} : { version }),
        ...(tags === undefined || tags === null ? {} : { tags: { ...tags } }),
      }));
      return createFakeClient(data, ctx, hooks, spec.validationResult);
    },
  };
}
