// Vault's GCP auth method, iam type: a JWT {sub: the Google service account, aud: vault/ROLE, exp} signed as that
// service account, which Vault verifies with Google's public keys for it. The signer is the store's own identity:
// its ServiceAccount through GKE Workload Identity (TokenRequest token → Google STS → generateAccessToken for the
// Google service account its annotation names → IAM Credentials signJwt), or a service-account key from its Secret
// (the JWT signed locally with the key, as Vault accepts). Never the operator's metadata server or ADC: the GCE login
// ESO falls back to is refused (declared as the operator's identity in src/api/providers/vault.ts).
import { createPrivateKey, sign } from 'node:crypto';
import type { VaultProvider } from '../../api/types.generated.ts';
import { TerminalError } from '../../util/errors.ts';
import { readSecretText, serviceAccountTokenSource, type RefResolver, type ResolvedSecretKey, type ResolvedServiceAccount } from '../kit/index.ts';
import type { StoreKubeAccess } from '../provider.ts';

export const DEFAULT_GCP_MOUNT = 'gcp';
export const GCP_SA_ANNOTATION = 'iam.gke.io/gcp-service-account';
export const GOOGLE_STS = 'https://sts.googleapis.com';
export const GOOGLE_IAM_CREDENTIALS = 'https://iamcredentials.googleapis.com';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
/** Vault refuses a JWT that lives longer than max_jwt_exp (15 minutes by default). */
export const GCP_JWT_SECONDS = 600;

export type GcpSigner =
  | {
      readonly from: 'workloadIdentity';
      readonly serviceAccount: ResolvedServiceAccount;
      readonly audiences: readonly string[];
      readonly cluster: { readonly projectID: string; readonly location: string; readonly name: string };
    }
  | { readonly from: 'key'; readonly key: ResolvedSecretKey };

export interface GcpPlan {
  readonly kind: 'gcp';
  readonly path: string;
  readonly role: string;
  readonly signer: GcpSigner;
  readonly sts: string;
  readonly iamCredentials: string;
}

/** Why a gcp auth spec cannot log in, or undefined. Pure. */
export function gcpAuthProblem(gcp: NonNullable<VaultProvider['auth']['gcp']>): string | undefined {
  if (gcp.secretRef || gcp.workloadIdentity) {
    const wi = gcp.workloadIdentity;
    if (!gcp.secretRef && wi && !(wi.clusterProjectID && wi.clusterLocation && wi.clusterName)) {
      return 'spec.provider.vault.auth.gcp.workloadIdentity needs clusterProjectID, clusterLocation and clusterName (the operator never asks its own metadata server)';
    }
    return undefined;
  }
  return "spec.provider.vault.auth.gcp needs workloadIdentity or secretRef: the GCE login (serviceAccountRef, or nothing) would use the operator's own Google identity, which secret-relay does not support";
}

/** The plan of auth.gcp. Pure. */
export function planGcpAuth(gcp: NonNullable<VaultProvider['auth']['gcp']>, refs: RefResolver): { plan: GcpPlan; identity: string } {
  const problem = gcpAuthProblem(gcp);
  if (problem) throw new TerminalError(problem);
  const path = gcp.path ?? DEFAULT_GCP_MOUNT;
  const endpoints = { sts: gcp.endpoints?.sts ?? GOOGLE_STS, iamCredentials: gcp.endpoints?.iamCredentials ?? GOOGLE_IAM_CREDENTIALS };
  // secretRef first when both are set, as ESO orders them.
  if (gcp.secretRef) {
    const key = refs.secretKey(gcp.secretRef.secretAccessKeySecretRef);
    return { plan: { kind: 'gcp', path, role: gcp.role, signer: { from: 'key', key }, ...endpoints }, identity: `gcp role ${gcp.role} at auth/${path} with the key in Secret ${key.namespace}/${key.name}` };
  }
  const wi = gcp.workloadIdentity!;
  const serviceAccount = refs.serviceAccount(wi.serviceAccountRef);
  const cluster = { projectID: wi.clusterProjectID!, location: wi.clusterLocation!, name: wi.clusterName! };
  const audiences = [`${cluster.projectID}.svc.id.goog`, ...(wi.serviceAccountRef.audiences ?? [])];
  return {
    plan: { kind: 'gcp', path, role: gcp.role, signer: { from: 'workloadIdentity', serviceAccount, audiences, cluster }, ...endpoints },
    identity: `gcp role ${gcp.role} at auth/${path} as ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name} (GKE Workload Identity)`,
  };
}

