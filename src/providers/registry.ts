import { PROVIDER_NAMES } from '../api/providers/index.ts';
import type { SecretStoreProvider } from '../api/types.generated.ts';
import type { Provider, ProviderName } from './provider.ts';

/** Every key `spec.provider` may hold, whether or not this build implements it (the one list, src/api/providers). */
export const providerNames: readonly ProviderName[] = PROVIDER_NAMES;

/**
 * One implementation per provider, keyed by name and typed by its spec: a provider left out fails the typecheck.
 * ("Type 'K' cannot be used to index type 'SecretStoreProvider'" here: run `npm run generate` after adding one.)
 */
export type ProviderSet = { readonly [K in ProviderName]: Provider<NonNullable<SecretStoreProvider[K]>> };

export function isProviderName(name: string): name is ProviderName {
  return (providerNames as readonly string[]).includes(name);
}

/** The providers this process can serve; built once in main.ts and passed to whoever needs it. */
export interface ProviderRegistry {
  get(name: string): Provider | undefined;
  /** Registered provider names, in registration order. */
  names(): ProviderName[];
}

/** Throws on a duplicate name: two implementations of one provider is a wiring bug. */
export function createProviderRegistry(providers: readonly Provider[]): ProviderRegistry {
  const byName = new Map<ProviderName, Provider>();
  for (const provider of providers) {
    if (byName.has(provider.name)) {
      throw new Error(`provider "${provider.name}" is registered twice; register each provider once in main.ts`);
    }
    byName.set(provider.name, provider);
  }
  return {
    get: (name) => (isProviderName(name) ? byName.get(name) : undefined),
    names: () => [...byName.keys()],
  };
}

/**
 * Which provider a store spec selects: exactly one key of `spec.provider` must be set
 * (a key holding undefined or null counts as unset). Takes any object so generated spec
 * interfaces (which have no index signature) fit.
 */
export function providerOfStore(spec: {
  readonly provider: object;
}): { name: ProviderName; spec: unknown } | { error: string } {
  const provider: unknown = spec.provider;
  const choices = providerNames.join(', ');
  if (provider === null || typeof provider !== 'object' || Array.isArray(provider)) {
    return { error: `spec.provider must be an object with exactly one of: ${choices}` };
  }
  const set = Object.entries(provider).filter(([, value]) => value !== undefined && value !== null);
  const unknown = set.map(([key]) => key).filter((key) => !isProviderName(key));
  if (unknown.length > 0) {
    return {
      error: `spec.provider.${unknown[0]} is not a known provider; use exactly one of: ${choices}`,
    };
  }
  if (set.length === 0) {
    return { error: `spec.provider sets no provider; set exactly one of: ${choices}` };
  }
  if (set.length > 1) {
    return {
      error: `spec.provider sets ${set.length} providers (${set.map(([key]) => key).join(', ')}); set exactly one`,
    };
  }
  const [name, providerSpec] = set[0]!;
  return { name: name as ProviderName, spec: providerSpec };
}
