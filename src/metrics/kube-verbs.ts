/** The verbs apiserver requests are counted by: a small closed set, so a metric label stays bounded. */
export const KUBE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;
export type KubeVerb = (typeof KUBE_VERBS)[number];