/** The claims Vault's iam login wants. Pure. */
export function gcpLoginClaims(email: string, role: string, nowMs: number): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000);
  return { sub: email, aud: `vault/${role}`, iat: now, exp: now + GCP_JWT_SECONDS };
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWT signed with a service-account key file's private key (RS256, kid = private_key_id). */
export function signWithKey(keyFile: { client_email: string; private_key: string; private_key_id: string }, role: string, nowMs: number): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: keyFile.private_key_id }));
  const claims = b64url(JSON.stringify(gcpLoginClaims(keyFile.client_email, role, nowMs)));
  const signature = sign('sha256', Buffer.from(`${header}.${claims}`), createPrivateKey(keyFile.private_key));
  return `${header}.${claims}.${b64url(signature)}`;
}

async function googleCall(what: string, url: string, init: RequestInit, signal: AbortSignal): Promise<Record<string, unknown>> {
  const response = await fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)]) });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // An answer that is not JSON is reported by status alone.
  }
  if (!response.ok) {
    const error = body['error'];
    const detail = typeof error === 'object' && error !== null ? String((error as { message?: unknown }).message ?? '') : [error, body['error_description']].filter(Boolean).join(': ');
    throw new Error(`Google ${what}: HTTP ${response.status}${detail ? ` ${detail}` : ''}`);
  }
  return body;
}

function keyFileOf(text: string, ref: ResolvedSecretKey): { client_email: string; private_key: string; private_key_id: string } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new TerminalError(`key ${ref.key} of Secret ${ref.namespace}/${ref.name} is not a Google service-account key file (JSON)`);
  }
  const { client_email, private_key, private_key_id } = parsed;
  if (typeof client_email !== 'string' || typeof private_key !== 'string' || typeof private_key_id !== 'string') {
    throw new TerminalError(`key ${ref.key} of Secret ${ref.namespace}/${ref.name} lacks client_email, private_key or private_key_id`);
  }
  return { client_email, private_key, private_key_id };
}

export interface GcpDeps {
  readonly kube: Pick<StoreKubeAccess, 'createServiceAccountToken' | 'readServiceAccountAnnotations' | 'readSecretKey'>;
  readonly now: () => number;
}

/** The signed login JWT, as the store's own Google identity. */
export async function gcpLoginJwt(plan: GcpPlan, deps: GcpDeps, signal: AbortSignal): Promise<string> {
  const signer = plan.signer;
  if (signer.from === 'key') return signWithKey(keyFileOf(await readSecretText(deps.kube, signer.key, signal, 'the Google service-account key'), signer.key), plan.role, deps.now());
  const annotations = await deps.kube.readServiceAccountAnnotations(signer.serviceAccount, signal);
  const email = annotations[GCP_SA_ANNOTATION];
  if (!email) {
    throw new TerminalError(
      `ServiceAccount ${signer.serviceAccount.namespace}/${signer.serviceAccount.name} has no ${GCP_SA_ANNOTATION} annotation: name the Google service account that signs the Vault login`,
    );
  }
  const { token } = await serviceAccountTokenSource(deps.kube, signer.serviceAccount, signer.audiences).mint(signal);
  const pool = `${signer.cluster.projectID}.svc.id.goog`;
  const provider = `https://container.googleapis.com/v1/projects/${signer.cluster.projectID}/locations/${signer.cluster.location}/clusters/${signer.cluster.name}`;
  const exchanged = await googleCall(
    'STS token exchange',
    `${plan.sts.replace(/\/+$/, '')}/v1/token`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: `identitynamespace:${pool}:${provider}`,
        scope: CLOUD_PLATFORM,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: token,
      }).toString(),
    },
    signal,
  );
  const iam = `${plan.iamCredentials.replace(/\/+$/, '')}/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}`;
  const json = (bearer: unknown, body: unknown): RequestInit => ({ method: 'POST', headers: { Authorization: `Bearer ${String(bearer)}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const impersonated = await googleCall(`generateAccessToken for ${email}`, `${iam}:generateAccessToken`, json(exchanged['access_token'], { scope: [CLOUD_PLATFORM], lifetime: '600s' }), signal);
  const signed = await googleCall(`signJwt as ${email}`, `${iam}:signJwt`, json(impersonated['accessToken'], { payload: JSON.stringify(gcpLoginClaims(email, plan.role, deps.now())) }), signal);
  if (typeof signed['signedJwt'] !== 'string') throw new Error(`Google signJwt as ${email}: the answer carries no signedJwt`);
  return signed['signedJwt'];
}
