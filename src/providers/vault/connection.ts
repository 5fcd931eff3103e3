// One authenticated connection to the Vault (or OpenBao) server a vault spec names — TLS material, auth plan,
// token session — and the spec's validation: shared by the store's client (provider.ts) and the
// VaultDynamicSecret generator (dynamic.ts), so neither imports the other.
import { VaultProviderSchema } from '../../api/secret-store.ts';
import type { VaultProvider } from '../../api/types.generated.ts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Clock } from '../../util/clock.ts';
import { checkProviderSpec, describeStore, readSecretText, RefResolver, specOrThrow, type CheckedSpec, type StoreWhere } from '../kit/index.ts';
import type { StoreContext } from '../provider.ts';
import { createVaultApi } from './api.ts';
import { createTokenSession, describeLogin, planVaultAuth, type TokenSessionLogger } from './auth.ts';
import { gcpAuthProblem } from './auth-gcp.ts';
import { createVaultSession, type VaultSession } from './session.ts';
import { createHttpTransport, type VaultTransport } from './transport.ts';

export type { VaultProvider as VaultProviderSpec } from '../../api/types.generated.ts';

export interface VaultProviderOptions {
  /** Overrides ctx.clock (tests). */
  readonly clock?: Clock | undefined;
  /** Per-request timeout; default 30 s. */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * The operator's own ServiceAccount, for kubernetes auth without serviceAccountRef or secretRef where the operator's
   * tenancy policy lets a store act as the operator: a TokenRequest token for it, audience `vault`, is sent — never the
   * token mounted in the pod, whose audience is the apiserver's.
   */
  readonly operatorServiceAccount?: { readonly namespace: string; readonly name: string } | undefined;
  readonly logger?: TokenSessionLogger | undefined;
  /** The operator's own AWS credentials for auth.iam without jwt or secretRef (tests). Default: the SDK's node provider chain. */
  readonly operatorAwsCredentials?: (() => Promise<AwsCredentialIdentity>) | undefined;
  /** Replaces HTTP (unit tests). */
  readonly transport?: VaultTransport | undefined;
}

/** The spec checked with the CRD's schema (it comes from the cluster) and the rules the schema cannot say. Pure. */
function checkVaultSpec(spec: unknown): CheckedSpec<VaultProvider> {
  return checkProviderSpec<VaultProvider>('vault', VaultProviderSchema, spec, (value) => {
    const warnings: string[] = [];
    const errors: string[] = [];
    if (value.server.startsWith('http://') && (value.caBundle !== undefined || value.caProvider !== undefined || value.tls !== undefined)) {
      warnings.push('spec.provider.vault.server is http://: caBundle, caProvider and tls are not used; use https://');
    }
    // Plain http to a host other than loopback is the kit's tenancy rule InsecureEndpoint (vaultTenancy declares the server).
    const cert = value.auth.cert;
    if (cert !== undefined) {
      if (!value.server.startsWith('https://')) errors.push('spec.provider.vault.auth.cert needs an https:// server: the certificate is presented in the TLS handshake');
      if (cert.clientCert === undefined && value.tls === undefined) {
        errors.push('spec.provider.vault.auth.cert needs a client certificate: set clientCert and secretRef, or spec.provider.vault.tls');
      }
    }
    const gcpProblem = value.auth.gcp ? gcpAuthProblem(value.auth.gcp) : undefined;
    if (gcpProblem) errors.push(gcpProblem);
    if (value.caBundle !== undefined && !Buffer.from(value.caBundle, 'base64').toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
      errors.push('spec.provider.vault.caBundle must be base64 of PEM certificate(s) (-----BEGIN CERTIFICATE-----)');
    }
    return { warnings, errors };
  });
}

/** Problems in a vault store spec (pure). */
export function validateVaultSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const { warnings, errors } = checkVaultSpec(spec);
  return { warnings, errors };
}

/** The typed spec, or a TerminalError listing its problems. */
export function parseVaultSpec(spec: unknown): VaultProvider {
  return specOrThrow('vault', checkVaultSpec(spec));
}

