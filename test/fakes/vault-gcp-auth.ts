// Vault's GCP auth method (iam type) in front of a real OpenBao, for tests. OpenBao has no GCP auth method in its
// binary (it lives in openbao-plugins, which no package registry here serves), so this proxy does what
// vault-plugin-auth-gcp's iam login does (MPL-2.0), in its order: the role exists and is of type iam; the JWT's
// aud is vault/ROLE; it has an expiry, not past and not further than max_jwt_exp (15 min) ahead; its sub is a
// service account bound to the role; its signature verifies with the public key `kid` Google publishes for that
// account (here: the GCP fake's keys). A match gets a real OpenBao token with the role's policies; every other
// request is passed to OpenBao as it is.
import { verify, type KeyObject } from 'node:crypto';
import { startVaultLoginFront } from './vault-login-front.ts';

export interface GcpAuthRole {
  readonly boundServiceAccounts: readonly string[];
  readonly policies: readonly string[];
  /** max_jwt_exp in seconds; default 900, as Vault's. */
  readonly maxJwtExpSeconds?: number;
}

export interface VaultGcpAuthOptions {
  readonly upstream: string;
  readonly rootToken: string;
  readonly mount: string;
  readonly roles: Readonly<Record<string, GcpAuthRole>>;
  /** Google's published public key `kid` of a service account (Vault asks the IAM API for it). */
  readonly publicKey: (email: string, kid: string) => KeyObject | undefined;
}

export interface GcpLoginSeen {
  readonly role: string;
  readonly subject: string | undefined;
  /** The JWT presented (for second-client checks in tests). */
  readonly jwt: string;
  readonly refused: string | undefined;
}

export interface VaultGcpAuth {
  readonly address: string;
  readonly logins: GcpLoginSeen[];
  stop(): Promise<void>;
}

function part(jwt: string, index: number): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function check(options: VaultGcpAuthOptions, data: Record<string, unknown>): { role: string; subject?: string; policies?: readonly string[]; error?: string } {
  const role = typeof data['role'] === 'string' ? data['role'] : '';
  const jwt = typeof data['jwt'] === 'string' ? data['jwt'] : '';
  if (!jwt) return { role, error: '"jwt" is required' };
  const entry = options.roles[role];
  if (!entry) return { role, error: `role "${role}" not found` };
  const header = part(jwt, 0);
  const claims = part(jwt, 1);
  if (!header || !claims || jwt.split('.').length !== 3) return { role, error: 'unable to parse signed JWT: square/go-jose: compact JWS format must have three parts' };
  const subject = typeof claims['sub'] === 'string' ? claims['sub'] : undefined;
  if (claims['aud'] !== `vault/${role}`) return { role, subject, error: `invalid audience, expected "vault/${role}"` };
  const exp = Number(claims['exp']);
  const now = Date.now() / 1000;
  if (!Number.isFinite(exp)) return { role, subject, error: 'JWT does not have an expiry' };
  if (exp < now) return { role, subject, error: 'token is expired' };
  if (exp - now > (entry.maxJwtExpSeconds ?? 900)) return { role, subject, error: `JWT expires too far in the future: expiration must be less than ${entry.maxJwtExpSeconds ?? 900}s` };
  if (!subject || !(entry.boundServiceAccounts.includes(subject) || entry.boundServiceAccounts.includes('*'))) {
    return { role, subject, error: `service account ${subject ?? ''} is not authorized for role` };
  }
  const key = options.publicKey(subject, String(header['kid']));
  const [h, c, s] = jwt.split('.');
  if (!key || header['alg'] !== 'RS256' || !verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(s!, 'base64url'))) {
    return { role, subject, error: 'unable to verify signature of JWT token: no matching key' };
  }
  return { role, subject, policies: entry.policies };
}

export async function startVaultGcpAuth(options: VaultGcpAuthOptions): Promise<VaultGcpAuth> {
  const logins: GcpLoginSeen[] = [];
  const front = await startVaultLoginFront(options, async (data) => {
    const result = check(options, data);
    logins.push({ role: result.role, subject: result.subject, jwt: typeof data['jwt'] === 'string' ? data['jwt'] : '', refused: result.error });
    if (result.error !== undefined || !result.policies) return { error: result.error ?? 'refused' };
    return { policies: result.policies, displayName: `gcp-${result.role}`, meta: { service_account_email: result.subject ?? '' } };
  });
  return { address: front.address, logins, stop: front.stop };
}
