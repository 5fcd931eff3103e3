// An informer cache held in memory, already synced, for controller unit tests that fill it by hand.
import type { KubernetesObject, SupervisedInformer } from '../../src/k8s/informer.ts';

export class MemoryInformer implements SupervisedInformer<KubernetesObject> {
  /** By `namespace/name` (or `name` for cluster-scoped objects). */
  readonly objects = new Map<string, KubernetesObject>();
  async start() {}
  async stop() {}
  get(name: string, namespace?: string) {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }
  list() {
    return [...this.objects.values()];
  }
  hasSynced() {
    return true;
  }
  on() {}
  off() {}
  restarts() {
    return 0;
  }
}
