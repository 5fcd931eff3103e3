// Tenant isolation, one rule for every provider. A namespaced SecretStore (and an inline VaultDynamicSecret) is
// written by a tenant we trust no further than their namespace, while the operator holds powerful identities: its
// own cloud credentials (instance profile, ADC, managed identity), its mounted token files, its ServiceAccount.
// Each provider only *declares* what a spec would make the operator do — act as the operator's own identity, send
// credentials to an endpoint the spec names, read a file of the operator's — and this module decides, from the
// operator's policy (flags), whether a store of that kind may. The checks are pure; the wrapper `guardProvider`
// applies them before any provider authenticates, so no provider can forget them.
import { TerminalError } from '../../util/errors.ts';
import { providerSchemas, type ProviderName } from '../../api/providers/index.ts';
import type { Provider, StoreContext, StoreKind, TenancyDeclaration } from '../provider.ts';

export type { DeclaredUrl, TenancyDeclaration } from '../provider.ts';

export const OPERATOR_IDENTITY_POLICIES = ['cluster-stores', 'none', 'all'] as const;
/**
 * Which stores may authenticate as the operator itself: only ClusterSecretStores (an admin's; the default), no store,
 * or every store (the incumbent's behaviour: any tenant reads whatever the operator's cloud identity can).
 */
export type OperatorIdentityPolicy = (typeof OPERATOR_IDENTITY_POLICIES)[number];

export interface TenancyPolicy {
  readonly operatorIdentity: OperatorIdentityPolicy;
  /**
   * Hosts a SecretStore may name as an endpoint override: an exact host name or address, or `*.suffix` for any host
   * under suffix. ClusterSecretStores may name any host.
   */
  readonly trustedEndpointHosts: readonly string[];
  /** Plain http to a host other than loopback (credentials in clear text on the network). */
  readonly allowInsecureHttp: boolean;
  /** Token files of the operator's pod a ClusterSecretStore may name (alibaba rrsa.oidcTokenFilePath). */
  readonly operatorTokenFiles: readonly string[];
}

/** The hardened default: the operator's identity for ClusterSecretStores only, no endpoint host trusted, https only. */
export const DEFAULT_TENANCY_POLICY: TenancyPolicy = { operatorIdentity: 'cluster-stores', trustedEndpointHosts: [], allowInsecureHttp: false, operatorTokenFiles: [] };

/** The rules, each a condition reason of the store (and the rule's name in messages and docs/security.md). */
export const TenancyRule = {
  OperatorIdentityNotAllowed: 'OperatorIdentityNotAllowed',
  EndpointNotAllowed: 'EndpointNotAllowed',
  InsecureEndpoint: 'InsecureEndpoint',
  OperatorFileNotAllowed: 'OperatorFileNotAllowed',
} as const;
export type TenancyRuleName = (typeof TenancyRule)[keyof typeof TenancyRule];

export interface TenancyViolation {
  readonly rule: TenancyRuleName;
  readonly message: string;
}

/** A store (or generator) refused by a tenancy rule; terminal until the spec or the operator's policy changes. */
export class TenancyError extends TerminalError {
  readonly rule: TenancyRuleName;
  constructor(violations: readonly TenancyViolation[]) {
    super(violations.map((v) => v.message).join('; '));
    this.rule = violations[0]!.rule;
  }
}

/** The operator's flag that lifts each rule, for messages. */
const FLAG = {
  operatorIdentity: '--operator-identity',
  trustedHosts: '--trusted-endpoint-hosts',
  insecure: '--allow-insecure-http',
  tokenFiles: '--operator-token-files',
} as const;

/** True for 127.0.0.0/8, ::1 and localhost: plain http there does not cross a network. Pure. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether `host` is on the allow-list (exact, or under a `*.suffix` entry). Case-insensitive. Pure. */
export function hostTrusted(hostname: string, trusted: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return trusted.some((entry) => {
    const e = entry.toLowerCase().replace(/^\[|\]$/g, '');
    return e.startsWith('*.') ? host.endsWith(e.slice(1)) && host.length > e.length - 1 : host === e;
  });
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    return undefined;
  }
}

