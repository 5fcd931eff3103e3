// Logging in to Vault for one store: a plan decided from the spec (pure), a login per method, and a token session
// that reuses the token while its TTL lasts, renews it (renew-self) once most of the TTL has passed, logs in again
// when renewal fails or the token is rejected, and revokes it (revoke-self) when the store's client is closed.
// A token given in a Secret (tokenSecretRef) is the user's: it is used as it is, never renewed or revoked.
import type { Clock } from '../../util/clock.ts';
import type { VaultProvider } from '../../api/types.generated.ts';
import { TerminalError } from '../provider.ts';
import type { StoreContext } from '../provider.ts';
import { untilAborted } from '../abortable.ts';
import { createCredentialMemo, readSecretText, referenceNamespace, RefResolver, serviceAccountTokenSource, EXCHANGE_TOKEN_SECONDS } from '../kit/index.ts';
import type { ResolvedSecretKey, StoreWhere } from '../kit/index.ts';
import type { VaultApi } from './api.ts';
import { VaultPermissionError } from './api.ts';
import { iamCredentials, planIamAuth, signedIamLoginBody, type IamDeps, type IamPlan } from './auth-iam.ts';
import { gcpLoginJwt, planGcpAuth, type GcpPlan } from './auth-gcp.ts';

/** Renew once this share of the token's TTL has passed (Vault Agent renews at about two thirds). */
export const TOKEN_RENEW_FRACTION = 2 / 3;
/** A token this close to its end is not used: log in again instead. */
export const TOKEN_EXPIRY_MARGIN_MS = 5_000;
export const DEFAULT_JWT_AUDIENCE = 'vault';
/** TokenRequest's minimum lifetime; the token only has to live through one login. */
export const LOGIN_TOKEN_SECONDS = EXCHANGE_TOKEN_SECONDS;
/** The longest login token minted, whatever kubernetesServiceAccountToken.expirationSeconds asks (the admission policy's cap). */
export const MAX_LOGIN_TOKEN_SECONDS = 3600;
/** Deadline of one shared login or renewal (a silent Vault must not hold every reconcile of the store). */
export const LOGIN_TIMEOUT_MS = 60_000;

export type ResolvedRef = ResolvedSecretKey;

export type VaultAuthPlan =
  | { readonly kind: 'token'; readonly token: ResolvedRef }
  | { readonly kind: 'appRole'; readonly path: string; readonly roleId: string | ResolvedRef; readonly secretId: ResolvedRef }
  | {
      readonly kind: 'kubernetes';
      readonly path: string;
      readonly role: string;
      readonly jwt: JwtSource;
    }
  | { readonly kind: 'jwt'; readonly path: string; readonly role: string | undefined; readonly jwt: JwtSource }
  | { readonly kind: 'userPass'; readonly path: string; readonly username: string; readonly password: ResolvedRef }
  | { readonly kind: 'ldap'; readonly path: string; readonly username: string; readonly password: ResolvedRef }
  /** The client certificate rides on the TLS connection (connection.ts), so the login itself carries only the role. */
  | { readonly kind: 'cert'; readonly path: string; readonly role: string | undefined }
  | IamPlan
  | GcpPlan;

export const DEFAULT_CERT_MOUNT = 'cert';
export const DEFAULT_LDAP_MOUNT = 'ldap';

export type JwtSource =
  | { readonly from: 'serviceAccount'; readonly namespace: string; readonly name: string; readonly audiences: readonly string[]; readonly expirationSeconds: number }
  | { readonly from: 'secret'; readonly ref: ResolvedRef }
  /** The operator's own ServiceAccount (kubernetes auth without a ref): minted, audience `vault`, never the mounted token. */
  | { readonly from: 'operatorServiceAccount'; readonly audiences: readonly string[] };

export interface PlannedAuth {
  readonly plan: VaultAuthPlan;
  /** True when the plan depends on the ExternalSecret's namespace (ClusterSecretStore, a namespace omitted). */
  readonly referent: boolean;
  /** Who this store acts as, for the audit log. Never a secret. */
  readonly identity: string;
}

