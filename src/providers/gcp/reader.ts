// Reading Secret Manager: AccessSecretVersion by number or `latest` (LatestOrFetch falls back to the newest enabled
// version), GetSecret for metadataPolicy Fetch, ListSecrets with a server-side label filter (pages followed) for find.
// getSecret returns the whole payload: property and decoding are applied by the controller, so readers of different
// properties of one secret share one call. Every RPC carries the store's access token, a deadline and a bounded retry.
import type { FindRef, RemoteRef } from '../provider.ts';
import { TerminalError } from '../provider.ts';
import type { GcpCredentials } from './credentials.ts';
import { gcpCall, GrpcCode, grpcCode, isDisabledOrDestroyed } from './errors.ts';
import { labelsFilter, secretIdOf, secretName, versionName } from './plan.ts';
import type { SecretManagerServiceClient } from './sdk.ts';
import { compileFindName } from '../kit/find.ts';

export const GcpLimits = {
  /** Secrets a find may return before it stops with an error (narrow it with tags or a path). */
  findResults: 1_000,
  /** ListSecrets page size (Google's maximum is 25,000; 250 keeps one answer small). */
  pageSize: 250,
  /** Concurrent AccessSecretVersion calls of one find. */
  findConcurrency: 8,
} as const;

/**
 * Per RPC: 5 s per attempt; UNAVAILABLE and DEADLINE_EXCEEDED retried 3 times with exponential backoff from 200 ms
 * (at most ~22 s in all — the library's default allows 600 s, which would hold a reconcile worker for minutes).
 * RESOURCE_EXHAUSTED is not retried here: Secret Manager quotas are per minute, so quick retries only burn more of
 * it; it becomes a ThrottledError and the controller backs off.
 */
export const CALL_RETRY = {
  retryCodes: [GrpcCode.UNAVAILABLE, GrpcCode.DEADLINE_EXCEEDED],
  backoffSettings: {
    initialRetryDelayMillis: 200,
    retryDelayMultiplier: 2,
    maxRetryDelayMillis: 2_000,
    initialRpcTimeoutMillis: 5_000,
    rpcTimeoutMultiplier: 1,
    maxRpcTimeoutMillis: 5_000,
    maxRetries: 3,
  },
} as const;

export interface GcpReaderSettings {
  readonly client: SecretManagerServiceClient;
  readonly credentials: GcpCredentials;
  /** projects/P[/locations/L]. */
  readonly parent: string;
  readonly latestOrFetch: boolean;
}

export interface GcpReader {
  getSecret(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array>;
  getAllSecrets(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>>;
}

/** One RPC with the current token; an UNAUTHENTICATED answer drops the token so the next call exchanges anew. */
export function authorizedCall(credentials: GcpCredentials) {
  return async <T>(method: string, resource: string, signal: AbortSignal, run: (options: object) => Promise<T>): Promise<T> =>
    gcpCall({ method, resource, get identity() { return credentials.identity; } }, async () => {
      const token = await credentials.token(signal);
      signal.throwIfAborted();
      try {
        return await run({ otherArgs: { headers: { authorization: `Bearer ${token}` } }, retry: CALL_RETRY });
      } catch (error) {
        if (grpcCode(error) === GrpcCode.UNAUTHENTICATED) credentials.invalidate();
        throw error;
      }
    });
}

const encoder = new TextEncoder();

export function createGcpReader(settings: GcpReaderSettings): GcpReader {
  const { client, credentials, parent } = settings;

  const call = authorizedCall(credentials);

  const access = async (name: string, signal: AbortSignal): Promise<Uint8Array> => {
    const [response] = await call('AccessSecretVersion', name, signal, (options) => client.accessSecretVersion({ name }, options));
    const data = response.payload?.data;
    if (data === undefined || data === null) throw new TerminalError(`Google Secret Manager returned no payload for ${name}`);
    return typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data);
  };

  /** The newest ENABLED version of a secret, by creation time; undefined when it has none. */
  const newestEnabled = async (secret: string, signal: AbortSignal): Promise<string | undefined> => {
    let newest: { name: string; created: number } | undefined;
    let pageToken: string | undefined;
    do {
      const [versions, , response] = await call('ListSecretVersions', secret, signal, (options) =>
        client.listSecretVersions({ parent: secret, filter: 'state:ENABLED', pageSize: GcpLimits.pageSize, ...(pageToken ? { pageToken } : {}) }, { ...options, autoPaginate: false }),
      );
      for (const version of versions) {
        const seconds = Number(version.createTime?.seconds ?? 0);
        const created = seconds * 1000 + Math.floor((version.createTime?.nanos ?? 0) / 1e6);
        if (version.name && version.state === 'ENABLED' && (!newest || created > newest.created)) newest = { name: version.name, created };
      }
      pageToken = response?.nextPageToken || undefined;
    } while (pageToken);
    return newest?.name;
  };

  const getSecret = async (ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array> => {
    if (ref.metadataPolicy === 'Fetch') {
      const name = secretName(parent, ref.key);
      const [secret] = await call('GetSecret', name, signal, (options) => client.getSecret({ name }, options));
      // ESO's shape, so remoteRef.property "labels.team" or "annotations" reads the same.
      return encoder.encode(JSON.stringify({ annotations: secret.annotations ?? {}, labels: secret.labels ?? {} }));
    }
    const name = versionName(parent, ref.key, ref.version);
    try {
      return await access(name, signal);
    } catch (error) {
      const fallback = settings.latestOrFetch && ref.version === undefined && name.endsWith('/versions/latest') && isDisabledOrDestroyed(error instanceof Error && error.cause !== undefined ? error.cause : error);
      if (!fallback) throw error;
      const enabled = await newestEnabled(secretName(parent, ref.key), signal);
      if (enabled === undefined) throw error;
      return access(enabled, signal);
    }
  };

  return {
    getSecret,
    async getAllSecrets(find, signal) {
      const matchesName = compileFindName(find);
      const filter = labelsFilter(find.tags);
      const names: string[] = [];
      let pageToken: string | undefined;
      do {
        const [secrets, , response] = await call('ListSecrets', parent, signal, (options) =>
          client.listSecrets({ parent, pageSize: GcpLimits.pageSize, ...(filter ? { filter } : {}), ...(pageToken ? { pageToken } : {}) }, { ...options, autoPaginate: false }),
        );
        for (const secret of secrets) {
          const id = secretIdOf(secret.name ?? '');
          if (id === '' || !matchesName(id) || (find.path !== undefined && !id.startsWith(find.path))) continue;
          names.push(id);
          if (names.length > GcpLimits.findResults) {
            throw new TerminalError(`dataFrom.find in ${parent} matches more than ${GcpLimits.findResults} secrets; narrow it with tags, name.regexp or path`);
          }
        }
        pageToken = response?.nextPageToken || undefined;
      } while (pageToken);
      const found: Record<string, Uint8Array> = {};
      for (let i = 0; i < names.length; i += GcpLimits.findConcurrency) {
        const batch = names.slice(i, i + GcpLimits.findConcurrency);
        const values = await Promise.all(batch.map((id) => getSecret({ key: id }, signal)));
        batch.forEach((id, index) => (found[id] = values[index]!));
      }
      return found;
    },
  };
}
