// Reads from one vault as ESO addresses them: secret/NAME (or NAME), cert/NAME (the certificate as PEM), key/NAME
// (the public key as JWK JSON), each with an optional version; metadataPolicy Fetch gives the tags as JSON; find
// walks the paged secret listing (name.regexp, tags) and reads each match. property and decoding are the
// controller's. Attributes are checked here: the service returns expired and not-yet-valid secrets, we do not.
import type { KeyVaultCertificate, CertificateClient } from '@azure/keyvault-certificates';
import type { KeyClient, KeyVaultKey } from '@azure/keyvault-keys';
import type { SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import type { Clock } from '../../util/clock.ts';
import { NoSecretError, TerminalError } from '../provider.ts';
import type { FindRef, RemoteRef } from '../provider.ts';
import { azureCall } from './errors.ts';
import { parseObjectKey } from './plan.ts';
import { compileFindName } from '../kit/find.ts';

/** Every call gets this deadline on top of the caller's signal: a silent vault must not hold a reconcile. */
export const CALL_TIMEOUT_MS = 30_000;

/** The secret a store validation asks for: a valid name (letters, digits, dashes) nobody is expected to use. */
export const PROBE_SECRET_NAME = 'secret-relay-store-validation-probe';

/** A Key Vault 403 from its RBAC (innererror ForbiddenByRbac), anywhere in the mapped error's causes. Pure. */
export function isRbacRefusal(error: unknown): boolean {
  let link = error as { statusCode?: unknown; details?: { error?: { innererror?: { code?: unknown } } }; cause?: unknown } | undefined;
  for (let depth = 0; link && depth < 5; depth++, link = link.cause as typeof link) {
    if (link.statusCode === 403 && link.details?.error?.innererror?.code === 'ForbiddenByRbac') return true;
  }
  return false;
}

export interface VaultClients {
  readonly vaultUrl: string;
  readonly secrets: SecretClient;
  readonly certificates: CertificateClient;
  readonly keys: KeyClient;
  readonly identity: () => string;
  readonly clock: Clock;
}

interface Attributes {
  readonly enabled?: boolean | undefined;
  readonly notBefore?: Date | undefined;
  readonly expiresOn?: Date | undefined;
}

const encoder = new TextEncoder();

/** Refuses what a user should not get silently: disabled, not yet valid, expired. Pure. */
export function checkAttributes(attributes: Attributes, what: string, now: number): void {
  if (attributes.enabled === false) throw new TerminalError(`${what} is disabled; enable it in the vault or read another version`);
  if (attributes.notBefore !== undefined && attributes.notBefore.getTime() > now) {
    // Not terminal: it becomes valid by itself.
    throw new Error(`${what} is not valid before ${attributes.notBefore.toISOString()} (its nbf); it will be read once it is`);
  }
  if (attributes.expiresOn !== undefined && attributes.expiresOn.getTime() <= now) {
    throw new TerminalError(`${what} expired on ${attributes.expiresOn.toISOString()} (its exp); set a new version or extend its expiry`);
  }
}

/** PEM of DER certificate bytes. Pure. */
export function derToPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${base64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** The public JWK of a key (what ESO returns), base64url fields as JSON Web Key says. Pure. */
export function publicJwk(key: KeyVaultKey): Record<string, unknown> {
  const jwk = key.key ?? {};
  const b64 = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('base64url'));
  const out: Record<string, unknown> = { kid: jwk.kid, kty: jwk.kty, key_ops: jwk.keyOps, n: b64(jwk.n), e: b64(jwk.e), crv: jwk.crv, x: b64(jwk.x), y: b64(jwk.y) };
  return Object.fromEntries(Object.entries(out).filter(([, value]) => value !== undefined));
}

function tagsJson(tags: Readonly<Record<string, string>> | undefined): Uint8Array {
  return encoder.encode(JSON.stringify(tags ?? {}));
}

export interface VaultReader {
  getSecret(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array>;
  getAllSecrets(find: FindRef, signal: AbortSignal): Promise<Record<string, Uint8Array>>;
  /**
   * Store validation without the `list` permission a least-privilege identity lacks: one GET of a secret that does not
   * exist (PROBE_SECRET_NAME). 404 (or, should it exist, 200): Entra ID issued the token, the vault accepted it and
   * lets the identity read secrets — 'Ready'. 403 ForbiddenByRbac: the token was accepted, but the identity has no
   * vault-wide role; RBAC is checked before existence, so per-secret role assignments answer exactly so and only the
   * reads can tell — 'Unknown'. Any other refusal (401, an access policy without get) throws AccessDeniedError.
   */
  probe(signal: AbortSignal): Promise<'Ready' | 'Unknown'>;
}

export function createVaultReader(clients: VaultClients): VaultReader {
  const { vaultUrl } = clients;
  // identity is read when a message is written: it is refined once the credential has resolved the ids.
  const call = (action: string, subject?: string) => ({
    action,
    vaultUrl,
    subject,
    get identity() {
      return clients.identity();
    },
  });
  /**
   * One Key Vault call with CALL_TIMEOUT_MS on top of the caller's signal. The SDK reports that deadline as a bare
   * AbortError ("The operation was aborted"), which says nothing to a user: it becomes an error naming the call.
   */
  const callVault = async <T>(context: ReturnType<typeof call>, signal: AbortSignal, run: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    const deadline = AbortSignal.timeout(CALL_TIMEOUT_MS);
    return azureCall(context, () =>
      run(AbortSignal.any([signal, deadline])).catch((error: unknown) => {
        if (!deadline.aborted || signal.aborted) throw error;
        throw new Error(`no answer within ${CALL_TIMEOUT_MS / 1000} s; it will be retried with backoff`, { cause: error });
      }),
    );
  };
  const versionOf = (ref: RemoteRef) => (ref.version !== undefined && ref.version !== '' ? ref.version : undefined);

  async function readSecretValue(name: string, version: string | undefined, signal: AbortSignal): Promise<{ value: string; properties: SecretProperties }> {
    const subject = `secret ${name}${version ? ` version ${version}` : ''}`;
    const secret = await callVault(call('get', subject), signal, (abortSignal) =>
      clients.secrets.getSecret(name, { ...(version ? { version } : {}), abortSignal }),
    );
    return { value: secret.value ?? '', properties: secret.properties };
  }

  return {
    async getSecret(ref, signal) {
      const parsed = parseObjectKey(ref.key);
      if ('error' in parsed) throw new TerminalError(parsed.error);
      const version = versionOf(ref);
      const now = clients.clock.now();
      const subject = `${parsed.type === 'cert' ? 'certificate' : parsed.type} ${parsed.name}${version ? ` version ${version}` : ''}`;
      const what = `Key Vault ${subject} in vault ${vaultUrl}`;
      if (parsed.type === 'secret') {
        const { value, properties } = await readSecretValue(parsed.name, version, signal);
        if (ref.metadataPolicy === 'Fetch') return tagsJson(properties.tags);
        checkAttributes(properties, what, now);
        return encoder.encode(value);
      }
      if (parsed.type === 'cert') {
        const cert: KeyVaultCertificate = await callVault(call('get', subject), signal, (abortSignal) =>
          version
            ? clients.certificates.getCertificateVersion(parsed.name, version, { abortSignal })
            : clients.certificates.getCertificate(parsed.name, { abortSignal }),
        );
        if (ref.metadataPolicy === 'Fetch') return tagsJson(cert.properties.tags);
        checkAttributes(cert.properties, what, now);
        if (!cert.cer || cert.cer.length === 0) throw new NoSecretError(`${what} has no certificate yet (its issuance is pending)`);
        return encoder.encode(derToPem(cert.cer));
      }
      const key = await callVault(call('get', subject), signal, (abortSignal) =>
        clients.keys.getKey(parsed.name, { ...(version ? { version } : {}), abortSignal }),
      );
      if (ref.metadataPolicy === 'Fetch') return tagsJson(key.properties.tags);
      checkAttributes(key.properties, what, now);
      return encoder.encode(JSON.stringify(publicJwk(key)));
    },

    async getAllSecrets(find, signal) {
      const matchesName = compileFindName(find);
      const tags = Object.entries(find.tags ?? {});
      const now = clients.clock.now();
      const names: string[] = [];
      await callVault(call('list', 'secrets'), signal, async (abortSignal) => {
        for await (const page of clients.secrets.listPropertiesOfSecrets({ abortSignal }).byPage()) {
          for (const item of page) {
            // As ESO: disabled secrets are not found; nor (here) secrets outside their nbf/exp window, nor the
            // secrets behind certificates (read those with cert/NAME).
            if (item.enabled === false || item.managed === true) continue;
            if (item.notBefore !== undefined && item.notBefore.getTime() > now) continue;
            if (item.expiresOn !== undefined && item.expiresOn.getTime() <= now) continue;
            if (find.path !== undefined && !item.name.startsWith(find.path)) continue;
            if (!tags.every(([key, value]) => item.tags?.[key] === value)) continue;
            if (!matchesName(item.name)) continue;
            names.push(item.name);
          }
        }
      });
      const result: Record<string, Uint8Array> = {};
      for (const name of names) {
        try {
          result[name] = encoder.encode((await readSecretValue(name, undefined, signal)).value);
        } catch (error) {
          // Deleted between the listing and the read: not found, as if it had not been listed.
          if (!(error instanceof NoSecretError)) throw error;
        }
      }
      return result;
    },

    async probe(signal) {
      try {
        await readSecretValue(PROBE_SECRET_NAME, undefined, signal);
        return 'Ready';
      } catch (error) {
        if (error instanceof NoSecretError) return 'Ready';
        if (isRbacRefusal(error)) return 'Unknown';
        throw error;
      }
    },
  };
}
