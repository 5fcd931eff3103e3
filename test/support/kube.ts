// The tests' own access to the cluster: creating, reading, patching and deleting objects, waiting on them. It is
// built with @kubernetes/client-node, the official JavaScript client, which the operator does not use (its own
// client is src/k8s/kube-client.ts): what the operator writes is read back through a second, independent client,
// so the tests check the operator's client against the official one rather than against itself. Anything handed
// to src code (startOperator, informers, lease stores, writers) is the operator's client, not this one.
//
// No rate limiting and no request accounting: the tests are the only callers. client-node 2.0.1 builds a new
// undici Agent for every request (a TCP connect and a TLS handshake each); a test creating hundreds of objects
// would spend most of its time there, so requests share one Agent per TLS identity, kept alive and reused.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';

export interface TestKube {
  readonly config: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly coordination: k8s.CoordinationV1Api;
  readonly events: k8s.EventsV1Api;
  readonly apiextensions: k8s.ApiextensionsV1Api;
  readonly apps: k8s.AppsV1Api;
  /** Closes the shared connection pool (in-flight requests finish first). */
  close(): Promise<void>;
}

export interface TestKubeOptions {
  readonly kubeconfigPath: string;
  /** Use this bearer token instead of the kubeconfig's user (to act as a ServiceAccount). */
  readonly bearerToken?: string | undefined;
}

export function createTestKube(options: TestKubeOptions): TestKube {
  const config = new SharedAgentKubeConfig();
  config.loadFromFile(options.kubeconfigPath);
  if (options.bearerToken) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig ${options.kubeconfigPath} has no current cluster`);
    config.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'token', token: options.bearerToken }],
      contexts: [{ name: 'token', cluster: cluster.name, user: 'token' }],
      currentContext: 'token',
    });
  }
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    coordination: config.makeApiClient(k8s.CoordinationV1Api),
    events: config.makeApiClient(k8s.EventsV1Api),
    apiextensions: config.makeApiClient(k8s.ApiextensionsV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    close: () => config.closeDispatcher(),
  };
}

type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;

/** A KubeConfig whose requests (API clients' and Watch's alike) share one undici Agent per TLS identity. */
class SharedAgentKubeConfig extends k8s.KubeConfig {
  #dispatcher: { readonly key: string; readonly dispatcher: Dispatcher } | undefined;

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh !== undefined) context.setDispatcher(this.#sharedDispatcher(fresh));
  }

  async closeDispatcher(): Promise<void> {
    const current = this.#dispatcher;
    this.#dispatcher = undefined;
    if (current) await current.dispatcher.close();
  }

  /** The shared Agent for the current TLS material; when that changes, the old Agent is closed and `fresh` shared. */
  #sharedDispatcher(fresh: Dispatcher): Dispatcher {
    const key = this.#tlsKey();
    // The unused fresh Agent holds no socket or timer: it is left to the garbage collector.
    if (this.#dispatcher?.key === key) return this.#dispatcher.dispatcher;
    const old = this.#dispatcher;
    this.#dispatcher = { key, dispatcher: fresh };
    if (old) void old.dispatcher.close().catch(() => {});
    return fresh;
  }

  #tlsKey(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const hash = createHash('sha256');
    const add = (part: string | Buffer | null | undefined | boolean) => {
      const bytes = part === null || part === undefined ? '' : typeof part === 'boolean' ? String(part) : part;
      hash.update(String(bytes.length)).update(':').update(bytes);
    };
    add(cluster?.server);
    add(cluster?.skipTLSVerify);
    add(cluster?.tlsServerName);
    add(cluster?.proxyUrl);
    add(cluster ? k8s.bufferFromFileOrString(cluster.caFile, cluster.caData) : null);
    add(user ? k8s.bufferFromFileOrString(user.certFile, user.certData) : null);
    add(user ? k8s.bufferFromFileOrString(user.keyFile, user.keyData) : null);
    return hash.digest('hex');
  }
}
