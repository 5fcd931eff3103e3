// A small HTTP proxy in front of moto. moto's STS accepts any AssumeRoleWithWebIdentity token; this proxy
// verifies it as AWS would with an OIDC provider for the cluster: signature against the apiserver's
// /openid/v1/jwks (fetched with the admin kubeconfig), issuer, audience and expiry. It refuses a bad token
// with STS's InvalidIdentityToken error, records what it saw, counts every AWS action passing through, and
// can inject faults (AccessDenied, throttling) for chosen actions.
import * as http from 'node:http';
import * as https from 'node:https';
import { createPublicKey, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';

export interface WebIdentityExchange {
  readonly roleArn: string;
  readonly roleSessionName: string;
  /** Claims of the token, whether or not it verified. */
  readonly subject: string | undefined;
  readonly audiences: readonly string[];
  readonly issuedAt: number | undefined;
  readonly expiresAt: number | undefined;
  readonly issuer: string | undefined;
  /** undefined when the token verified; otherwise why it was refused. */
  readonly refused: string | undefined;
}

export interface InjectedFault {
  /** e.g. "secretsmanager:GetSecretValue", "ssm:GetParameter", "sts:AssumeRole". */
  readonly action: string;
  readonly status: number;
  /** AWS error code, e.g. AccessDeniedException, ThrottlingException. */
  readonly code: string;
  readonly message?: string;
  /** Only requests about this secret/parameter (SecretId or Name); default any. */
  readonly subject?: string;
  /** How many requests to fail; default every one until cleared. */
  times?: number;
}

/** One request that passed through (or was failed by an injected fault). */
export interface SeenCall {
  readonly action: string;
  /** SecretId / Name of the request, when it names one. */
  readonly subject: string | undefined;
}

export interface StsWebIdentityCheck {
  /** Point the store's spec.provider.aws.endpoint here. */
  readonly endpoint: string;
  readonly exchanges: WebIdentityExchange[];
  /** AWS requests seen (every SDK attempt counts), e.g. action "secretsmanager:GetSecretValue". */
  readonly calls: SeenCall[];
  /** Requests of `action`, optionally only those whose subject passes `subject`. */
  count(action: string, subject?: (name: string) => boolean): number;
  inject(fault: InjectedFault): void;
  /** Forgets exchanges, actions and faults (between tests). */
  clear(): void;
  stop(): Promise<void>;
}

export interface StsWebIdentityCheckOptions {
  /** moto's endpoint, where everything is forwarded. */
  readonly upstream: string;
  /** Admin kubeconfig: the JWKS is read from its server with its credentials. */
  readonly kubeconfigPath: string;
  /** The issuer the apiserver puts in tokens (--service-account-issuer). */
  readonly issuer: string;
  /** The audience AWS's OIDC provider would accept; default sts.amazonaws.com. */
  readonly audience?: string;
  readonly clock?: () => number;
}

export interface Jwk extends JsonWebKey {
  kid?: string;
  alg?: string;
}

/** GET `path` from the apiserver of the kubeconfig, with its credentials; the body as text. */
export async function apiserverGet(kubeconfigPath: string, path: string): Promise<string> {
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfigPath);
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error(`kubeconfig ${kubeconfigPath} names no server`);
  const options: https.RequestOptions = {};
  await config.applyToHTTPSOptions(options);
  return new Promise<string>((resolve, reject) => {
    const request = https.request(new URL(path, server), { ...options, method: 'GET' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${path}: HTTP ${response.statusCode}: ${text}`))));
    });
    request.on('error', reject);
    request.end();
  });
}

export async function fetchJwks(kubeconfigPath: string): Promise<Jwk[]> {
  return (JSON.parse(await apiserverGet(kubeconfigPath, '/openid/v1/jwks')) as { keys: Jwk[] }).keys;
}

/** The issuer the apiserver puts in ServiceAccount tokens (its OIDC discovery document). */
export async function fetchIssuer(kubeconfigPath: string): Promise<string> {
  return (JSON.parse(await apiserverGet(kubeconfigPath, '/.well-known/openid-configuration')) as { issuer: string }).issuer;
}

function base64UrlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Verifies a compact JWS (RS256/ES256) against the keys; returns the claims and why it was refused, if it was. */
export function checkToken(
  token: string,
  keys: ReadonlyMap<string, { key: KeyObject; alg: string }>,
  expect: { issuer: string; audience: string; now: number },
): { claims: Record<string, unknown>; refused: string | undefined } {
  const parts = token.split('.');
  if (parts.length !== 3) return { claims: {}, refused: 'not a JWT' };
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = base64UrlJson(parts[0]!);
    claims = base64UrlJson(parts[1]!);
  } catch {
    return { claims: {}, refused: 'not a JWT' };
  }
  const jwk = keys.get(String(header['kid']));
  if (!jwk) return { claims, refused: `unknown key id ${String(header['kid'])}` };
  const alg = String(header['alg']);
  if (alg !== jwk.alg) return { claims, refused: `alg ${alg} does not match the key's ${jwk.alg}` };
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2]!, 'base64url');
  const ok =
    alg === 'RS256'
      ? verifySignature('sha256', data, jwk.key, signature)
      : alg === 'ES256'
        ? verifySignature('sha256', data, { key: jwk.key, dsaEncoding: 'ieee-p1363' }, signature)
        : false;
  if (!ok) return { claims, refused: 'bad signature' };
  if (claims['iss'] !== expect.issuer) return { claims, refused: `issuer ${String(claims['iss'])} is not ${expect.issuer}` };
  const audiences = Array.isArray(claims['aud']) ? (claims['aud'] as string[]) : [String(claims['aud'])];
  if (!audiences.includes(expect.audience)) return { claims, refused: `audience ${audiences.join(',')} does not include ${expect.audience}` };
  const exp = Number(claims['exp']);
  if (!Number.isFinite(exp) || exp * 1000 <= expect.now) return { claims, refused: 'expired' };
  const nbf = claims['nbf'] === undefined ? undefined : Number(claims['nbf']);
  if (nbf !== undefined && nbf * 1000 > expect.now + 60_000) return { claims, refused: 'not yet valid' };
  return { claims, refused: undefined };
}

function actionOf(headers: http.IncomingHttpHeaders, body: string): string | undefined {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') {
    const [service, operation] = target.split('.');
    const prefix = service === 'secretsmanager' ? 'secretsmanager' : service === 'AmazonSSM' ? 'ssm' : service === 'AmazonSQS' ? 'sqs' : (service ?? '').toLowerCase();
    return `${prefix}:${operation}`;
  }
  const action = new URLSearchParams(body).get('Action');
  return action ? `sts:${action}` : undefined;
}

function subjectOf(headers: http.IncomingHttpHeaders, body: string): string | undefined {
  if (typeof headers['x-amz-target'] !== 'string') return undefined;
  try {
    const parsed = JSON.parse(body) as { SecretId?: unknown; Name?: unknown };
    const subject = parsed.SecretId ?? parsed.Name;
    return typeof subject === 'string' ? subject : undefined;
  } catch {
    return undefined;
  }
}

function stsError(status: number, code: string, message: string): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>`;
}

export async function startStsWebIdentityCheck(options: StsWebIdentityCheckOptions): Promise<StsWebIdentityCheck> {
  const audience = options.audience ?? 'sts.amazonaws.com';
  const now = options.clock ?? Date.now;
  const keys = new Map<string, { key: KeyObject; alg: string }>();
  for (const jwk of await fetchJwks(options.kubeconfigPath)) {
    if (jwk.kid === undefined) continue;
    keys.set(jwk.kid, { key: createPublicKey({ key: jwk, format: 'jwk' }), alg: jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256') });
  }
  if (keys.size === 0) throw new Error('the apiserver published no signing keys at /openid/v1/jwks');

  const exchanges: WebIdentityExchange[] = [];
  const calls: SeenCall[] = [];
  let faults: InjectedFault[] = [];
  const upstream = new URL(options.upstream);

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const action = actionOf(request.headers, text);
      const subject = subjectOf(request.headers, text);
      if (action) calls.push({ action, subject });
      const fault = faults.find(
        (f) => f.action === action && (f.subject === undefined || f.subject === subject) && (f.times === undefined || f.times > 0),
      );
      if (fault) {
        if (fault.times !== undefined) fault.times--;
        const message = fault.message ?? `injected ${fault.code}`;
        if (action?.startsWith('sts:')) {
          response.writeHead(fault.status, { 'content-type': 'text/xml' }).end(stsError(fault.status, fault.code, message));
        } else {
          response
            .writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': fault.code })
            .end(JSON.stringify({ __type: fault.code, message }));
        }
        return;
      }
      if (action === 'sts:AssumeRoleWithWebIdentity') {
        const form = new URLSearchParams(text);
        const { claims, refused } = checkToken(form.get('WebIdentityToken') ?? '', keys, { issuer: options.issuer, audience, now: now() });
        const aud = claims['aud'];
        exchanges.push({
          roleArn: form.get('RoleArn') ?? '',
          roleSessionName: form.get('RoleSessionName') ?? '',
          subject: typeof claims['sub'] === 'string' ? claims['sub'] : undefined,
          audiences: Array.isArray(aud) ? (aud as string[]) : typeof aud === 'string' ? [aud] : [],
          issuedAt: typeof claims['iat'] === 'number' ? claims['iat'] * 1000 : undefined,
          expiresAt: typeof claims['exp'] === 'number' ? claims['exp'] * 1000 : undefined,
          issuer: typeof claims['iss'] === 'string' ? claims['iss'] : undefined,
          refused,
        });
        if (refused) {
          response.writeHead(400, { 'content-type': 'text/xml' }).end(stsError(400, 'InvalidIdentityToken', `token refused: ${refused}`));
          return;
        }
      }
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: { ...request.headers, host: upstream.host } },
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(response);
        },
      );
      forward.on('error', (error) => response.writeHead(502).end(String(error)));
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    exchanges,
    calls,
    count: (action, subject) => calls.filter((seen) => seen.action === action && (!subject || (seen.subject !== undefined && subject(seen.subject)))).length,
    inject(fault) {
      faults.push(fault);
    },
    clear() {
      exchanges.length = 0;
      calls.length = 0;
      faults = [];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
