// The one place @kubernetes/client-node is configured: a KubeConfig and its API clients, built once in main.ts
// and handed to whoever needs them. Other files under src/k8s may import the library's types and helpers;
// nothing outside src/k8s imports it.
import * as k8s from '@kubernetes/client-node';

export interface KubeClientOptions {
  /** Path of a kubeconfig file; when absent the in-cluster ServiceAccount config is used. */
  readonly kubeconfigPath?: string | undefined;
  /** Use this bearer token instead of the kubeconfig's user (least-privilege tests). */
  readonly bearerToken?: string | undefined;
}

export interface KubeClient {
  readonly config: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly coordination: k8s.CoordinationV1Api;
  readonly events: k8s.EventsV1Api;
  readonly apiextensions: k8s.ApiextensionsV1Api;
  readonly apps: k8s.AppsV1Api;
}

export function createKubeClient(options: KubeClientOptions = {}): KubeClient {
  const config = new k8s.KubeConfig();
  if (options.kubeconfigPath) config.loadFromFile(options.kubeconfigPath);
  else config.loadFromCluster();
  if (options.bearerToken) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
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
  };
}

/** HTTP status of a failed API call, or undefined for transport errors. */
export function apiErrorCode(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  return undefined;
}
