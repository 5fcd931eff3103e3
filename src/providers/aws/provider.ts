// The `aws` provider: AWS Secrets Manager or SSM Parameter Store, one authenticated session per store
// generation (and per ExternalSecret namespace under referent auth).
import { AwsProviderSchema } from '../../api/secret-store.ts';
import type { AwsProvider } from '../../api/types.generated.ts';
import { checkProviderSpec, specOrThrow, type CheckedSpec } from '../kit/index.ts';
import type { Provider } from '../provider.ts';
import { planAwsAuth } from './auth-plan.ts';
import type { AwsProviderOptions } from './options.ts';

export type { AwsProvider as AwsProviderSpec } from '../../api/types.generated.ts';

export { DEFAULT_MAX_ATTEMPTS, type AwsProviderOptions } from './options.ts';

/** The spec checked with the CRD's schema (it comes from the cluster) and the rules the schema cannot say. Pure. */
function checkAwsSpec(spec: unknown): CheckedSpec<AwsProvider> {
  return checkProviderSpec<AwsProvider>('aws', AwsProviderSchema, spec, (value) => ({
    warnings:
      (value.externalID !== undefined || (value.sessionTags?.length ?? 0) > 0) && value.role === undefined
        ? ['spec.provider.aws.externalID and sessionTags apply only when assuming spec.provider.aws.role, which is not set']
        : [],
  }));
}

/** Problems in an aws store spec (pure). */
export function validateAwsSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const { warnings, errors } = checkAwsSpec(spec);
  return { warnings, errors };
}

export function createAwsProvider(options: AwsProviderOptions = {}): Provider<AwsProvider> {
  return {
    name: 'aws',
    validateStore: (spec) => validateAwsSpec(spec),
    clientPartition(spec, ctx) {
      // Only the referent flag matters here; the store's own namespace does not.
      const plan = planAwsAuth(spec, { storeKind: ctx.storeKind, storeNamespace: undefined, namespace: ctx.namespace });
      return plan.referent ? ctx.namespace : undefined;
    },
    changeFeed: {
      source: 'aws-sqs',
      describe: (spec) => spec.changeFeed?.sqs.queueURL,
      async run(rawSpec, ctx, sink, signal) {
        const spec = specOrThrow('aws', checkAwsSpec(rawSpec));
        const { runSqsFeed } = await import('./sqs-feed.ts');
        return runSqsFeed(spec, ctx, sink, signal, options);
      },
    },
    async newClient(rawSpec, ctx) {
      const spec = specOrThrow('aws', checkAwsSpec(rawSpec));
      // The AWS SDK (+27 MiB RSS) loads with the first aws store's client, not at start.
      const { createAwsClient } = await import('./client.ts');
      return createAwsClient(spec, ctx, options);
    },
  };
}
