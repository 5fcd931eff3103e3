// Reads from AWS Certificate Manager as ESO's CertificateManager service does (providers/v1/aws/certificatemanager):
// remoteRef.key is the certificate's ARN (the store's prefix does not apply, as in ESO); the value is one PEM text —
// the certificate, its chain and its private key, decrypted — from ExportCertificate under a random passphrase.
// Exports of public certificates are billed, so an export is kept per ARN and reused while GetCertificate shows the
// same certificate and chain (ESO's fingerprint cache); the cache lives with the store's client, not the process.
import { createHash, createPrivateKey, randomInt } from 'node:crypto';
import { ACMClient, DescribeCertificateCommand, ExportCertificateCommand, GetCertificateCommand } from '@aws-sdk/client-acm';
import { TerminalError } from '../provider.ts';
import type { FindRef, RemoteRef } from '../provider.ts';
import { awsCall } from './errors.ts';
import type { AwsReader } from './reader.ts';

const PASSPHRASE_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** ESO's passphrase: 32 alphanumeric characters (ExportCertificate refuses #, $ and %). */
const PASSPHRASE_LENGTH = 32;
/** Exports kept per store client: one per certificate an ExternalSecret of this store names. */
const MAX_CACHED_EXPORTS = 256;

function passphrase(): string {
  let out = '';
  for (let i = 0; i < PASSPHRASE_LENGTH; i++) out += PASSPHRASE_CHARS[randomInt(PASSPHRASE_CHARS.length)]!;
  return out;
}

const trimNewlines = (text: string) => text.replace(/[\r\n]+$/, '');

/** ESO's computeCertFingerprint: SHA-256 of the certificate and chain PEM, trailing line ends stripped. */
export function certificateFingerprint(certificate: string, chain: string): string {
  const hash = createHash('sha256').update(trimNewlines(certificate));
  if (trimNewlines(chain) !== '') hash.update(trimNewlines(chain));
  return hash.digest('hex');
}

/** The exported key decrypted into an unencrypted PKCS#8 PEM ("PRIVATE KEY"), as ESO's decryptPKCS8PEM. */
function decryptKey(pem: string, secret: string, arn: string): string {
  if (/^-----BEGIN PRIVATE KEY-----/m.test(pem)) return pem;
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase: secret }).export({ type: 'pkcs8', format: 'pem' }) as string;
  } catch {
    throw new Error(`AWS acm:ExportCertificate on "${arn}": the exported private key could not be decrypted with the export's passphrase`);
  }
}

export function createCertificateManagerReader(options: { client: ACMClient; identity: () => string }): AwsReader {
  const { client } = options;
  const call = (action: string, subject: string) => ({ action: `acm:${action}`, subject, identity: options.identity() });
  const exports = new Map<string, { fingerprint: string; pem: Uint8Array }>();

  async function read(ref: RemoteRef, signal: AbortSignal): Promise<Uint8Array> {
    const arn = ref.key;
    const current = await awsCall(call('GetCertificate', arn), () => client.send(new GetCertificateCommand({ CertificateArn: arn }), { abortSignal: signal }));
    const fingerprint = certificateFingerprint(current.Certificate ?? '', current.CertificateChain ?? '');
    const cached = exports.get(arn);
    if (cached !== undefined && cached.fingerprint === fingerprint) return cached.pem;

    const described = await awsCall(call('DescribeCertificate', arn), () =>
      client.send(new DescribeCertificateCommand({ CertificateArn: arn }), { abortSignal: signal }),
    );
    if (described.Certificate?.Options?.Export !== 'ENABLED') {
      // Not terminal: enabling export in AWS heals it at the next retry.
      throw new Error(`AWS Certificate Manager certificate "${arn}" is not exportable (Options.Export is not ENABLED): request it with export enabled`);
    }
    const secret = passphrase();
    const exported = await awsCall(call('ExportCertificate', arn), () =>
      client.send(new ExportCertificateCommand({ CertificateArn: arn, Passphrase: new TextEncoder().encode(secret) }), { abortSignal: signal }),
    );
    const parts: string[] = [];
    if (exported.Certificate !== undefined) parts.push(trimNewlines(exported.Certificate));
    if (exported.CertificateChain !== undefined) parts.push(trimNewlines(exported.CertificateChain));
    if (exported.PrivateKey !== undefined) parts.push(trimNewlines(decryptKey(exported.PrivateKey, secret, arn)));
    if (parts.length === 0) throw new Error(`AWS acm:ExportCertificate on "${arn}" returned no data`);
    const pem = new TextEncoder().encode(`${parts.join('\n')}\n`);
    if (!exports.has(arn) && exports.size >= MAX_CACHED_EXPORTS) exports.delete(exports.keys().next().value!);
    exports.set(arn, { fingerprint, pem });
    return pem;
  }

  return {
    getSecret: read,
    getAllSecrets(_find: FindRef): Promise<Record<string, Uint8Array>> {
      return Promise.reject(new TerminalError('AWS Certificate Manager stores read one certificate by ARN (spec.data); dataFrom find is not supported, as in ESO'));
    },
    close() {
      exports.clear();
      client.destroy();
    },
  };
}
