// Counts and times every real provider call (after de-duplication), so provider_requests_total is the bill.
import type { Metrics, ProviderOperation, ProviderResult } from '../metrics/metrics.ts';
import type { Provider } from './provider.ts';
import { AccessDeniedError, NoSecretError, ThrottledError, wrapClient } from './provider.ts';
import type { Clock } from '../util/clock.ts';

export function instrumentProvider(provider: Provider, metrics: Metrics, clock: Clock): Provider {
  const time = async <T>(operation: ProviderOperation, call: () => Promise<T>): Promise<T> => {
    const started = clock.now();
    let result: ProviderResult = 'success';
    try {
      return await call();
    } catch (err) {
      result = err instanceof NoSecretError ? 'not_found' : err instanceof AccessDeniedError ? 'denied' : err instanceof ThrottledError ? 'throttled' : 'error';
      if (result === 'throttled') metrics.providerThrottled(provider.name);
      throw err;
    } finally {
      metrics.providerRequest(provider.name, operation, result, (clock.now() - started) / 1000);
    }
  };
  return {
    name: provider.name,
    validateStore: (spec) => provider.validateStore(spec),
    ...(provider.clientPartition ? { clientPartition: provider.clientPartition.bind(provider) } : {}),
    ...(provider.changeFeed ? { changeFeed: provider.changeFeed } : {}),
    async newClient(spec, ctx) {
      const client = await time('auth', () => provider.newClient(spec, ctx));
      return wrapClient(client, { around: time });
    },
  };
}