/** The Secrets and ConfigMaps a store's TLS settings name, resolved; `referent` when one depends on the ExternalSecret's namespace. Pure. */
function tlsRefs(spec: VaultProvider, where: StoreWhere) {
  const refs = new RefResolver(where);
  const ca = spec.caProvider ? { type: spec.caProvider.type, ref: refs.secretKey(spec.caProvider) } : undefined;
  // auth.cert's own certificate, when it names one, is the one the connection presents (as ESO does).
  const certAuth = spec.auth.cert?.clientCert && spec.auth.cert.secretRef ? { cert: spec.auth.cert.clientCert, key: spec.auth.cert.secretRef } : undefined;
  const pair = certAuth ?? (spec.tls ? { cert: spec.tls.certSecretRef, key: spec.tls.keySecretRef } : undefined);
  const client = pair ? { cert: refs.secretKey(pair.cert), key: refs.secretKey(pair.key) } : undefined;
  return { ca, client, referent: refs.referent };
}

/** The store's CA (caBundle and/or caProvider) and client certificate, read through the store's kube access. */
async function tlsMaterial(spec: VaultProvider, ctx: StoreContext, signal: AbortSignal) {
  if (!spec.server.startsWith('https://')) return {};
  const { ca, client } = tlsRefs(spec, ctx);
  const cas: string[] = [];
  if (spec.caBundle) cas.push(Buffer.from(spec.caBundle, 'base64').toString('utf8'));
  if (ca) {
    cas.push(ca.type === 'Secret' ? await readSecretText(ctx.kube, ca.ref, signal, 'the CA certificate (PEM)') : await ctx.kube.readConfigMapKey(ca.ref, signal));
  }
  const tls = client
    ? {
        clientCertPem: await readSecretText(ctx.kube, client.cert, signal, 'the client certificate (PEM)'),
        clientKeyPem: await readSecretText(ctx.kube, client.key, signal, 'the client key (PEM)'),
      }
    : {};
  return { ...(cas.length > 0 ? { caPem: cas.join('\n') } : {}), ...tls };
}

/** Does caProvider/tls depend on the ExternalSecret's namespace (ClusterSecretStore, namespace omitted)? */
export function tlsReferent(spec: VaultProvider, storeKind: StoreContext['storeKind']): boolean {
  return tlsRefs(spec, { storeKind, storeNamespace: undefined, namespace: '' }).referent;
}

export interface VaultConnection {
  readonly session: VaultSession;
  readonly identity: string;
  readonly referent: boolean;
  close(signal: AbortSignal): Promise<void>;
}

/** An authenticated connection to the server a vault spec names: used by stores and by VaultDynamicSecret. */
export async function connectVault(spec: VaultProvider, ctx: StoreContext, options: VaultProviderOptions, signal: AbortSignal): Promise<VaultConnection> {
  const clock = options.clock ?? ctx.clock;
  const planned = planVaultAuth(spec.auth, ctx);
  let closeTransport = () => {};
  let transport = options.transport;
  if (!transport) {
    const http = createHttpTransport({ server: spec.server, namespace: spec.namespace, timeoutMs: options.requestTimeoutMs, ...(await tlsMaterial(spec, ctx, signal)) });
    transport = http.send;
    closeTransport = http.close;
  }
  const api = createVaultApi(transport);
  const tokens = createTokenSession(planned.plan, {
    api,
    ctx,
    clock,
    operatorServiceAccount: options.operatorServiceAccount,
    operatorAwsCredentials: options.operatorAwsCredentials,
    logger: options.logger,
    exchange: () => describeLogin(planned.plan, describeStore(ctx), spec.server),
  });
  return {
    session: createVaultSession(api, tokens),
    identity: planned.identity,
    referent: planned.referent || tlsReferent(spec, ctx.storeKind),
    async close(closeSignal) {
      try {
        await tokens.close(closeSignal);
      } finally {
        closeTransport();
      }
    },
  };
}

