// The workloads a rollout reads and patches: Deployments, StatefulSets and DaemonSets (apps/v1) and Argo
// Rollouts (argoproj.io/v1alpha1, when that CRD is installed). Listed per namespace at the moment a Secret
// changed, not cached: see docs/rollouts.md for the measurement behind that choice.
import type * as k8s from '@kubernetes/client-node';
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { getObject, listObjects, patchObject, PatchType, type ResourceLocation } from './resources.ts';

export type AppsKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
export type WorkloadObjectKind = AppsKind | 'argo.Rollout';

/** What a rollout reads of a workload; V1Deployment, V1StatefulSet, V1DaemonSet and an Argo Rollout fit. */
export interface WorkloadObject {
  readonly kind: WorkloadObjectKind;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid: string; readonly annotations: Record<string, string> };
  readonly template: { readonly annotations: Record<string, string>; readonly spec: k8s.V1PodSpec | undefined };
}

export const ARGO_ROLLOUT = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' } as const;

export interface WorkloadClient {
  /** Every Deployment, StatefulSet and DaemonSet of the namespace: three LISTs, served from the apiserver's watch cache. */
  listApps(namespace: string): Promise<WorkloadObject[]>;
  /** One Argo Rollout; undefined when it, or the Rollout CRD, does not exist. */
  getArgoRollout(namespace: string, name: string): Promise<WorkloadObject | undefined>;
  /** A merge patch; 'absent' when the workload was deleted meanwhile. */
  patch(kind: WorkloadObjectKind, namespace: string, name: string, body: object, fieldManager: string): Promise<'patched' | 'absent'>;
}

interface Listed {
  readonly metadata?: k8s.V1ObjectMeta | undefined;
  readonly spec?: { readonly template?: k8s.V1PodTemplateSpec | undefined } | undefined;
}

function view(kind: WorkloadObjectKind, item: Listed): WorkloadObject {
  return {
    kind,
    metadata: { name: item.metadata?.name ?? '', namespace: item.metadata?.namespace ?? '', uid: item.metadata?.uid ?? '', annotations: item.metadata?.annotations ?? {} },
    template: { annotations: item.spec?.template?.metadata?.annotations ?? {}, spec: item.spec?.template?.spec },
  };
}

const APPS_PLURAL: Readonly<Record<AppsKind, string>> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' };

function workload(kind: WorkloadObjectKind, namespace: string, name?: string): ResourceLocation {
  if (kind === 'argo.Rollout') return { ...ARGO_ROLLOUT, namespace, name };
  return { group: 'apps', version: 'v1', plural: APPS_PLURAL[kind], namespace, name };
}

export function createWorkloadClient(kube: KubeRequester): WorkloadClient {
  // resourceVersion "0": any recent state, from the apiserver's cache instead of a quorum read of etcd.
  const cached = { resourceVersion: '0' };
  const list = (kind: AppsKind, namespace: string) => listObjects<{ items: Listed[] }>(kube, workload(kind, namespace), cached);
  return {
    async listApps(namespace) {
      const [deployments, statefulSets, daemonSets] = await Promise.all([list('Deployment', namespace), list('StatefulSet', namespace), list('DaemonSet', namespace)]);
      return [
        ...deployments.items.map((d) => view('Deployment', d)),
        ...statefulSets.items.map((s) => view('StatefulSet', s)),
        ...daemonSets.items.map((d) => view('DaemonSet', d)),
      ];
    },
    async getArgoRollout(namespace, name) {
      try {
        const rollout = await getObject<Listed>(kube, workload('argo.Rollout', namespace, name));
        return view('argo.Rollout', rollout);
      } catch (err) {
        if (apiErrorCode(err) === 404) return undefined;
        throw err;
      }
    },
    async patch(kind, namespace, name, body, fieldManager) {
      try {
        await patchObject(kube, workload(kind, namespace, name), PatchType.Merge, body, { fieldManager });
        return 'patched';
      } catch (err) {
        if (apiErrorCode(err) === 404) return 'absent';
        throw err;
      }
    },
  };
}
