// What the two AWS services have in common behind the SecretsClient: reads with the prefix applied,
// and the `find.name` matcher.
import { TerminalError } from '../provider.ts';
import { compileGoRegexp, type GoRegexp } from '../../util/go-regexp.ts';
import type { FindRef, RemoteRef } from '../provider.ts';

/** One service's reads (Secrets Manager or Parameter Store); errors already mapped. */
export interface AwsReader {
  getSecret(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array>;
  getAllSecrets(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>>;
  close(): void;
}

/** `find.name.regexp` as a predicate on names (unanchored, as ESO); everything when absent. */
export function compileFindName(find: FindRef): (name: string) => boolean {
  if (find.name === undefined) return () => true;
  let pattern: GoRegexp;
  try {
    pattern = compileGoRegexp(find.name.regexp); // Go's syntax, as ESO
  } catch (err) {
    throw new TerminalError(`dataFrom.find.name.regexp "${find.name.regexp}" is not a valid Go regular expression (${(err as Error).message}); fix the pattern`);
  }
  return (name) => pattern.test(name);
}

/** The name as the user knows it: without the store's prefix. */
export function stripPrefix(name: string, prefix: string): string {
  return prefix !== '' && name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
