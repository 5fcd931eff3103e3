// What the two AWS services have in common behind the SecretsClient: reads with the prefix applied,
// and the `find.name` matcher.
import type { FindRef, RemoteRef } from '../provider.ts';
import { compileFindName } from '../kit/find.ts';

export { compileFindName };

/** One service's reads (Secrets Manager or Parameter Store); errors already mapped. */
export interface AwsReader {
  getSecret(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array>;
  getAllSecrets(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>>;
  close(): void;
}

/** The name as the user knows it: without the store's prefix. */
export function stripPrefix(name: string, prefix: string): string {
  return prefix !== '' && name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
