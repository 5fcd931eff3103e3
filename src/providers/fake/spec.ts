// The fake provider's store spec and its test hooks, apart from provider.ts and client.ts so neither imports the other.
import type { FindRef, RemoteRef, StoreContext } from '../provider.ts';

/** One entry of `spec.provider.fake.data`. */
export interface FakeDataEntry {
  readonly key: string;
  readonly value: string;
  readonly version?: string | undefined;
  /** Matched by `dataFrom[].find.tags`. */
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

/** `spec.provider.fake` (as ESO's fake provider). */
export interface FakeProviderSpec {
  readonly data: readonly FakeDataEntry[];
  /** What validate answers, as ESO's fake: 0 Ready (default), 1 Unknown, 2 Error. */
  readonly validationResult?: number | undefined;
}

export type FakeOperation = 'newClient' | 'getSecret' | 'getSecretMap' | 'getAllSecrets' | 'validate' | 'close';

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
