// Start-up checks: each failure a new user can meet on a fresh cluster (apiserver unreachable, credentials
// refused, operator namespace missing, CRDs not installed, a verb the operator needs not granted) becomes one
// StartupError whose message names what is wrong and the fix, instead of a dump of the response.
import { KubeApiError, type KubeClient } from './kube-client.ts';
import { describeKubeError } from './describe-error.ts';
import { kindPath, listKind, type KindDescriptor, type KubernetesObject } from './informer.ts';
import { core, createObject, listObjects } from './resources.ts';

/** A failure to start that a user fixes; its message is the one line to print. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The apiserver's address, for messages. */
function serverOf(kube: Pick<KubeClient, 'server'>): string {
  return kube.server;
}

/**
 * The start-up failure `err` (from a request for `what`) is, as one line with its fix; undefined when it is
 * none of the known ones (the caller describes it with describeKubeError).
 */
export function startupProblem(kube: Pick<KubeClient, 'server'>, err: unknown, what: string): string | undefined {
  const server = serverOf(kube);
  if (!(err instanceof KubeApiError)) {
    const cause = transportCause(err);
    if (cause === undefined) return undefined;
    return `cannot reach the Kubernetes API server at ${server} (${cause}): check that the cluster is running and that --kubeconfig (or KUBECONFIG) points at it`;
  }
  if (err.code === 401) {
    return `the Kubernetes API server at ${server} refused the credentials (401 Unauthorized): the kubeconfig user's token or client certificate (or the --kube-token-file / SECRET_RELAY_KUBE_TOKEN token) is invalid or expired; renew it`;
  }
  if (err.code === 403) {
    return `not allowed to ${what} (${describeKubeError(err)}): grant it to the operator's identity (the RBAC in deploy/, explained in docs/install.md)`;
  }
  return undefined;
}

/** A network-level failure's code (ECONNREFUSED, ENOTFOUND, certificate errors …), or undefined for anything else. */
function transportCause(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+|CERT_[A-Z_]+|UNABLE_TO_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_[A-Z_]+)$/.test(code)) return code;
    if (e.name === 'FetchError' || e.message === 'fetch failed') continue;
  }
  const message = err instanceof Error ? err.message : '';
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|socket hang up|fetch failed/.test(message)) return message.split('\n')[0]!.slice(0, 200);
  return undefined;
}

/** Throws a StartupError for a known start-up failure of `call`, otherwise a plain one-line Error. */
export async function startupStep<T>(kube: Pick<KubeClient, 'server'>, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof StartupError) throw err;
    const problem = startupProblem(kube, err, what);
    throw new StartupError(problem ?? `could not ${what}: ${describeKubeError(err)}`);
  }
}

/**
 * Makes sure the operator's namespace exists (its HMAC key Secret, Lease and Events live there): creates it
 * when the identity may, else says how. Listing namespaces needs only the list verb the namespace cache uses.
 */
export async function ensureOperatorNamespace(kube: Pick<KubeClient, 'server' | 'request'>, namespace: string): Promise<void> {
  const found = await startupStep(kube, 'list namespaces', () => listObjects<{ items?: unknown[] }>(kube, core('namespaces'), { fieldSelector: `metadata.name=${namespace}`, limit: 1 }));
  if ((found.items ?? []).length > 0) return;
  try {
    await createObject(kube, core('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 409) return; // created meanwhile
    if (err instanceof KubeApiError && err.code === 403) {
      throw new StartupError(
        `the operator namespace "${namespace}" does not exist and this identity may not create it: run \`kubectl create namespace ${namespace}\`, or pass --namespace=<an existing namespace>`,
      );
    }
    throw new StartupError(startupProblem(kube, err, `create namespace ${namespace}`) ?? `could not create the operator namespace "${namespace}": ${describeKubeError(err)}`);
  }
}

/**
 * Lists every kind the caches will hold (one object, in each watched namespace for namespaced kinds): a CRD
 * that is not installed, or a list the identity may not make, fails here with its fix, not in a retry loop.
 */
export async function checkKindsReadable(kube: Pick<KubeClient, 'server' | 'request'>, kinds: readonly KindDescriptor<KubernetesObject>[], watchNamespaces: readonly string[]): Promise<void> {
  for (const kind of kinds) {
    const resource = kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`;
    for (const namespace of kind.namespaced && watchNamespaces.length > 0 ? watchNamespaces : [undefined]) {
      const where = namespace ? ` in namespace ${namespace}` : '';
      try {
        await listKind(kube, kind, { namespace, labelSelector: kind.labelSelector, limit: 1 });
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 404 && kind.group !== '') {
          throw new StartupError(`the CRD ${resource} is not installed (404 on ${kindPath(kind, namespace)}): run \`kubectl apply -f crds/\` (or install the Helm chart), then start again`);
        }
        const problem = startupProblem(kube, err, `list ${resource}${where}`);
        throw new StartupError(problem ?? `could not list ${resource}${where}: ${describeKubeError(err)}`);
      }
    }
  }
}
