// VaultDynamicSecret: a generator that asks Vault for short-lived credentials (database/creds/<role>, aws/creds/…,
// pki/issue/…) each time an ExternalSecret refers to it from dataFrom[].sourceRef.generatorRef. ESO's field names
// (generators.external-secrets.io VaultDynamicSecret), plus storeRef and the lease settings ESO lacks: the ExternalSecret
// reconciler renews the lease, issues new credentials before the max TTL and revokes what it replaced.
import { z } from 'zod';
import { DNS_SUBDOMAIN_PATTERN, durationString, Limits, ObjectMetaSchema } from './common.ts';
import { API_GROUP_VERSION, Kind } from './meta.ts';
import { formatIssues, type ParseResult } from './parse.ts';
import { matchingString, nonEmptyString, typeMeta, withRules } from './schema-helpers.ts';
import { StoreKindSchema } from './external-secret.ts';
import { VaultProviderSchema } from './providers/vault.ts';
import type { VaultDynamicSecret } from './types.generated.ts';

export const VaultDynamicSecretLimits = {
  path: 1024,
  parameters: 64,
  minRenewPercent: 10,
  maxRenewPercent: 90,
} as const;

export const VaultDynamicSecretStoreRefSchema = z
  .object({
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'spec.storeRef.name must name a SecretStore or ClusterSecretStore',
    }).describe('Name of the store.'),
    kind: StoreKindSchema.default('SecretStore').describe("SecretStore (in the generator's namespace) or ClusterSecretStore."),
  })
  .meta(typeMeta('VaultDynamicSecretStoreRef', 'A vault SecretStore or ClusterSecretStore whose server and auth the generator uses.'));

export const VaultDynamicSecretSpecSchema = withRules(
  z
    .object({
      provider: VaultProviderSchema.optional().describe('Server and auth, written as a store\'s spec.provider.vault (path and version are not used).'),
      storeRef: VaultDynamicSecretStoreRefSchema.optional().describe('Or: the server and auth of an existing vault store.'),
      path: nonEmptyString({ maxLength: VaultDynamicSecretLimits.path, message: 'spec.path must name a Vault path such as database/creds/app' }).describe(
        'The Vault path to call, e.g. database/creds/app (a leading / is ignored).',
      ),
      method: z
        .enum(['GET', 'POST', 'PUT'])
        .meta(typeMeta('VaultDynamicSecretMethod', 'The HTTP method of the call.'))
        .default('GET')
        .describe('GET (default) for creds endpoints; POST or PUT for ones that take parameters (pki/issue/…).'),
      parameters: z
        .record(z.string(), z.unknown())
        .meta({ maxProperties: VaultDynamicSecretLimits.parameters })
        .optional()
        .describe('The JSON body of a POST or PUT (or query parameters of a GET).'),
      resultType: z
        .enum(['Data', 'Auth'])
        .meta(typeMeta('VaultDynamicSecretResultType', 'Which part of the response becomes the keys.'))
        .default('Data')
        .describe('Data (default): the response\'s data object. Auth: its auth object (a token from an auth endpoint).'),
      allowEmptyResponse: z.boolean().default(false).describe('Accept a response with nothing in it instead of failing.'),
      renewAtPercent: z
        .int()
        .min(VaultDynamicSecretLimits.minRenewPercent)
        .max(VaultDynamicSecretLimits.maxRenewPercent)
        .default(50)
        .describe('Renew the lease once this share of its TTL has passed (default 50: half the TTL is left to retry a failed renewal).'),
      rotateBeforeMaxTTL: durationString('spec.rotateBeforeMaxTTL')
        .default('5m')
        .describe(
          'Issue new credentials this long before the lease can no longer be extended (its max TTL, or its end when it is not renewable), update the Secret, then revoke the old lease.',
        ),
    })
    .meta(typeMeta('VaultDynamicSecretSpec', 'Which Vault endpoint issues the credentials, and how their lease is kept.')),
  [
    {
      rule: '(has(self.provider) ? 1 : 0) + (has(self.storeRef) ? 1 : 0) == 1',
      message: 'spec must set exactly one of provider and storeRef',
      holds: (spec) => (spec.provider === undefined) !== (spec.storeRef === undefined),
    },
  ],
);

export const VaultDynamicSecretSchema = z
  .object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(Kind.VaultDynamicSecret),
    metadata: ObjectMetaSchema,
    spec: VaultDynamicSecretSpecSchema,
  })
  .meta(
    typeMeta(
      'VaultDynamicSecret',
      'A VaultDynamicSecret generates credentials from a Vault secrets engine (database, aws, pki …) for the ExternalSecrets that refer to it in dataFrom[].sourceRef.generatorRef.',
    ),
  );

const vaultDynamicSecretSchema: z.ZodType<VaultDynamicSecret> = VaultDynamicSecretSchema;

export function parseVaultDynamicSecret(obj: unknown): ParseResult<VaultDynamicSecret> {
  const result = vaultDynamicSecretSchema.safeParse(obj, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined),
  });
  if (result.success) return { ok: true, value: result.data };
  const name = (obj as { metadata?: { namespace?: string; name?: string } } | undefined)?.metadata;
  return { ok: false, error: `VaultDynamicSecret ${name?.namespace ?? ''}/${name?.name ?? ''} is invalid: ${formatIssues(result.error.issues)}` };
}