/** Every rule the declaration breaks for a store of `storeKind` under `policy`. Pure. */
export function tenancyViolations(declaration: TenancyDeclaration, storeKind: StoreKind, policy: TenancyPolicy): TenancyViolation[] {
  const violations: TenancyViolation[] = [];
  const namespaced = storeKind !== 'ClusterSecretStore';
  const own = declaration.operatorIdentity;
  if (own && (policy.operatorIdentity === 'none' || (policy.operatorIdentity === 'cluster-stores' && namespaced))) {
    const who = policy.operatorIdentity === 'none' ? 'no store' : 'only ClusterSecretStores';
    violations.push({
      rule: TenancyRule.OperatorIdentityNotAllowed,
      message:
        `${TenancyRule.OperatorIdentityNotAllowed}: ${own.mode} would act as the operator's own identity, which ${who} may use ` +
        `(${FLAG.operatorIdentity}=${policy.operatorIdentity}); give the store an identity of its own (${own.instead})`,
    });
  }
  for (const endpoint of declaration.endpoints ?? []) {
    const url = parseUrl(endpoint.url);
    if (url === undefined) {
      violations.push({ rule: TenancyRule.EndpointNotAllowed, message: `${TenancyRule.EndpointNotAllowed}: ${endpoint.field} "${endpoint.url}" is not a URL` });
      continue;
    }
    if (namespaced && !hostTrusted(url.hostname, policy.trustedEndpointHosts)) {
      violations.push({
        rule: TenancyRule.EndpointNotAllowed,
        message:
          `${TenancyRule.EndpointNotAllowed}: ${endpoint.field} names host ${url.hostname}, which is not on the operator's ${FLAG.trustedHosts}; ` +
          `a SecretStore may override an endpoint only with a host the operator's admin trusts (or use a ClusterSecretStore)`,
      });
    }
  }
  for (const endpoint of [...(declaration.endpoints ?? []), ...(declaration.servers ?? [])]) {
    const url = parseUrl(endpoint.url);
    if (url?.protocol === 'http:' && !isLoopbackHost(url.hostname) && !policy.allowInsecureHttp) {
      violations.push({
        rule: TenancyRule.InsecureEndpoint,
        message:
          `${TenancyRule.InsecureEndpoint}: ${endpoint.field} uses plain http to ${url.hostname}, so tokens would cross the network in clear text; ` +
          `use https (plain http is accepted only for loopback addresses, unless the operator runs with ${FLAG.insecure})`,
      });
    }
  }
  for (const file of declaration.operatorFiles ?? []) {
    if (namespaced || !policy.operatorTokenFiles.includes(file.path)) {
      violations.push({
        rule: TenancyRule.OperatorFileNotAllowed,
        message: namespaced
          ? `${TenancyRule.OperatorFileNotAllowed}: ${file.field} names a file of the operator's pod, which only a ClusterSecretStore may do; use serviceAccountRef (a token for the store's own ServiceAccount)`
          : `${TenancyRule.OperatorFileNotAllowed}: ${file.field} "${file.path}" is not one of the operator's ${FLAG.tokenFiles}; add it there or use serviceAccountRef`,
      });
    }
  }
  return violations;
}

/**
 * What a raw store spec of provider `name` declares (its schema file's `tenancy`); an unparseable spec declares
 * nothing — the provider refuses it before authenticating anyway. Pure.
 */
export function declaredTenancy(name: ProviderName, rawSpec: unknown): TenancyDeclaration {
  const definition = providerSchemas[name];
  const parsed = definition.schema.safeParse(rawSpec);
  return parsed.success ? (definition.tenancy as (spec: unknown) => TenancyDeclaration)(parsed.data) : {};
}

/** Throws a TenancyError naming every rule the declaration breaks. */
export function assertTenancy(declaration: TenancyDeclaration, storeKind: StoreKind, policy: TenancyPolicy): void {
  const violations = tenancyViolations(declaration, storeKind, policy);
  if (violations.length > 0) throw new TenancyError(violations);
}

/**
 * The provider with the policy applied before it authenticates: `newClient` of a spec that breaks a rule throws a
 * TenancyError without calling the provider. Every provider handed to the controllers goes through this.
 */
export function guardProvider<Spec>(provider: Provider<Spec>, policy: TenancyPolicy): Provider<Spec> {
  return {
    ...provider,
    newClient(spec: Spec, ctx: StoreContext) {
      try {
        assertTenancy(declaredTenancy(provider.name, spec), ctx.storeKind, policy);
      } catch (err) {
        return Promise.reject(err);
      }
      return provider.newClient(spec, ctx);
    },
    // A feed subscribes with the store's identity to the queue or topic the spec names: the same rules first.
    ...(provider.changeFeed
      ? {
          changeFeed: {
            ...provider.changeFeed,
            run(spec: Spec, ctx: StoreContext, sink: Parameters<NonNullable<Provider<Spec>['changeFeed']>['run']>[2], signal: AbortSignal) {
              try {
                assertTenancy(declaredTenancy(provider.name, spec), ctx.storeKind, policy);
              } catch (err) {
                return Promise.reject(err);
              }
              return provider.changeFeed!.run(spec, ctx, sink, signal);
            },
          },
        }
      : {}),
  };
}

