// Fields ESO v2.9.0 has that secret-relay accepts (so a valid ESO manifest is never refused for an unknown field)
// but does not act on yet. Pure: each check returns one clear line per field, naming it and saying what to do.
// Errors make the object Ready=False; warnings ride on the store's Ready message. docs/eso-differences.md lists them.
import { PROVIDER_RETRY_LIMITS } from './secret-store.ts';
import type { ExternalSecretSpec, SecretStoreSpec } from './types.generated.ts';
import { parseDuration } from '../util/duration.ts';

export interface CompatVerdict {
  readonly errors: string[];
  readonly warnings: string[];
}

const notYet = (field: string, what: string) => `${field} (${what}) is not supported by secret-relay yet; remove it or use a supported alternative`;

/** A store's spec (SecretStore or ClusterSecretStore; `isCluster` for the conditions rule). */
export function storeCompat(spec: Pick<SecretStoreSpec, 'provider' | 'controller' | 'retrySettings' | 'conditions'>, isCluster: boolean): CompatVerdict {
  const errors: string[] = [];
  const warnings: string[] = [];
  const retry = spec.retrySettings;
  if (retry !== undefined && ((retry.maxRetries ?? 0) > PROVIDER_RETRY_LIMITS.maxRetries || parseDuration(retry.retryInterval ?? '0') > PROVIDER_RETRY_LIMITS.intervalMs)) {
    warnings.push(`spec.retrySettings: at most ${PROVIDER_RETRY_LIMITS.maxRetries} retries ${PROVIDER_RETRY_LIMITS.intervalMs / 1000} s apart are made (each a requeue of the ExternalSecret); later ones follow the operator's backoff`);
  }
  if (!isCluster && (spec.conditions?.length ?? 0) > 0) warnings.push('spec.conditions has no effect on a SecretStore (only a ClusterSecretStore limits namespaces)');
  // As ESO, a namespaceRegex matches anywhere in the name: "team-a" admits "not-team-a-prod" too. Said where the admin looks.
  for (const [i, condition] of (isCluster ? (spec.conditions ?? []) : []).entries()) {
    for (const pattern of condition.namespaceRegexes ?? []) {
      if (!(pattern.startsWith('^') && pattern.endsWith('$'))) {
        warnings.push(`spec.conditions[${i}].namespaceRegexes "${pattern}" matches anywhere in a namespace's name (as in ESO); write ^${pattern.replace(/^\^|\$$/g, '')}$ to match whole names only`);
      }
    }
  }
  const aws = spec.provider.aws;
  if (aws !== undefined) {
    if ((aws.transitiveTagKeys?.length ?? 0) > 0) errors.push(notYet('spec.provider.aws.transitiveTagKeys', 'transitive session tags'));
    if (aws.sessionTagsPolicy !== undefined && aws.sessionTagsPolicy !== 'None') errors.push(notYet(`spec.provider.aws.sessionTagsPolicy ${aws.sessionTagsPolicy}`, 'automatic session tags'));
    if (aws.customSessionTags !== undefined && Object.keys(aws.customSessionTags).length > 0) errors.push(notYet('spec.provider.aws.customSessionTags', 'custom session tags; use sessionTags'));
    if (aws.secretsManager !== undefined) warnings.push('spec.provider.aws.secretsManager only affects writing and deleting remote secrets, which secret-relay never does');
  }
  const vault = spec.provider.vault;
  if (vault !== undefined) {
    if (vault.auth.namespace !== undefined) errors.push(notYet('spec.provider.vault.auth.namespace', 'a separate login namespace; spec.provider.vault.namespace applies to logins too'));
    const jwt = vault.auth.jwt;
    if (jwt !== undefined && jwt.secretRef === undefined && jwt.kubernetesServiceAccountToken === undefined) {
      errors.push('spec.provider.vault.auth.jwt needs a token: set secretRef or kubernetesServiceAccountToken');
    }
    if (vault.headers !== undefined && Object.keys(vault.headers).length > 0) errors.push(notYet('spec.provider.vault.headers', 'extra request headers'));
    if (vault.forwardInconsistent === true) warnings.push('spec.provider.vault.forwardInconsistent is not used yet: reads go to the node that answers');
    if (vault.readYourWrites === true) warnings.push('spec.provider.vault.readYourWrites has no effect: secret-relay only reads');
    if (vault.checkAndSet !== undefined) warnings.push('spec.provider.vault.checkAndSet only affects writes, which secret-relay never does');
  }
  return { errors, warnings };
}

/** An ExternalSecret's spec: the ESO fields it may hold that secret-relay does not act on yet. */
export function externalSecretCompat(spec: ExternalSecretSpec): string[] {
  const errors: string[] = [];
  if (spec.syncWindows !== undefined) errors.push(notYet('spec.syncWindows', 'sync windows'));
  if (spec.target.manifest !== undefined) errors.push(notYet('spec.target.manifest', 'targets other than a Secret'));
  const template = spec.target.template;
  if (template?.engineVersion !== undefined) {
    errors.push(
      `spec.target.template.engineVersion ${template.engineVersion} asks for ESO's Go templates; secret-relay templates are Liquid: ` +
        'translate the templates (docs/templates.md) and remove engineVersion',
    );
  }
  if ((template?.metadata?.finalizers?.length ?? 0) > 0) errors.push(notYet('spec.target.template.metadata.finalizers', 'finalizers on the Secret'));
  template?.templateFrom?.forEach((entry, index) => {
    if (entry.valuesDecodingStrategy !== undefined && entry.valuesDecodingStrategy !== 'None') {
      errors.push(notYet(`spec.target.template.templateFrom[${index}].valuesDecodingStrategy ${entry.valuesDecodingStrategy}`, 'decoding template source values'));
    }
  });
  spec.data.forEach((entry, index) => {
    // ESO does not implement it either (deprecated in data[]).
    if (entry.sourceRef?.generatorRef !== undefined) errors.push(notYet(`spec.data[${index}].sourceRef.generatorRef`, 'a generator per data entry; use spec.dataFrom[].sourceRef.generatorRef'));
  });
  return errors;
}