/** Decides how a store logs in, from its spec and the ExternalSecret's namespace. Pure. */
export function planVaultAuth(auth: VaultProvider['auth'], where: StoreWhere): PlannedAuth {
  const refs = new RefResolver(where);
  const resolve = (selector: Parameters<RefResolver['secretKey']>[0]): ResolvedRef => refs.secretKey(selector);
  const account = (ref: { name: string; namespace?: string | undefined }) => refs.serviceAccount(ref);
  let plan: VaultAuthPlan;
  let identity: string;
  if (auth.tokenSecretRef) {
    const token = resolve(auth.tokenSecretRef);
    plan = { kind: 'token', token };
    identity = `token from Secret ${token.namespace}/${token.name}`;
  } else if (auth.appRole) {
    const roleId = auth.appRole.roleId ?? resolve(auth.appRole.roleRef!);
    plan = { kind: 'appRole', path: auth.appRole.path, roleId, secretId: resolve(auth.appRole.secretRef) };
    identity = `approle at auth/${auth.appRole.path}${typeof roleId === 'string' ? ` (role ID ${roleId})` : ''}`;
  } else if (auth.kubernetes) {
    const k = auth.kubernetes;
    let jwt: JwtSource;
    if (k.serviceAccountRef) {
      const sa = account(k.serviceAccountRef);
      // Never the apiserver's own audience by default: such a token, once sent to Vault, would work against the apiserver too.
      const audiences = k.serviceAccountRef.audiences?.length ? k.serviceAccountRef.audiences : [DEFAULT_JWT_AUDIENCE];
      jwt = { from: 'serviceAccount', ...sa, audiences, expirationSeconds: LOGIN_TOKEN_SECONDS };
      identity = `kubernetes role ${k.role} as ServiceAccount ${sa.namespace}/${sa.name}`;
    } else if (k.secretRef) {
      const ref = resolve(k.secretRef);
      jwt = { from: 'secret', ref };
      identity = `kubernetes role ${k.role} with the token in Secret ${ref.namespace}/${ref.name}`;
    } else {
      jwt = { from: 'operatorServiceAccount', audiences: [DEFAULT_JWT_AUDIENCE] };
      identity = `kubernetes role ${k.role} as the operator's ServiceAccount`;
    }
    plan = { kind: 'kubernetes', path: k.mountPath, role: k.role, jwt };
  } else if (auth.jwt) {
    const j = auth.jwt;
    let jwt: JwtSource;
    // secretRef first when both are set, as ESO orders them.
    if (j.kubernetesServiceAccountToken && !j.secretRef) {
      const t = j.kubernetesServiceAccountToken;
      const sa = account(t.serviceAccountRef);
      const audiences = t.audiences ?? t.serviceAccountRef.audiences ?? [DEFAULT_JWT_AUDIENCE];
      // At most an hour: the token only has to live through one login, and the chart's admission policy refuses longer ones.
      jwt = { from: 'serviceAccount', ...sa, audiences, expirationSeconds: Math.min(t.expirationSeconds ?? LOGIN_TOKEN_SECONDS, MAX_LOGIN_TOKEN_SECONDS) };
      identity = `jwt${j.role ? ` role ${j.role}` : ''} as ServiceAccount ${sa.namespace}/${sa.name}`;
    } else {
      if (!j.secretRef) throw new TerminalError('spec.provider.vault.auth.jwt needs a token: set secretRef or kubernetesServiceAccountToken');
      const ref = resolve(j.secretRef);
      jwt = { from: 'secret', ref };
      identity = `jwt${j.role ? ` role ${j.role}` : ''} with the token in Secret ${ref.namespace}/${ref.name}`;
    }
    plan = { kind: 'jwt', path: j.path, role: j.role, jwt };
  } else if (auth.userPass) {
    const u = auth.userPass;
    plan = { kind: 'userPass', path: u.path, username: u.username, password: resolve(u.secretRef) };
    identity = `userpass user ${u.username}`;
  } else if (auth.ldap) {
    const l = auth.ldap;
    // Trimmed as ESO does: a stray space from YAML would otherwise be a different directory user.
    const username = l.username.trim();
    plan = { kind: 'ldap', path: l.path ?? DEFAULT_LDAP_MOUNT, username, password: resolve(l.secretRef) };
    identity = `ldap user ${username}`;
  } else if (auth.cert) {
    const c = auth.cert;
    const path = c.path ?? DEFAULT_CERT_MOUNT;
    plan = { kind: 'cert', path, role: c.vaultRole || undefined };
    if (c.clientCert) refs.secretKey(c.clientCert);
    identity = `cert at auth/${path}${c.vaultRole ? ` role ${c.vaultRole}` : ''}${c.clientCert ? ` with the certificate in Secret ${referenceNamespace(c.clientCert.namespace, where)}/${c.clientCert.name}` : ' with the certificate of spec.provider.vault.tls'}`;
  } else if (auth.iam) {
    ({ plan, identity } = planIamAuth(auth.iam, refs, where));
  } else if (auth.gcp) {
    ({ plan, identity } = planGcpAuth(auth.gcp, refs));
  } else {
    throw new TerminalError('spec.provider.vault.auth must set one of tokenSecretRef, appRole, kubernetes, jwt, userPass, ldap, cert, iam, gcp');
  }
  return { plan, identity, referent: refs.referent };
}

