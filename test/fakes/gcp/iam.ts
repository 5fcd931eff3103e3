// A faithful fake of Google's identity side for Secret Manager: projects, Google service accounts (with keys and
// roles/iam.workloadIdentityUser bindings), GKE clusters and Workload Identity Federation providers (each trusting a
// Kubernetes issuer), STS /v1/token (token exchange) and IAM Credentials generateAccessToken over HTTP, and the
// access tokens they issue. It verifies what Google verifies: the subject token's RS256 signature against the
// apiserver's /openid/v1/jwks, its issuer, audience and expiry; the binding of the Kubernetes subject to the Google
// service account; the requested lifetime. Refusals use Google's status codes, error codes and wording.
// For Vault's GCP auth method (vault-plugin-auth-gcp, run by the vault iam-login test) also: the OAuth 2.0 token
// endpoint's JWT-bearer grant for service-account keys, IAM v1 serviceAccounts.get, and the X.509 certificates Google
// publishes for each account's public keys (www.googleapis.com/service_accounts/v1/metadata/x509/EMAIL).
import * as http from 'node:http';
import { createRequire } from 'node:module';
import { createPublicKey, generateKeyPairSync, randomBytes, sign as signData, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fetchJwks } from '../../support/sts-web-identity-check.ts';

export const WORKLOAD_IDENTITY_USER = 'roles/iam.workloadIdentityUser';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TOKEN_TYPES = new Set(['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token']);
/** Federated and generated access tokens live one hour, as Google's do; generateAccessToken allows at most 3600 s. */
export const TOKEN_LIFETIME_SECONDS = 3600;

/** Google's wording for a bearer token it does not know (or that expired). */
export const UNAUTHENTICATED_MESSAGE =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
export const MISSING_CREDENTIAL_MESSAGE =
  'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
export const INVALID_TARGET_MESSAGE =
  'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.';

/** Who an access token was issued to, and the IAM members that identity matches. */
export interface Principal {
  readonly kind: 'federated' | 'serviceAccount';
  /** For messages and tests: the Kubernetes subject or the Google service account. */
  readonly label: string;
  /** IAM members it matches, e.g. serviceAccount:x@p.iam.gserviceaccount.com, principal://iam.googleapis.com/…. */
  readonly members: readonly string[];
}

export interface StsExchange {
  readonly audience: string;
  /** sub of the subject token. */
  readonly subject: string | undefined;
  /** undefined when the exchange succeeded; otherwise the error_description returned. */
  readonly refused: string | undefined;
}

export interface ServiceAccountKeyFile {
  readonly type: 'service_account';
  readonly project_id: string;
  readonly private_key_id: string;
  readonly private_key: string;
  readonly client_email: string;
  readonly client_id: string;
  readonly token_uri: string;
}

interface GoogleServiceAccount {
  readonly email: string;
  /** Google's numeric uniqueId (21 digits). */
  readonly uniqueId: string;
  readonly keys: Map<string, KeyObject>;
  /** The private half of each key, kept only to self-sign the X.509 certificate Google publishes for it. */
  readonly privateKeys: Map<string, KeyObject>;
  /** Those certificates (PEM), made on first request. */
  readonly certificates: Map<string, string>;
  /** Members holding roles/iam.serviceAccountTokenCreator on it (signJwt). */
  readonly tokenCreators: Set<string>;
  /** The Google-managed key signJwt signs with (made at the first signJwt). */
  managedKey?: { readonly kid: string; readonly privateKey: KeyObject };
  /** member → when the binding takes effect (ms): IAM bindings propagate some time after they are made. */
  readonly workloadIdentityUsers: Map<string, number>;
}

interface TrustedIssuer {
  readonly issuer: string;
  /** Audiences a subject token may carry. */
  readonly audiences: readonly string[];
  /** Pool resource and project number, to name federated principals. */
  readonly poolResource: string;
  readonly gke: boolean;
}

export interface GoogleIdentityOptions {
  readonly kubeconfigPath: string;
  /** --service-account-issuer of the cluster. */
  readonly issuer: string;
  readonly clock?: () => number;
}