/**
 * Addresses a URL from tenant input must never reach, whatever name resolved to them: link-local (the metadata
 * servers of GCP, AWS and Azure at 169.254.169.254, IPv6 fe80::/10), AWS's IPv6 IMDS fd00:ec2::254, Alibaba's metadata
 * server 100.100.100.200, and "this network" 0.0.0.0/8. Pure.
 */
export function isForbiddenAddress(address: string): boolean {
  let ip = address.toLowerCase().replace(/^\[|\]$/g, '');
  // IPv4-mapped IPv6, as written (::ffff:169.254.169.254) or as URL parsing normalises it (::ffff:a9fe:a9fe).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) ip = mapped[1]!;
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (mappedHex) {
    const [hi, lo] = [parseInt(mappedHex[1]!, 16), parseInt(mappedHex[2]!, 16)];
    ip = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (a === 169 && b === 254) || a === 0 || ip === '100.100.100.200';
  }
  if (/^fe[89ab][0-9a-f]?:/.test(ip)) return true;
  return ip === 'fd00:ec2::254';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | { address: string; family: number }[], family?: number) => void;

/**
 * A `lookup` for http(s) requests to a URL from tenant input: resolves as usual, then refuses a forbidden address
 * (isForbiddenAddress) — checked on the addresses actually connected to, so a name that resolves to the metadata
 * server (or is re-pointed there between a check and the request) is refused too.
 */
export function guardedLookup(resolve: (hostname: string, options: object, callback: LookupCallback) => void) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    resolve(hostname, options, (err, address, family) => {
      if (err) return callback(err, address, family);
      const all = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const bad = all.find((a) => isForbiddenAddress(a));
      if (bad !== undefined) {
        const refusal = Object.assign(new Error(`${hostname} resolves to ${bad}, a link-local or metadata address that tenant input may not reach`), { code: 'EFORBIDDENADDRESS' });
        return callback(refusal, address, family);
      }
      callback(null, address, family);
    });
  };
}

/**
 * A path from tenant input (a remote key, a generator's path) with a `.` or `..` segment: after the server (or a
 * proxy) normalises the URL it would name another path than the one the store's policy was checked against —
 * `secret/data/../../sys/…`. Refused, not normalised. Pure.
 */
export function dotSegmentProblem(path: string, what: string): string | undefined {
  return path.split('/').some((segment) => segment === '.' || segment === '..')
    ? `${what} "${path}" has a "." or ".." segment; name the path itself`
    : undefined;
}

/** What a shared (cluster) store lets generators of any admitted namespace call through it: opted in by its admin. */
export interface SharedStoreCalls {
  /** Path prefixes, matched on whole segments ("database/creds" admits database/creds/app, not database/credsX). */
  readonly allowedPathPrefixes: readonly string[];
  readonly allowedMethods: readonly string[];
}

/**
 * Why a generator of some namespace may not make this call through a store, or undefined. A namespaced store is that
 * namespace's own identity: anything goes. A ClusterSecretStore holds an admin's identity: only calls its spec opts
 * in to, never under `forbiddenPrefixes` (token minting, the server's own configuration), and never a call whose
 * result is the store's credentials (`returnsCredentials`). Pure.
 */
export function sharedStoreCallProblem(
  call: { readonly storeKind: StoreKind; readonly storeName: string; readonly method: string; readonly path: string; readonly returnsCredentials: boolean },
  optIn: SharedStoreCalls | undefined,
  forbiddenPrefixes: readonly string[],
): string | undefined {
  const path = call.path.replace(/^\/+|\/+$/g, '');
  const dots = dotSegmentProblem(path, 'the path');
  if (dots) return dots;
  if (call.storeKind !== 'ClusterSecretStore') return undefined;
  const under = (prefix: string) => {
    const p = prefix.replace(/^\/+|\/+$/g, '');
    return path === p || path.startsWith(`${p}/`);
  };
  const store = `ClusterSecretStore ${call.storeName}`;
  const forbidden = forbiddenPrefixes.find(under);
  if (forbidden !== undefined) return `${store} never serves ${forbidden}/… to generators: it would mint tokens or change the server with the store's identity`;
  if (call.returnsCredentials) return `${store} never returns its own login (resultType Auth) to generators; use a SecretStore of the namespace`;
  if (optIn === undefined || optIn.allowedPathPrefixes.length === 0) {
    return `${store} does not serve generators (its spec sets no generators.allowedPathPrefixes); ask its admin to opt in, or use a SecretStore of the namespace`;
  }
  if (!optIn.allowedPathPrefixes.some(under)) return `${store} serves generators only under ${optIn.allowedPathPrefixes.join(', ')}, not ${path}`;
  if (!optIn.allowedMethods.includes(call.method)) return `${store} serves generators only with ${optIn.allowedMethods.join(', ')}, not ${call.method}`;
  return undefined;
}