/** A token and what is known of its life. */
export interface VaultToken {
  readonly token: string;
  /** Whether we obtained it by logging in (and so may renew and revoke it). */
  readonly owned: boolean;
  readonly renewable: boolean;
  /** Epoch ms; undefined when it does not expire (root and other non-expiring tokens, or a user's token). */
  readonly expiresAt: number | undefined;
  /** Epoch ms of the login or of the last renewal. */
  readonly since: number;
  readonly ttlSeconds: number;
}

export interface LoginDeps {
  readonly api: VaultApi;
  readonly ctx: Pick<StoreContext, 'kube'>;
  readonly clock: Clock;
  /** The operator's own AWS credentials, for auth.iam without jwt or secretRef (allowed by the tenancy policy). */
  readonly operatorAwsCredentials?: IamDeps['operatorCredentials'];
  /** The operator's own ServiceAccount, for kubernetes auth without a ref (allowed by the tenancy policy). */
  readonly operatorServiceAccount?: { readonly namespace: string; readonly name: string } | undefined;
}

async function readRef(deps: LoginDeps, ref: ResolvedRef, signal: AbortSignal): Promise<string> {
  const value = await readSecretText(deps.ctx.kube, ref, signal, 'the Vault credential');
  if (value === '') throw new TerminalError(`key ${ref.key} of Secret ${ref.namespace}/${ref.name} is empty`);
  return value;
}

async function jwtFrom(deps: LoginDeps, source: JwtSource, signal: AbortSignal): Promise<string> {
  switch (source.from) {
    case 'serviceAccount': {
      const account = { namespace: source.namespace, name: source.name };
      return (await serviceAccountTokenSource(deps.ctx.kube, account, source.audiences, source.expirationSeconds).mint(signal)).token;
    }
    case 'secret':
      return readRef(deps, source.ref, signal);
    case 'operatorServiceAccount': {
      const own = deps.operatorServiceAccount;
      if (own === undefined) {
        throw new TerminalError(
          "kubernetes auth without serviceAccountRef or secretRef acts as the operator's own ServiceAccount, which this operator does not know; start it with --service-account-name, or set serviceAccountRef",
        );
      }
      return (await serviceAccountTokenSource(deps.ctx.kube, own, source.audiences, LOGIN_TOKEN_SECONDS).mint(signal)).token;
    }
  }
}

