// A fake Entra ID (Azure AD) token endpoint, over HTTPS: `/{tenant}/v2.0/.well-known/openid-configuration` (MSAL
// resolves the authority there) and `/{tenant}/oauth2/v2.0/token` with the client-credentials grant, authenticated
// by a federated client assertion (workload identity), a client secret, or a certificate-signed assertion.
// It verifies what Entra verifies for a federated credential — RS256 signature against the cluster's
// /openid/v1/jwks, issuer, subject system:serviceaccount:NS:NAME and audience of a federated credential of the
// application, expiry — and for the others the secret or the certificate's signature, thumbprint, audience and
// expiry; unknown tenants and client ids are refused with Entra's AADSTS codes and JSON error shape. It issues
// RS256 access tokens for `{resource}/.default` that the Key Vault fake checks.
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, constants, X509Certificate, type KeyObject } from 'node:crypto';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Jwk } from '../../support/sts-web-identity-check.ts';
import type { TestTls } from './tls.ts';
import { answerFault, type FaultRule } from '../../support/fault-proxy.ts';

export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface FederatedCredential {
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: readonly string[];
}

export interface FakeApplication {
  readonly tenantId: string;
  readonly clientId: string;
  /** The service principal's object id: what Key Vault grants access to. */
  readonly objectId: string;
  readonly federated: FederatedCredential[];
  readonly secrets: string[];
  /** Registered certificates, by upper-case hex SHA-1 and SHA-256 thumbprints. */
  readonly certificates: Map<string, KeyObject>;
}

export interface TokenExchange {
  readonly tenantId: string;
  readonly clientId: string;
  readonly grant: 'federated' | 'secret' | 'certificate' | 'none';
  readonly scope: string;
  /** The assertion's subject (federated). */
  readonly subject?: string | undefined;
  /** undefined when a token was issued; otherwise the AADSTS description. */
  readonly refused?: string | undefined;
}

export interface FakeEntraOptions {
  readonly tls: TestTls;
  /** The keys that sign ServiceAccount tokens (the apiserver's /openid/v1/jwks). */
  readonly jwks: () => Promise<readonly Jwk[]>;
  /** Lifetime of issued access tokens; default 3599 s as Entra. */
  readonly tokenLifetimeSeconds?: number;
  readonly now?: () => number;
}

export interface FakeEntra {
  /** https://127.0.0.1:PORT — the authority host (customCloudConfig.activeDirectoryEndpoint). */
  readonly authorityHost: string;
  /** Verifies an access token this fake issued: its claims, or why it is not valid. */
  verifyAccessToken(token: string): { claims: Record<string, unknown> } | { refused: string };
  /** An access token for `resource` as `app` (what the instance metadata service hands a managed identity). */
  issueAccessToken(app: FakeApplication, resource: string): { token: string; expiresIn: number };
  addTenant(tenantId: string): void;
  addApplication(app: { tenantId: string; clientId: string; objectId?: string }): FakeApplication;
  addCertificate(app: FakeApplication, certPem: string): void;
  readonly exchanges: TokenExchange[];
  /** Exchanges that issued a token, optionally for one client id. */
  issued(clientId?: string): number;
  /**
   * The token endpoint answers `status` (5xx: Entra's server_error body; 429: temporarily_unavailable with
   * Retry-After) to the next `times` token requests (default 1), as an outage or throttling of Entra ID does.
   */
  fail(fault: { readonly status: number; times?: number }): void;
  /**
   * Decides each request before the fake does (test/support/fault-proxy.ts's faults: a status, a reset, a stall);
   * 'forward' (the default rule) lets the fake answer as it would. undefined restores the default.
   */
  setFaultRule(rule: FaultRule | undefined): void;
  /** Forgets exchanges and faults (between tests); tenants and applications stay. */
  clear(): void;
  stop(): Promise<void>;
}

interface AadError {
  readonly status: number;
  readonly error: string;
  readonly code: number;
  readonly description: string;
}