export interface GoogleIdentity {
  /** Base URL of STS (token URL: + /v1/token). */
  readonly stsEndpoint: string;
  /** Base URL of IAM Credentials. */
  readonly iamEndpoint: string;
  /** The OAuth 2.0 token endpoint (oauth2.googleapis.com/token) for service-account keys: a key file's token_uri. */
  readonly oauthTokenUri: string;
  /** Base URL standing for https://iam.googleapis.com (IAM v1: serviceAccounts.get). */
  readonly iamAdminEndpoint: string;
  /** Base URL standing for https://www.googleapis.com (/oauth2/v1/certs, /service_accounts/v1/metadata/x509/EMAIL). */
  readonly googleApisEndpoint: string;
  readonly exchanges: StsExchange[];
  /** generateAccessToken calls, with the service account and whether they were allowed. */
  readonly impersonations: { email: string; caller: string; allowed: boolean }[];
  addProject(id: string, number: string): void;
  projectNumber(idOrNumber: string): string | undefined;
  /** A GKE cluster of `projectID` whose Workload Identity pool (PROJECT.svc.id.goog) trusts the cluster's issuer. */
  addGkeCluster(cluster: { projectID: string; location: string; name: string }): void;
  /** A WIF pool provider trusting the cluster's issuer; returns its STS audience (//iam.googleapis.com/…). */
  addFederationProvider(provider: { projectID: string; pool: string; provider: string; allowedAudiences?: readonly string[] }): string;
  createServiceAccount(email: string): void;
  /** A key file for the service account (its public half kept to verify self-signed JWTs). */
  createServiceAccountKey(email: string): ServiceAccountKeyFile;
  /** Grants roles/iam.workloadIdentityUser on the Google service account to `member`. */
  /** roles/iam.workloadIdentityUser on `email` for `member`; with effectiveInMs, it takes effect that long after this call. */
  bindWorkloadIdentityUser(email: string, member: string, options?: { readonly effectiveInMs?: number }): void;
  /** The IAM member of a Kubernetes ServiceAccount in a GKE pool: serviceAccount:PROJECT.svc.id.goog[NS/SA]. */
  gkeMember(projectID: string, namespace: string, name: string): string;
  /** The IAM member of a Kubernetes ServiceAccount through a WIF pool: principal://…/subject/system:serviceaccount:NS:SA. */
  federationMember(projectID: string, pool: string, namespace: string, name: string): string;
  /** An access token for a Google service account, as generateAccessToken would issue (test seeding, second clients). */
  issueServiceAccountToken(email: string, lifetimeSeconds?: number): string;
  /** The principal of a bearer token, or the reason Google gives for refusing it. */
  authenticate(authorization: string | undefined): { principal: Principal } | { refused: string };
  /** roles/iam.serviceAccountTokenCreator on `email` for `member` (signJwt, signBlob). */
  bindTokenCreator(email: string, member: string): void;
  /** roles/iam.serviceAccountViewer for `member` on every project (serviceAccounts.get). */
  grantServiceAccountViewer(member: string): void;
  /** The account's uniqueId, as serviceAccounts.get returns it. */
  uniqueId(email: string): string | undefined;
  /** The public key `kid` of the service account (key files and signJwt's managed key), as Google publishes it; undefined when unknown. */
  publicKey(email: string, kid: string): KeyObject | undefined;
  /** signJwt calls, with the service account and whether they were allowed. */
  readonly signedJwts: { email: string; caller: string; allowed: boolean }[];
  /** Successful STS exchanges so far. */
  exchangeCount(): number;
  /** Every access token issued (STS and generateAccessToken), so tests can prove none reached a log line. */
  issuedTokens(): string[];
  clear(): void;
  stop(): Promise<void>;
}

interface IssuedToken {
  readonly principal: Principal;
  readonly expiresAt: number;
}

