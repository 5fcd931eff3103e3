// The fake provider's store spec and its test hooks, apart from provider.ts and client.ts so neither imports the other.
import type { FindRef, RemoteRef, StoreContext } from '../provider.ts';

/** `spec.provider.fake` and one entry of its data: the types generated from the CRD's schema (src/api/secret-store.ts). */
export type { FakeProvider as FakeProviderSpec, FakeProviderData as FakeDataEntry } from '../../api/types.generated.ts';

export type FakeOperation = 'newClient' | 'getSecret' | 'getAllSecrets' | 'validate' | 'close';

/** Test hooks for our own tests; production wiring passes none. */
export interface FakeProviderHooks {
  /**
   * Called at the start of every operation, before any data is read. Throw (or reject) to make the
   * operation fail with that error; return a pending promise to hold it (e.g. to prove calls are shared).
   * `signal` is the operation's signal (undefined for newClient and close).
   */
  onCall?(
    op: FakeOperation,
    ref: RemoteRef | FindRef | undefined,
    call: { signal: AbortSignal | undefined; ctx: StoreContext },
  ): void | Promise<void>;
}
