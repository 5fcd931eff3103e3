// Secrets of one namespace chosen by a label selector (PushSecret spec.selector.secret.selector): the apiserver
// filters (labelSelector query), so only matching Secrets cross the wire; at most `limit` are returned.
import type * as k8s from '@kubernetes/client-node';
import type { KubeRequester } from './kube-client.ts';
import { core, listObjects } from './resources.ts';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | undefined;
}

export interface LabelSelectorLike {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly SelectorRequirement[] | undefined;
}

/** The selector in the apiserver's labelSelector syntax (k8s.io/apimachinery's LabelSelectorAsSelector). Pure. */
export function labelSelectorQuery(selector: LabelSelectorLike): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) parts.push(`${key}=${value}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = [...(req.values ?? [])].sort().join(',');
    switch (req.operator) {
      case 'In':
        parts.push(`${req.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${req.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(req.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${req.key}`);
        break;
      default:
        throw new Error(`label selector operator ${req.operator} is not one of In, NotIn, Exists, DoesNotExist`);
    }
  }
  return parts.join(',');
}

/** The Secrets of `namespace` the selector matches, by name; at most `limit` (one page). An empty selector matches all. */
export async function listSecretsByLabel(kube: KubeRequester, namespace: string, selector: LabelSelectorLike, limit: number, signal?: AbortSignal): Promise<k8s.V1Secret[]> {
  const list = await listObjects<k8s.V1SecretList>(kube, core('secrets', namespace), { labelSelector: labelSelectorQuery(selector), limit }, signal);
  return [...(list.items ?? [])].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
}
