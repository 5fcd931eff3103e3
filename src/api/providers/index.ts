// The one list of providers: the keys of a store's spec.provider. Adding a provider is its schema file here
// (./<name>.ts, named as its key), its folder under src/providers, and one line below. ProviderName and
// PROVIDER_NAMES derive from this record (src/api/meta.ts, src/providers/registry.ts and src/metrics re-use them),
// and the registration of the implementations (src/cli.ts) is checked against ProviderName, so a provider missing
// there fails the typecheck.
import { alibabaProvider } from './alibaba.ts';
import { awsProvider } from './aws.ts';
import { azurekvProvider } from './azurekv.ts';
import { fakeProvider } from './fake.ts';
import { gcpsmProvider } from './gcpsm.ts';
import type { ProviderDefinition } from './kit.ts';
import { vaultProvider } from './vault.ts';

export type { ProviderDefinition };

/** Every provider's schema, keyed by its name under spec.provider, in the order the CRD and messages list them. */
export const providerSchemas = {
  aws: awsProvider,
  gcpsm: gcpsmProvider,
  azurekv: azurekvProvider,
  alibaba: alibabaProvider,
  vault: vaultProvider,
  fake: fakeProvider,
} as const satisfies Readonly<Record<string, ProviderDefinition>>;

/** Which provider a store uses; the key under `spec.provider`. */
export type ProviderName = keyof typeof providerSchemas;

/** The keys of spec.provider, in the order messages list them. */
export const PROVIDER_NAMES: readonly ProviderName[] = Object.freeze(Object.keys(providerSchemas) as ProviderName[]);
