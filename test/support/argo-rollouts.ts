// The Argo Rollout CRD, where it matters to our tests (Argo's own CRD preserves unknown fields of the spec too):
// installed once per control plane, waited for until Established.
import type { TestKube } from './kube.ts';
import { waitFor } from './operator.ts';

export async function installArgoRolloutCrd(kube: TestKube): Promise<void> {
  const name = 'rollouts.argoproj.io';
  try {
    await kube.apiextensions.createCustomResourceDefinition({
      body: {
        metadata: { name },
        spec: {
          group: 'argoproj.io',
          names: { kind: 'Rollout', plural: 'rollouts', singular: 'rollout', listKind: 'RolloutList' },
          scope: 'Namespaced',
          versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
        },
      },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  await waitFor('the Rollout CRD Established', async () => (await kube.apiextensions.readCustomResourceDefinition({ name })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
}