function b64json(part: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function audiencesOf(claims: Record<string, unknown>): string[] {
  return Array.isArray(claims['aud']) ? (claims['aud'] as unknown[]).map(String) : claims['aud'] === undefined ? [] : [String(claims['aud'])];
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The slice of node-forge (which ships no types) that makes the self-signed certificates Google publishes per key. */
interface Forge {
  pki: {
    privateKeyFromPem(pem: string): { n: unknown; e: unknown };
    setRsaPublicKey(n: unknown, e: unknown): unknown;
    createCertificate(): {
      publicKey: unknown;
      serialNumber: string;
      validity: { notBefore: Date; notAfter: Date };
      setSubject(attrs: { shortName: string; value: string; valueTagClass: number }[]): void;
      setIssuer(attrs: { shortName: string; value: string; valueTagClass: number }[]): void;
      sign(key: unknown, md: unknown): void;
    };
    certificateToPem(cert: unknown): string;
  };
  md: { sha256: { create(): unknown } };
}

/** A certificate for the key pair, self-signed and named after the account, as Google's x509 metadata serves. */
function selfSignedCertificate(privateKey: KeyObject, email: string, kid: string, notBefore: number): string {
  const forge = createRequire(import.meta.url)('node-forge') as Forge;
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `00${kid.slice(0, 16)}`;
  cert.validity.notBefore = new Date(notBefore);
  cert.validity.notAfter = new Date(notBefore + 10 * 365 * 86_400_000);
  // UTF8String (ASN.1 tag 12): an email's @ is not a PrintableString character, and Go's x509 refuses it as one.
  const name = [{ shortName: 'CN', value: email, valueTagClass: 12 }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function send(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
}

/** Google's JSON error body (google.rpc.Status over HTTP). */
function googleError(status: number, code: string, message: string, details?: unknown[]): unknown {
  return { error: { code: status, message, status: code, ...(details ? { details } : {}) } };
}

export async function startGoogleIdentity(options: GoogleIdentityOptions): Promise<GoogleIdentity> {
  const now = options.clock ?? Date.now;
  const jwks = new Map<string, { key: KeyObject; alg: string }>();
  for (const jwk of await fetchJwks(options.kubeconfigPath)) {
    if (jwk.kid === undefined) continue;
    jwks.set(jwk.kid, { key: createPublicKey({ key: jwk, format: 'jwk' }), alg: jwk.alg ?? 'RS256' });
  }
  if (jwks.size === 0) throw new Error('the apiserver published no signing keys at /openid/v1/jwks');

  const projects = new Map<string, string>(); // id → number
  const trusted = new Map<string, TrustedIssuer>(); // STS audience (or GKE provider URL) → trust
  const accounts = new Map<string, GoogleServiceAccount>();
  const tokens = new Map<string, IssuedToken>();
  const exchanges: StsExchange[] = [];
  const impersonations: GoogleIdentity['impersonations'] = [];
  const signedJwts: GoogleIdentity['signedJwts'] = [];
  /** Members holding roles/iam.serviceAccountViewer (on every project). */
  const viewers = new Set<string>();
  let base = '';

  const projectNumber = (idOrNumber: string): string | undefined => (/^[0-9]+$/.test(idOrNumber) ? idOrNumber : projects.get(idOrNumber));
  const numberOrThrow = (projectID: string): string => {
    const number = projectNumber(projectID);
    if (!number) throw new Error(`fake: unknown project ${projectID}; addProject first`);
    return number;
  };
  const issue = (principal: Principal, prefix: string, lifetimeSeconds = TOKEN_LIFETIME_SECONDS): { token: string; expiresAt: number } => {
    const token = `ya29.${prefix}-${randomBytes(24).toString('base64url')}`;
    const expiresAt = now() + lifetimeSeconds * 1000;
    tokens.set(token, { principal, expiresAt });
    return { token, expiresAt };
  };

  /** Verifies a subject token as STS does; returns its claims or Google's error_description. */
  const verifySubject = (token: string, trust: TrustedIssuer): { claims: Record<string, unknown> } | { refused: string } => {
    const parts = token.split('.');
    const header = parts.length === 3 ? b64json(parts[0]!) : undefined;
    const claims = parts.length === 3 ? b64json(parts[1]!) : undefined;
    if (!header || !claims) return { refused: 'Unable to parse the ID Token.' };
    if (claims['iss'] !== trust.issuer) return { refused: `The issuer in ID Token ${String(claims['iss'])} does not match the expected ones: ${trust.issuer}.` };
    const key = jwks.get(String(header['kid']));
    if (!key || header['alg'] !== 'RS256' || !verifySignature('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key.key, Buffer.from(parts[2]!, 'base64url'))) {
      return { refused: 'Invalid JWT signature.' };
    }
    const exp = Number(claims['exp']);
    if (!Number.isFinite(exp) || exp * 1000 <= now()) return { refused: `ID Token expired at ${Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : 'an unknown time'}.` };
    const audiences = audiencesOf(claims);
    if (!audiences.some((audience) => trust.audiences.includes(audience))) {
      return { refused: `The audience in ID Token [${audiences.join(', ')}] does not match the expected audience.` };
    }
    if (typeof claims['sub'] !== 'string') return { refused: 'The ID Token has no sub claim.' };
    return { claims };
  };

  const federatedPrincipal = (trust: TrustedIssuer, subject: string): Principal => {
    const members = [`principal://iam.googleapis.com/${trust.poolResource}/subject/${subject}`];
    const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
    if (trust.gke && match) {
      // GKE names the subject ns/NS/sa/SA and keeps the legacy member serviceAccount:POOL[NS/SA].
      const pool = trust.poolResource.slice(trust.poolResource.lastIndexOf('/') + 1);
      members.length = 0;
      members.push(`principal://iam.googleapis.com/${trust.poolResource}/subject/ns/${match[1]}/sa/${match[2]}`, `serviceAccount:${pool}[${match[1]}/${match[2]}]`);
    }
    return { kind: 'federated', label: subject, members };
  };

  const sts = async (body: string, response: http.ServerResponse): Promise<void> => {
    const form = new URLSearchParams(body);
    const audience = form.get('audience') ?? '';
    const fail = (status: number, error: string, description: string, subject?: string): void => {
      exchanges.push({ audience, subject, refused: description });
      send(response, status, { error, error_description: description });
    };
    if (form.get('grant_type') !== TOKEN_EXCHANGE) return fail(400, 'unsupported_grant_type', `Unsupported grant_type: ${form.get('grant_type') ?? ''}.`);
    if (form.get('requested_token_type') !== ACCESS_TOKEN_TYPE) return fail(400, 'invalid_request', 'Invalid value for "requested_token_type".');
    if (!SUBJECT_TOKEN_TYPES.has(form.get('subject_token_type') ?? '')) return fail(400, 'invalid_request', 'Invalid value for "subject_token_type".');
    const subjectToken = form.get('subject_token');
    if (!subjectToken) return fail(400, 'invalid_request', 'The "subject_token" parameter is required.');
    // GKE: identitynamespace:POOL:PROVIDER_URL; WIF: //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X.
    const gke = /^identitynamespace:([^:]+):(https:\/\/container\.googleapis\.com\/v1\/projects\/[^/]+\/locations\/[^/]+\/clusters\/[^/]+)$/.exec(audience);
    const trust = gke ? trusted.get(gke[2]!) : trusted.get(audience);
    if (!trust || (gke && !trust.poolResource.endsWith(`/workloadIdentityPools/${gke[1]}`))) return fail(400, 'invalid_target', INVALID_TARGET_MESSAGE);
    const checked = verifySubject(subjectToken, trust);
    const sub = b64json(subjectToken.split('.')[1] ?? '')?.['sub'];
    if ('refused' in checked) return fail(400, 'invalid_grant', checked.refused, typeof sub === 'string' ? sub : undefined);
    const principal = federatedPrincipal(trust, String(checked.claims['sub']));
    const { token } = issue(principal, 'federated');
    exchanges.push({ audience, subject: principal.label, refused: undefined });
    send(response, 200, { access_token: token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS });
  };

  const authenticate = (authorization: string | undefined): { principal: Principal } | { refused: string } => {
    if (!authorization) return { refused: MISSING_CREDENTIAL_MESSAGE };
    const match = /^Bearer (.+)$/i.exec(authorization);
    if (!match) return { refused: UNAUTHENTICATED_MESSAGE };
    const bearer = match[1]!;
    const issued = tokens.get(bearer);
    if (issued) return issued.expiresAt > now() ? { principal: issued.principal } : { refused: UNAUTHENTICATED_MESSAGE };
    // A self-signed JWT from a service-account key: signed by a key Google holds for that account, unexpired.
    const parts = bearer.split('.');
    const header = parts.length === 3 ? b64json(parts[0]!) : undefined;
    const claims = parts.length === 3 ? b64json(parts[1]!) : undefined;
    if (!header || !claims) return { refused: UNAUTHENTICATED_MESSAGE };
    const account = accounts.get(String(claims['iss']));
    const key = account?.keys.get(String(header['kid']));
    const signed = key && header['alg'] === 'RS256' && verifySignature('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'));
    const exp = Number(claims['exp']);
    if (!account || !signed || claims['sub'] !== account.email || !Number.isFinite(exp) || exp * 1000 <= now()) return { refused: UNAUTHENTICATED_MESSAGE };
    return { principal: { kind: 'serviceAccount', label: account.email, members: [`serviceAccount:${account.email}`] } };
  };

  const generateAccessToken = async (email: string, authorization: string | undefined, body: string, response: http.ServerResponse): Promise<void> => {
    const who = authenticate(authorization);
    if ('refused' in who) return send(response, 401, googleError(401, 'UNAUTHENTICATED', who.refused));
    const account = accounts.get(email);
    const allowed = account !== undefined && who.principal.members.some((member) => (account.workloadIdentityUsers.get(member) ?? Infinity) <= now());
    impersonations.push({ email, caller: who.principal.label, allowed });
    if (!allowed) {
      return send(
        response,
        403,
        googleError(403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IAM_PERMISSION_DENIED', domain: 'iam.googleapis.com', metadata: { permission: 'iam.serviceAccounts.getAccessToken' } },
        ]),
      );
    }
    let request: { scope?: unknown; lifetime?: unknown };
    try {
      request = JSON.parse(body || '{}') as typeof request;
    } catch {
      return send(response, 400, googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
    }
    if (!Array.isArray(request.scope) || request.scope.length === 0) return send(response, 400, googleError(400, 'INVALID_ARGUMENT', 'Scope required.'));
    const lifetime = request.lifetime === undefined ? TOKEN_LIFETIME_SECONDS : Number(String(request.lifetime).replace(/s$/, ''));
    if (!Number.isFinite(lifetime) || lifetime <= 0 || lifetime > TOKEN_LIFETIME_SECONDS) {
      return send(response, 400, googleError(400, 'INVALID_ARGUMENT', `The lifetime of the access token must be between 1 and ${TOKEN_LIFETIME_SECONDS} seconds.`));
    }
    const token = `ya29.sa-${randomBytes(24).toString('base64url')}`;
    const expiresAt = now() + lifetime * 1000;
    tokens.set(token, { principal: { kind: 'serviceAccount', label: email, members: [`serviceAccount:${email}`] }, expiresAt });
    send(response, 200, { accessToken: token, expireTime: new Date(expiresAt).toISOString() });
  };

  /** IAM Credentials signJwt: the payload signed with a Google-managed key of the account, for a token creator on it. */
  const signJwt = async (email: string, authorization: string | undefined, body: string, response: http.ServerResponse): Promise<void> => {
    const who = authenticate(authorization);
    if ('refused' in who) return send(response, 401, googleError(401, 'UNAUTHENTICATED', who.refused));
    const account = accounts.get(email);
    const allowed = account !== undefined && who.principal.members.some((member) => account.tokenCreators.has(member));
    signedJwts.push({ email, caller: who.principal.label, allowed });
    if (!allowed) return send(response, 403, googleError(403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist)."));
    let payload: unknown;
    try {
      payload = JSON.parse(String((JSON.parse(body || '{}') as { payload?: unknown }).payload));
    } catch {
      return send(response, 400, googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
    }
    account.managedKey ??= (() => {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const kid = randomBytes(20).toString('hex');
      account.keys.set(kid, pair.publicKey);
      account.privateKeys.set(kid, pair.privateKey);
      return { kid, privateKey: pair.privateKey };
    })();
    const head = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: account.managedKey.kid })).toString('base64url');
    const claims = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const signature = signData('sha256', Buffer.from(`${head}.${claims}`), account.managedKey.privateKey).toString('base64url');
    send(response, 200, { keyId: account.managedKey.kid, signedJwt: `${head}.${claims}.${signature}` });
  };

  /** oauth2.googleapis.com/token, JWT-bearer grant: a service-account key's signed assertion for an access token. */
  const jwtBearer = (body: string, response: http.ServerResponse): void => {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== JWT_BEARER) return send(response, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' + (form.get('grant_type') ?? '') });
    const parts = (form.get('assertion') ?? '').split('.');
    const header = parts.length === 3 ? b64json(parts[0]!) : undefined;
    const claims = parts.length === 3 ? b64json(parts[1]!) : undefined;
    if (!header || !claims) return send(response, 400, { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.' });
    const account = accounts.get(String(claims['iss']));
    const key = account?.keys.get(String(header['kid']));
    if (!account || !key) return send(response, 400, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' });
    if (header['alg'] !== 'RS256' || !verifySignature('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) {
      return send(response, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    }
    const iat = Number(claims['iat']);
    const exp = Number(claims['exp']);
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp * 1000 <= now() || exp - iat > 3600 || iat * 1000 > now() + 300_000) {
      return send(response, 400, { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.' });
    }
    if (!audiencesOf(claims).includes(`${base}/token`)) return send(response, 400, { error: 'invalid_grant', error_description: 'Invalid JWT: Failed audience check.' });
    if (typeof claims['scope'] !== 'string' || claims['scope'] === '') return send(response, 400, { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' });
    const { token } = issue({ kind: 'serviceAccount', label: account.email, members: [`serviceAccount:${account.email}`] }, 'sa');
    send(response, 200, { access_token: token, expires_in: TOKEN_LIFETIME_SECONDS - 1, token_type: 'Bearer' });
  };

  /** IAM v1 projects.serviceAccounts.get (by email or uniqueId; project - or the account's own). */
  const getServiceAccount = (project: string, emailOrId: string, authorization: string | undefined, response: http.ServerResponse): void => {
    const who = authenticate(authorization);
    if ('refused' in who) return send(response, 401, googleError(401, 'UNAUTHENTICATED', who.refused));
    const account = [...accounts.values()].find((a) => a.email === emailOrId || a.uniqueId === emailOrId);
    const projectID = account?.email.split('@')[1]!.split('.')[0];
    if (!who.principal.members.some((member) => viewers.has(member))) {
      return send(response, 403, googleError(403, 'PERMISSION_DENIED', `Permission 'iam.serviceAccounts.get' denied on resource (or it may not exist).`));
    }
    if (!account || (project !== '-' && project !== projectID)) return send(response, 404, googleError(404, 'NOT_FOUND', `Unknown service account`));
    send(response, 200, {
      name: `projects/${projectID}/serviceAccounts/${account.email}`,
      projectId: projectID,
      uniqueId: account.uniqueId,
      email: account.email,
      etag: Buffer.from(account.uniqueId).toString('base64'),
      oauth2ClientId: account.uniqueId,
    });
  };

  /** www.googleapis.com/service_accounts/v1/metadata/x509/EMAIL: kid → PEM certificate of each public key (unauthenticated). */
  const x509Metadata = (email: string, response: http.ServerResponse): void => {
    const account = accounts.get(email);
    if (!account) return send(response, 404, googleError(404, 'NOT_FOUND', 'Not Found'));
    const certificates: Record<string, string> = {};
    for (const [kid, privateKey] of account.privateKeys) {
      let pem = account.certificates.get(kid);
      if (pem === undefined) {
        pem = selfSignedCertificate(privateKey, email, kid, now());
        account.certificates.set(kid, pem);
      }
      certificates[kid] = pem;
    }
    send(response, 200, certificates);
  };

  const server = http.createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const url = new URL(request.url ?? '/', 'http://fake');
      if (request.method === 'POST' && url.pathname === '/v1/token') return sts(body, response);
      const impersonate = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(url.pathname);
      if (request.method === 'POST' && impersonate) return generateAccessToken(decodeURIComponent(impersonate[1]!), request.headers.authorization, body, response);
      const signer = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):signJwt$/.exec(url.pathname);
      if (request.method === 'POST' && signer) return signJwt(decodeURIComponent(signer[1]!), request.headers.authorization, body, response);
      if (request.method === 'POST' && url.pathname === '/token') return jwtBearer(body, response);
      const getter = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+)$/.exec(url.pathname);
      if (request.method === 'GET' && getter) return getServiceAccount(decodeURIComponent(getter[1]!), decodeURIComponent(getter[2]!), request.headers.authorization, response);
      // Google's own OAuth 2.0 signing keys: none of them signs a service account's JWT.
      if (request.method === 'GET' && url.pathname === '/oauth2/v1/certs') return send(response, 200, {});
      const x509 = /^\/service_accounts\/v1\/metadata\/x509\/([^/]+)$/.exec(url.pathname);
      if (request.method === 'GET' && x509) return x509Metadata(decodeURIComponent(x509[1]!), response);
      send(response, 404, googleError(404, 'NOT_FOUND', `The requested URL ${url.pathname} was not found on this server.`));
    })().catch((err: unknown) => send(response, 500, googleError(500, 'INTERNAL', err instanceof Error ? err.message : String(err))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    stsEndpoint: base,
    iamEndpoint: base,
    oauthTokenUri: `${base}/token`,
    iamAdminEndpoint: base,
    googleApisEndpoint: base,
    exchanges,
    impersonations,
    addProject: (id, number) => void projects.set(id, number),
    projectNumber,
    addGkeCluster({ projectID, location, name }) {
      const number = numberOrThrow(projectID);
      trusted.set(`https://container.googleapis.com/v1/projects/${projectID}/locations/${location}/clusters/${name}`, {
        issuer: options.issuer,
        audiences: [`${projectID}.svc.id.goog`],
        poolResource: `projects/${number}/locations/global/workloadIdentityPools/${projectID}.svc.id.goog`,
        gke: true,
      });
    },
    addFederationProvider({ projectID, pool, provider, allowedAudiences }) {
      const number = numberOrThrow(projectID);
      const resource = `projects/${number}/locations/global/workloadIdentityPools/${pool}/providers/${provider}`;
      const audience = `//iam.googleapis.com/${resource}`;
      trusted.set(audience, {
        issuer: options.issuer,
        // Google's default when a provider lists no allowed audiences: its own resource name as a URL.
        audiences: allowedAudiences?.length ? allowedAudiences : [`https://iam.googleapis.com/${resource}`],
        poolResource: `projects/${number}/locations/global/workloadIdentityPools/${pool}`,
        gke: false,
      });
      return audience;
    },
    createServiceAccount(email) {
      if (!accounts.has(email)) {
        const uniqueId = `1${String(BigInt(`0x${randomBytes(9).toString('hex')}`)).padStart(20, '0').slice(0, 20)}`;
        accounts.set(email, { email, uniqueId, keys: new Map(), privateKeys: new Map(), certificates: new Map(), workloadIdentityUsers: new Map(), tokenCreators: new Set() });
      }
    },
    createServiceAccountKey(email) {
      const account = accounts.get(email);
      if (!account) throw new Error(`fake: no service account ${email}`);
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const kid = randomBytes(20).toString('hex');
      account.keys.set(kid, publicKey);
      account.privateKeys.set(kid, privateKey);
      return {
        type: 'service_account',
        project_id: email.split('@')[1]!.split('.')[0]!,
        private_key_id: kid,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: email,
        client_id: String(BigInt(`0x${randomBytes(8).toString('hex')}`)),
        token_uri: 'https://oauth2.googleapis.com/token',
      };
    },
    bindWorkloadIdentityUser(email, member, bindOptions) {
      const account = accounts.get(email);
      if (!account) throw new Error(`fake: no service account ${email}`);
      account.workloadIdentityUsers.set(member, now() + (bindOptions?.effectiveInMs ?? 0));
    },
    bindTokenCreator(email, member) {
      const account = accounts.get(email);
      if (!account) throw new Error(`fake: no service account ${email}`);
      account.tokenCreators.add(member);
    },
    publicKey: (email, kid) => accounts.get(email)?.keys.get(kid),
    grantServiceAccountViewer: (member) => void viewers.add(member),
    uniqueId: (email) => accounts.get(email)?.uniqueId,
    signedJwts,
    gkeMember: (projectID, namespace, name) => `serviceAccount:${projectID}.svc.id.goog[${namespace}/${name}]`,
    federationMember: (projectID, pool, namespace, name) =>
      `principal://iam.googleapis.com/projects/${numberOrThrow(projectID)}/locations/global/workloadIdentityPools/${pool}/subject/system:serviceaccount:${namespace}:${name}`,
    issueServiceAccountToken(email, lifetimeSeconds) {
      if (!accounts.has(email)) throw new Error(`fake: no service account ${email}`);
      return issue({ kind: 'serviceAccount', label: email, members: [`serviceAccount:${email}`] }, 'sa', lifetimeSeconds).token;
    },
    authenticate,
    exchangeCount: () => exchanges.filter((e) => e.refused === undefined).length,
    issuedTokens: () => [...tokens.keys()],
    clear() {
      exchanges.length = 0;
      impersonations.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
