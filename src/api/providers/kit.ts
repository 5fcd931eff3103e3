// What the schemas of every provider share: Secret and ServiceAccount references, ESO fields accepted but not acted
// on, and the shape of one entry of the provider list (./index.ts).
import { z } from 'zod';
import { DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, Limits } from '../common.ts';
import { matchingString, nonEmptyString, typeMeta } from '../schema-helpers.ts';

/** The longest key of a Secret (a DNS subdomain). */
const SECRET_KEY_MAX_LENGTH = 253;

export const SecretKeySelectorSchema = z
  .object({
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'the name of a Secret reference must be a Secret name (DNS subdomain)',
    }).describe('The Secret name.'),
    namespace: matchingString({
      pattern: DNS_LABEL_PATTERN,
      maxLength: Limits.namespace,
      message: 'the namespace of a Secret reference must be a namespace name (DNS label)',
    })
      .optional()
      .describe(
        "The Secret's namespace. A SecretStore may only name its own; for a ClusterSecretStore, omitting it means the ExternalSecret's namespace.",
      ),
    key: nonEmptyString({ maxLength: SECRET_KEY_MAX_LENGTH, message: 'the key of a Secret reference must not be empty' }).describe(
      'The key inside the Secret.',
    ),
  })
  .meta(typeMeta('SecretKeySelector', 'One key of a Kubernetes Secret.'));

/** The name and namespace of a serviceAccountRef, the same for every provider (fresh schemas per call). */
export function serviceAccountNameFields() {
  return {
    name: matchingString({
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: Limits.name,
      message: 'serviceAccountRef.name must be a ServiceAccount name (DNS subdomain)',
    }).describe('The ServiceAccount name.'),
    namespace: matchingString({
      pattern: DNS_LABEL_PATTERN,
      maxLength: Limits.namespace,
      message: 'serviceAccountRef.namespace must be a namespace name (DNS label)',
    })
      .optional()
      .describe(
        "The ServiceAccount's namespace. A SecretStore may only name its own; for a ClusterSecretStore, omitting it means the ExternalSecret's namespace (referent auth).",
      ),
  };
}

/**
 * A field ESO has for a provider we support that secret-relay accepts but does not act on yet: kept as written, and
 * the store reports it (src/api/eso-compat.ts) instead of the apiserver refusing a valid ESO manifest.
 */
export function notSupportedYet(what: string) {
  return z.object({}).loose().optional().describe(`${what} Accepted for ESO compatibility; not supported by secret-relay yet: a store using it reports Ready=False naming the field.`);
}

/** One provider of spec.provider, as listed in ./index.ts. */
export interface DeclaredUrl {
  /** The field as the user wrote it, e.g. spec.provider.gcpsm.endpoints.sts. */
  readonly field: string;
  /** An absolute URL (a bare host is written https://host). */
  readonly url: string;
}

/**
 * What a store spec would make the operator do, as its provider declares it: the tenancy rules of
 * src/providers/kit/tenancy.ts decide from it whether a store of a given kind may. Pure data.
 */
export interface TenancyDeclaration {
  /** Set when the spec's auth acts as the operator's own identity: how (the mode) and what to use instead. */
  readonly operatorIdentity?: { readonly mode: string; readonly instead: string } | undefined;
  /** Endpoint overrides: hosts that receive credentials or tokens and that the store's author chose instead of the cloud's. */
  readonly endpoints?: readonly DeclaredUrl[] | undefined;
  /** Servers the store talks to by design (a Vault address): only the plain-http rule applies to them. */
  readonly servers?: readonly DeclaredUrl[] | undefined;
  /** Files of the operator's pod the spec names (their content is sent as a credential). */
  readonly operatorFiles?: readonly { readonly field: string; readonly path: string }[] | undefined;
}

export interface ProviderDefinition<Schema extends z.ZodType = z.ZodType> {
  /** The schema of spec.provider.<name>. */
  readonly schema: Schema;
  /** The description of the key spec.provider.<name> (the schema's own type description says what the type is). */
  readonly description: string;
  /**
   * Pure: what a parsed spec would make the operator do — act as its own identity, send credentials to endpoints the
   * spec names, read its own files. The provider declares; the kit (src/providers/kit/tenancy.ts) enforces.
   */
  tenancy(spec: z.output<Schema>): TenancyDeclaration;
}

/** A bare host (as some endpoint fields accept) written as the https URL it means. Pure. */
export function asUrl(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value.replace(/\/+$/, '') : `https://${value.replace(/\/+$/, '')}`;
}
