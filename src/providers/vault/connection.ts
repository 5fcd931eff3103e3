// One authenticated connection to the Vault (or OpenBao) server a vault spec names — TLS material, auth plan,
// token session — and the spec's validation: shared by the store's client (provider.ts) and the
// VaultDynamicSecret generator (dynamic.ts), so neither imports the other.
import { VaultProviderSchema } from '../../api/secret-store.ts';
import type { VaultProvider } from '../../api/types.generated.ts';
import type { Clock } from '../../util/clock.ts';
import { TerminalError } from '../provider.ts';
import type { StoreContext } from '../provider.ts';
import { createVaultApi } from './api.ts';
import { createTokenSession, planVaultAuth, type TokenSessionLogger } from './auth.ts';
import { createVaultSession, type VaultSession } from './session.ts';
import { createHttpTransport, type VaultTransport } from './transport.ts';

export type { VaultProvider as VaultProviderSpec } from '../../api/types.generated.ts';

export interface VaultProviderOptions {
  /** Overrides ctx.clock (tests). */
  readonly clock?: Clock | undefined;
  /** Per-request timeout; default 30 s. */
  readonly requestTimeoutMs?: number | undefined;
  /** Reads the operator's own ServiceAccount token (kubernetes auth without a ref); default: the projected token file. */
  readonly readOwnToken?: (() => Promise<string>) | undefined;
  readonly logger?: TokenSessionLogger | undefined;
  /** Replaces HTTP (unit tests). */
  readonly transport?: VaultTransport | undefined;
}

/** Problems in a vault store spec (pure). The spec comes from the cluster, so its shape is checked with the CRD's schema. */
export function validateVaultSpec(spec: unknown): { warnings: string[]; errors: string[] } {
  const parsed = VaultProviderSchema.safeParse(spec);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => {
      const at = ['spec', 'provider', 'vault', ...issue.path.map(String)].join('.');
      return issue.message.startsWith('spec.') ? issue.message : `${at}: ${issue.message}`;
    });
    return { warnings: [], errors };
  }
  const warnings: string[] = [];
  const value = parsed.data;
  if (value.server.startsWith('http://') && (value.caBundle !== undefined || value.caProvider !== undefined || value.tls !== undefined)) {
    warnings.push('spec.provider.vault.server is http://: caBundle, caProvider and tls are not used; use https://');
  }
  if (value.server.startsWith('http://') && !/^http:\/\/(127\.|localhost[:/]|\[::1\])/.test(value.server)) {
    warnings.push('spec.provider.vault.server is http://: tokens and secrets cross the network unencrypted; use https://');
  }
  if (value.caBundle !== undefined && !Buffer.from(value.caBundle, 'base64').toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
    return { warnings, errors: ['spec.provider.vault.caBundle must be base64 of PEM certificate(s) (-----BEGIN CERTIFICATE-----)'] };
  }
  return { warnings, errors: [] };
}

export function parseVaultSpec(spec: unknown): VaultProvider {
  const { errors } = validateVaultSpec(spec);
  if (errors.length > 0) throw new TerminalError(`the vault store's spec is invalid: ${errors.join('; ')}`);
  return VaultProviderSchema.parse(spec) as VaultProvider;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The store's CA (caBundle and/or caProvider) and client certificate, read through the store's kube access. */
async function tlsMaterial(spec: VaultProvider, ctx: StoreContext, signal: AbortSignal) {
  if (!spec.server.startsWith('https://')) return {};
  const cas: string[] = [];
  if (spec.caBundle) cas.push(Buffer.from(spec.caBundle, 'base64').toString('utf8'));
  const namespaceOf = (explicit: string | undefined) => explicit ?? ctx.storeNamespace ?? ctx.namespace;
  if (spec.caProvider) {
    const ref = { namespace: namespaceOf(spec.caProvider.namespace), name: spec.caProvider.name, key: spec.caProvider.key };
    if (spec.caProvider.type === 'Secret') {
      cas.push(text(await ctx.kube.readSecretKey(ref, signal)));
    } else {
      const read = (ctx.kube as { readConfigMapKey?: (r: typeof ref, s: AbortSignal) => Promise<string> }).readConfigMapKey;
      if (!read) throw new TerminalError('spec.provider.vault.caProvider type ConfigMap is not supported by this operator version; keep the CA in a Secret (type Secret) or in caBundle');
      cas.push(await read(ref, signal));
    }
  }
  const tls = spec.tls
    ? {
        clientCertPem: text(await ctx.kube.readSecretKey({ ...spec.tls.certSecretRef, namespace: namespaceOf(spec.tls.certSecretRef.namespace) }, signal)),
        clientKeyPem: text(await ctx.kube.readSecretKey({ ...spec.tls.keySecretRef, namespace: namespaceOf(spec.tls.keySecretRef.namespace) }, signal)),
      }
    : {};
  return { ...(cas.length > 0 ? { caPem: cas.join('\n') } : {}), ...tls };
}

/** Does caProvider/tls depend on the ExternalSecret's namespace (ClusterSecretStore, namespace omitted)? */
export function tlsReferent(spec: VaultProvider, storeKind: StoreContext['storeKind']): boolean {
  if (storeKind !== 'ClusterSecretStore') return false;
  return (
    (spec.caProvider !== undefined && spec.caProvider.namespace === undefined) ||
    (spec.tls !== undefined && (spec.tls.certSecretRef.namespace === undefined || spec.tls.keySecretRef.namespace === undefined))
  );
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
  const tokens = createTokenSession(planned.plan, { api, ctx, clock, readOwnToken: options.readOwnToken, logger: options.logger });
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