/** One login with the planned method. */
export async function login(plan: VaultAuthPlan, deps: LoginDeps, signal: AbortSignal): Promise<VaultToken> {
  const { api, clock } = deps;
  let auth;
  switch (plan.kind) {
    case 'token': {
      const token = await readRef(deps, plan.token, signal);
      return { token, owned: false, renewable: false, expiresAt: undefined, since: clock.now(), ttlSeconds: 0 };
    }
    case 'appRole': {
      const roleId = typeof plan.roleId === 'string' ? plan.roleId : await readRef(deps, plan.roleId, signal);
      auth = await api.login(plan.path, '', { role_id: roleId, secret_id: await readRef(deps, plan.secretId, signal) }, signal);
      break;
    }
    case 'kubernetes':
      auth = await api.login(plan.path, '', { role: plan.role, jwt: await jwtFrom(deps, plan.jwt, signal) }, signal);
      break;
    case 'jwt':
      auth = await api.login(plan.path, '', { ...(plan.role ? { role: plan.role } : {}), jwt: await jwtFrom(deps, plan.jwt, signal) }, signal);
      break;
    case 'userPass':
    case 'ldap':
      auth = await api.login(plan.path, plan.username, { password: await readRef(deps, plan.password, signal) }, signal);
      break;
    case 'cert':
      auth = await api.login(plan.path, '', plan.role ? { name: plan.role } : {}, signal);
      break;
    case 'iam': {
      const credentials = await iamCredentials(plan, { kube: deps.ctx.kube, operatorCredentials: deps.operatorAwsCredentials }, signal);
      auth = await api.login(plan.path, '', await signedIamLoginBody(plan, credentials, new Date(clock.now())), signal);
      break;
    }
    case 'gcp':
      auth = await api.login(plan.path, '', { role: plan.role, jwt: await gcpLoginJwt(plan, { kube: deps.ctx.kube, now: () => clock.now() }, signal) }, signal);
      break;
  }
  const now = clock.now();
  return {
    token: auth.client_token,
    owned: true,
    renewable: auth.renewable,
    expiresAt: auth.lease_duration > 0 ? now + auth.lease_duration * 1000 : undefined,
    since: now,
    ttlSeconds: auth.lease_duration,
  };
}

/** What to do with the current token now. Pure. */
export function tokenAction(current: VaultToken | undefined, now: number, renewFraction = TOKEN_RENEW_FRACTION): 'login' | 'renew' | 'use' {
  if (!current) return 'login';
  if (current.expiresAt === undefined) return 'use';
  if (now >= current.expiresAt - TOKEN_EXPIRY_MARGIN_MS) return 'login';
  const renewAt = current.since + (current.expiresAt - current.since) * renewFraction;
  if (now < renewAt) return 'use';
  return current.owned && current.renewable ? 'renew' : 'use';
}

export interface TokenSessionStats {
  readonly logins: number;
  readonly renewals: number;
  readonly failedRenewals: number;
  readonly revocations: number;
}

export interface TokenSession {
  /** A usable token: the current one, renewed or replaced as needed. Concurrent callers share one login/renewal. */
  token(signal: AbortSignal): Promise<string>;
  /** The server refused this token (403): forget it so the next call logs in (or re-reads the Secret) again. */
  invalidate(token: string): void;
  /** Revokes a token we logged in for; a user's token is left alone. */
  close(signal: AbortSignal): Promise<void>;
  stats(): TokenSessionStats;
  /** The current token's state, for tests and the store's validation. */
  current(): VaultToken | undefined;
}

export interface TokenSessionLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What the memo treats as the token's end: the renewal point of a token we may renew, else shortly before expiry. Pure. */
export function tokenUsableUntil(token: VaultToken, renewFraction = TOKEN_RENEW_FRACTION): number | undefined {
  if (token.expiresAt === undefined) return undefined;
  const loginAt = token.expiresAt - TOKEN_EXPIRY_MARGIN_MS;
  if (!(token.owned && token.renewable)) return loginAt;
  return Math.min(loginAt, token.since + (token.expiresAt - token.since) * renewFraction);
}

export class VaultSessionClosedError extends Error {
  override readonly name = 'VaultSessionClosedError';
}

/** What a login is and where, for the memo's deadline error: the store and the server, never a secret. */
export function describeLogin(plan: VaultAuthPlan, store: string, server: string): string {
  const what = plan.kind === 'token' ? 'renewal of the token from a Secret' : `login at auth/${plan.path}/login`;
  return `${store}: Vault ${what} on ${server}`;
}