function b64json(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const audiencesOf = (claims: Record<string, unknown>): string[] => (Array.isArray(claims['aud']) ? (claims['aud'] as unknown[]).map(String) : claims['aud'] === undefined ? [] : [String(claims['aud'])]);

export async function startFakeEntra(options: FakeEntraOptions): Promise<FakeEntra> {
  const now = options.now ?? Date.now;
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKid = randomUUID();
  const tenants = new Set<string>();
  const apps = new Map<string, FakeApplication>();
  const exchanges: TokenExchange[] = [];
  const faults: { status: number; times?: number }[] = [];
  let authorityHost = '';

  const fail = (status: number, error: string, code: number, description: string): AadError => ({ status, error, code, description: `AADSTS${code}: ${description}` });

  function issueAccessToken(app: FakeApplication, resource: string): string {
    const iat = Math.floor(now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', kid: signingKid };
    const claims = { aud: resource, iss: `https://sts.windows.net/${app.tenantId}/`, iat, nbf: iat, exp: iat + lifetime, appid: app.clientId, oid: app.objectId, sub: app.objectId, tid: app.tenantId, ver: '1.0' };
    const body = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${body}.${sign('sha256', Buffer.from(body), signing.privateKey).toString('base64url')}`;
  }

  async function federatedRefusal(app: FakeApplication, assertion: string): Promise<AadError | { subject: string }> {
    const parts = assertion.split('.');
    const header = parts.length === 3 ? b64json(parts[0]!) : undefined;
    const claims = parts.length === 3 ? b64json(parts[1]!) : undefined;
    if (!header || !claims) return fail(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    const issuer = String(claims['iss']);
    const subject = String(claims['sub']);
    const audiences = audiencesOf(claims);
    const withIssuer = app.federated.filter((credential) => credential.issuer === issuer);
    if (withIssuer.length === 0) {
      return fail(400, 'invalid_client', 700211, `No matching federated identity record found for presented assertion issuer '${issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`);
    }
    const withSubject = withIssuer.filter((credential) => credential.subject === subject);
    if (withSubject.length === 0) {
      return fail(400, 'invalid_client', 700213, `No matching federated identity record found for presented assertion subject '${subject}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`);
    }
    if (!withSubject.some((credential) => credential.audiences.some((audience) => audiences.includes(audience)))) {
      return fail(400, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${audiences.join(',')}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`);
    }
    const jwk = (await options.jwks()).find((key) => key.kid === header['kid']);
    if (header['alg'] !== 'RS256' || !jwk) return fail(401, 'invalid_client', 5002738, `Invalid JWT token. The token signing key '${String(header['kid'])}' was not found at the issuer's JWKS.`);
    const signed = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return fail(401, 'invalid_client', 50013, 'Assertion failed signature validation.');
    const exp = Number(claims['exp']);
    const nbf = claims['nbf'] === undefined ? undefined : Number(claims['nbf']);
    if (!Number.isFinite(exp) || exp * 1000 <= now() || (nbf !== undefined && nbf * 1000 > now() + 300_000)) {
      return fail(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    }
    return { subject };
  }

  function certificateRefusal(app: FakeApplication, assertion: string, tokenEndpoint: string): AadError | undefined {
    const parts = assertion.split('.');
    const header = parts.length === 3 ? b64json(parts[0]!) : undefined;
    const claims = parts.length === 3 ? b64json(parts[1]!) : undefined;
    if (!header || !claims) return fail(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    const alg = String(header['alg']);
    const thumbprint = alg === 'PS256' ? header['x5t#S256'] : header['x5t'];
    const key = typeof thumbprint === 'string' ? app.certificates.get(Buffer.from(thumbprint, 'base64url').toString('hex').toUpperCase()) : undefined;
    if (!key) return fail(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(thumbprint)}']`);
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2]!, 'base64url');
    const ok =
      alg === 'PS256'
        ? verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature)
        : alg === 'RS256' && verify('sha256', data, key, signature);
    if (!ok) return fail(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    if (claims['iss'] !== app.clientId || claims['sub'] !== app.clientId) return fail(401, 'invalid_client', 700023, 'Client assertion audience claim does not match Realm issuer or the issuer and subject are not the client id.');
    if (!audiencesOf(claims).some((audience) => audience.replace(/\/$/, '') === tokenEndpoint)) {
      return fail(401, 'invalid_client', 700212, `Client assertion audience claim does not match the token endpoint '${tokenEndpoint}'.`);
    }
    if (!(Number(claims['exp']) * 1000 > now())) return fail(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    return undefined;
  }

  async function token(tenantId: string, form: URLSearchParams): Promise<{ status: number; body: Record<string, unknown> }> {
    const clientId = form.get('client_id') ?? '';
    const scope = form.get('scope') ?? '';
    const record = (grant: TokenExchange['grant'], refused?: string, subject?: string) => exchanges.push({ tenantId, clientId, grant, scope, subject, refused });
    const error = (e: AadError, grant: TokenExchange['grant']) => {
      record(grant, e.description);
      const traceId = randomUUID();
      const correlationId = randomUUID();
      const timestamp = new Date(now()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
      return {
        status: e.status,
        body: {
          error: e.error,
          error_description: `${e.description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
          error_codes: [e.code],
          timestamp,
          trace_id: traceId,
          correlation_id: correlationId,
          error_uri: `${authorityHost}/error?code=${e.code}`,
        },
      };
    };
    const assertion = form.get('client_assertion');
    const secret = form.get('client_secret');
    const grantGuess: TokenExchange['grant'] = secret !== null ? 'secret' : assertion === null ? 'none' : 'federated';
    if (!tenants.has(tenantId)) return error(fail(400, 'invalid_request', 90002, `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`), grantGuess);
    if (form.get('grant_type') !== 'client_credentials') return error(fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'), grantGuess);
    const app = apps.get(`${tenantId}/${clientId}`);
    if (!app) return error(fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`), grantGuess);
    const scopes = scope.split(' ').filter((s) => s !== '' && !['openid', 'profile', 'offline_access'].includes(s));
    if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) {
      return error(fail(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`), grantGuess);
    }
    const resource = scopes[0]!.slice(0, -'/.default'.length);
    let grant: TokenExchange['grant'];
    let subject: string | undefined;
    if (secret !== null) {
      grant = 'secret';
      if (!app.secrets.includes(secret)) return error(fail(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`), grant);
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) return error(fail(400, 'invalid_request', 50027, 'Invalid client_assertion_type.'), 'federated');
      const header = b64json(assertion.split('.')[0] ?? '');
      const isCertificate = header !== undefined && (header['x5t'] !== undefined || header['x5t#S256'] !== undefined);
      grant = isCertificate ? 'certificate' : 'federated';
      if (isCertificate) {
        const refused = certificateRefusal(app, assertion, `${authorityHost}/${tenantId}/oauth2/v2.0/token`);
        if (refused) return error(refused, grant);
      } else {
        const outcome = await federatedRefusal(app, assertion);
        if ('status' in outcome) return error(outcome, grant);
        subject = outcome.subject;
      }
    } else {
      return error(fail(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."), 'none');
    }
    record(grant, undefined, subject);
    return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: issueAccessToken(app, resource) } };
  }

  let faultRule: FaultRule | undefined;
  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache' });
        response.end(JSON.stringify(body));
      };
      const injected = faultRule?.({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: text });
      if (injected && answerFault(injected, request, response)) return;
      const url = new URL(request.url ?? '/', authorityHost);
      const parts = url.pathname.split('/').filter((part) => part !== '');
      const tenantId = parts[0] ?? '';
      if (request.method === 'GET' && parts.length === 4 && parts.slice(1).join('/') === 'v2.0/.well-known/openid-configuration') {
        const base = `${authorityHost}/${tenantId}`;
        send(200, {
          token_endpoint: `${base}/oauth2/v2.0/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          jwks_uri: `${base}/discovery/v2.0/keys`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          issuer: `${base}/v2.0`,
          request_uri_parameter_supported: false,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          tenant_region_scope: 'EU',
          cloud_instance_name: 'microsoftonline.com',
        });
        return;
      }
      if (request.method === 'GET' && parts.length === 4 && parts.slice(1).join('/') === 'discovery/v2.0/keys') {
        send(200, { keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: signingKid, use: 'sig', kty: 'RSA' }] });
        return;
      }
      if (request.method === 'POST' && parts.length === 4 && parts.slice(1).join('/') === 'oauth2/v2.0/token') {
        const fault = faults[0];
        if (fault) {
          fault.times = (fault.times ?? 1) - 1;
          if (fault.times <= 0) faults.shift();
          if (fault.status === 429) {
            response.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
            response.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'AADSTS50196: The server terminated an operation because it encountered a client request loop.', error_codes: [50196] }));
          } else {
            send(fault.status, { error: 'server_error', error_description: 'AADSTS90033: A transient error has occurred. Please try again.', error_codes: [90033] });
          }
          return;
        }
        token(tenantId, new URLSearchParams(text)).then(
          (out) => send(out.status, out.body),
          () => send(500, { error: 'server_error', error_description: 'AADSTS90000: internal error of the fake' }),
        );
        return;
      }
      send(404, { error: 'invalid_request', error_description: `AADSTS900561: The endpoint only accepts POST requests. Received a ${request.method} request.` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    authorityHost,
    verifyAccessToken(accessToken) {
      const parts = accessToken.split('.');
      const header = parts.length === 3 ? b64json(parts[0]!) : undefined;
      const claims = parts.length === 3 ? b64json(parts[1]!) : undefined;
      if (!header || !claims) return { refused: 'AKV10000: Request is missing a Bearer or PoP token.' };
      if (header['kid'] !== signingKid || !verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), signing.publicKey, Buffer.from(parts[2]!, 'base64url'))) {
        return { refused: 'AKV10031: Token signature is invalid.' };
      }
      if (Number(claims['exp']) * 1000 <= now()) return { refused: `AKV10022: Token has expired (exp ${String(claims['exp'])}).` };
      return { claims };
    },
    issueAccessToken: (app, resource) => ({ token: issueAccessToken(app, resource), expiresIn: lifetime }),
    addTenant: (tenantId) => void tenants.add(tenantId),
    addApplication({ tenantId, clientId, objectId }) {
      tenants.add(tenantId);
      const app: FakeApplication = { tenantId, clientId, objectId: objectId ?? randomUUID(), federated: [], secrets: [], certificates: new Map() };
      apps.set(`${tenantId}/${clientId}`, app);
      return app;
    },
    addCertificate(app, certPem) {
      const x509 = new X509Certificate(certPem);
      const der = x509.raw;
      const key = x509.publicKey;
      app.certificates.set(createHash('sha1').update(der).digest('hex').toUpperCase(), key);
      app.certificates.set(createHash('sha256').update(der).digest('hex').toUpperCase(), key);
    },
    exchanges,
    issued: (clientId) => exchanges.filter((e) => e.refused === undefined && (clientId === undefined || e.clientId === clientId)).length,
    fail: (fault) => void faults.push({ ...fault }),
    setFaultRule: (rule) => void (faultRule = rule),
    clear() {
      exchanges.splice(0);
      faults.splice(0);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
