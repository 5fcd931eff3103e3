// ESO v2.9.0's own CRDs (test/fixtures/eso-docs/eso-crds.json: ExternalSecret, SecretStore, ClusterSecretStore of
// external-secrets.io) installed on the test apiserver, so tests can create real ESO objects — an owner the
// garbage collector knows — without running ESO. Idempotent; returns once the group is served.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { TestKube } from './kube.ts';
import { waitFor } from './operator.ts';

const crdsFile = new URL('../fixtures/eso-docs/eso-crds.json', import.meta.url);

export async function installEsoCrds(kube: TestKube): Promise<void> {
  const api = kube.config.makeApiClient(k8s.ApiextensionsV1Api);
  const crds = JSON.parse(readFileSync(crdsFile, 'utf8')) as Record<string, unknown>[];
  for (const crd of crds) {
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(JSON.stringify(crd));
    const name = body.metadata!.name!;
    try {
      await api.createCustomResourceDefinition({ body });
    } catch (err) {
      if (!(err instanceof k8s.ApiException) || err.code !== 409) throw err;
    }
    await waitFor(`ESO's CRD ${name} to be Established`, async () => (await api.readCustomResourceDefinition({ name })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
  }
  // Established precedes being served by a moment.
  await waitFor("ESO's group to be served", async () => {
    try {
      await kube.custom.listClusterCustomObject({ group: 'external-secrets.io', version: 'v1', plural: 'externalsecrets' });
      return true;
    } catch {
      return false;
    }
  });
}
