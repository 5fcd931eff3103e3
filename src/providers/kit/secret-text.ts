// Credentials kept in Secrets (static keys, key files, passwords) are text: read one key, decode it as UTF-8
// (refusing bytes that are not), trim the newline an editor or `kubectl create secret --from-file` leaves.
import { TerminalError } from '../../util/errors.ts';
import type { StoreKubeAccess } from '../provider.ts';
import type { ResolvedSecretKey } from './refs.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of one Secret key; a TerminalError naming the Secret and key when it is not UTF-8. `what` says what it should hold. */
export async function readSecretText(
  kube: Pick<StoreKubeAccess, 'readSecretKey'>,
  ref: ResolvedSecretKey,
  signal: AbortSignal,
  what = 'the credential',
): Promise<string> {
  const bytes = await kube.readSecretKey(ref, signal);
  try {
    return utf8.decode(bytes).trim();
  } catch {
    throw new TerminalError(`key ${ref.key} of Secret ${ref.namespace}/${ref.name} is not UTF-8 text; store ${what} as plain text`);
  }
}