export function createTokenSession(
  plan: VaultAuthPlan,
  deps: LoginDeps & { readonly logger?: TokenSessionLogger | undefined; readonly exchange?: (() => string) | undefined },
): TokenSession {
  /** The last token obtained (kept to renew it, and to revoke it at close). */
  let last: VaultToken | undefined;
  /** The login or renewal in flight, which close() waits for so that what it returns is revoked too. */
  let inflight: Promise<unknown> | undefined;
  let closed = false;
  const revoked = new Set<string>();
  const counts = { logins: 0, renewals: 0, failedRenewals: 0, revocations: 0 };

  const fresh = async (signal: AbortSignal): Promise<VaultToken> => {
    const action = tokenAction(last, deps.clock.now());
    if (action === 'use') return last!;
    if (action === 'renew') {
      const held = last!;
      try {
        const auth = await deps.api.renewSelf(held.token, held.ttlSeconds || undefined, signal);
        counts.renewals++;
        const now = deps.clock.now();
        return {
          ...held,
          renewable: auth.renewable,
          since: now,
          ttlSeconds: auth.lease_duration,
          expiresAt: auth.lease_duration > 0 ? now + auth.lease_duration * 1000 : held.expiresAt,
        };
      } catch (err) {
        // Expired, revoked, or at its max TTL: a new login is the remedy.
        counts.failedRenewals++;
        deps.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'Vault token renewal failed; logging in again');
      }
    }
    const token = await login(plan, deps, signal);
    counts.logins++;
    return token;
  };

  /** Revokes a token we logged in for (once); a user's token and an expired one are left alone. */
  const revoke = async (token: VaultToken, signal: AbortSignal): Promise<void> => {
    if (!token.owned || revoked.has(token.token)) return;
    if (token.expiresAt !== undefined && token.expiresAt <= deps.clock.now()) return;
    revoked.add(token.token);
    try {
      await deps.api.revokeSelf(token.token, signal);
      counts.revocations++;
    } catch (err) {
      // Refused: the token is already invalid (revoked or expired server-side); nothing is left to revoke.
      if (!(err instanceof VaultPermissionError)) throw err;
    }
  };

  // One login or renewal at a time, shared by every caller; each caller may stop waiting with its own signal.
  const memo = createCredentialMemo<VaultToken>({
    clock: deps.clock,
    refreshBeforeMs: 0,
    fetchTimeoutMs: LOGIN_TIMEOUT_MS,
    exchange: deps.exchange ?? (() => describeLogin(plan, 'a Vault store', 'its server')),
    expiresAt: (token) => tokenUsableUntil(token),
    fetch(signal) {
      const attempt = (async () => {
        const token = await fresh(signal);
        if (closed) {
          // close() came while this login ran: the token must not outlive the session.
          await revoke(token, AbortSignal.timeout(10_000));
          throw new VaultSessionClosedError('the Vault session was closed while logging in; the new token was revoked');
        }
        last = token;
        return token;
      })();
      inflight = attempt;
      const settle = () => {
        if (inflight === attempt) inflight = undefined;
      };
      attempt.then(settle, settle);
      return attempt;
    },
  });

  return {
    async token(signal) {
      if (closed) throw new VaultSessionClosedError('the Vault session is closed (its store changed or was deleted)');
      return (await memo.get(signal)).token;
    },
    invalidate(token) {
      if (last?.token !== token) return;
      last = undefined;
      memo.invalidate();
    },
    async close(signal) {
      closed = true;
      const held = last;
      last = undefined;
      memo.invalidate();
      // A login in flight revokes its own token once it returns (see fetch); wait for it while the signal allows.
      const racing = inflight;
      if (racing) await untilAborted(racing.then(() => {}, () => {}), signal).catch(() => {});
      if (held) await revoke(held, signal);
    },
    stats: () => ({ ...counts }),
    current: () => last,
  };
}
