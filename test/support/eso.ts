// ESO's ExternalSecret kind (external-secrets.io/v1) in the test cluster, for tests of taking over what ESO owned.
// A Secret whose ownerReference names an object that does not exist is deleted by the garbage collector once the
// kind is known (another test file may install ESO's real CRDs), so tests create a real owner object.
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../../src/k8s/kube-client.ts';
import { waitFor } from './operator.ts';

export const ESO_GROUP = 'external-secrets.io';
const CRD_NAME = `externalsecrets.${ESO_GROUP}`;

/** Installs a minimal CRD of ESO's ExternalSecret kind unless one (ESO's own, or this) is installed already. */
export async function ensureEsoExternalSecretCrd(kube: KubeClient): Promise<void> {
  try {
    await kube.apiextensions.createCustomResourceDefinition({
      body: {
        metadata: { name: CRD_NAME },
        spec: {
          group: ESO_GROUP,
          names: { kind: 'ExternalSecret', listKind: 'ExternalSecretList', plural: 'externalsecrets', singular: 'externalsecret' },
          scope: 'Namespaced',
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
        },
      },
    });
  } catch (err) {
    if (!(err instanceof k8s.ApiException) || err.code !== 409) throw err;
  }
  await waitFor(`CRD ${CRD_NAME} Established`, async () => {
    const current = await kube.apiextensions.readCustomResourceDefinition({ name: CRD_NAME });
    return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
}

/** Creates an ESO ExternalSecret (accepted by ESO's real CRD and the minimal one); returns its controller ownerReference. */
export async function createEsoExternalSecret(kube: KubeClient, namespace: string, name: string, target = name) {
  await ensureEsoExternalSecretCrd(kube);
  const created = await waitFor(`ESO ExternalSecret ${namespace}/${name} created`, async () =>
    (await kube.custom.createNamespacedCustomObject({
      group: ESO_GROUP,
      version: 'v1',
      namespace,
      plural: 'externalsecrets',
      body: { apiVersion: `${ESO_GROUP}/v1`, kind: 'ExternalSecret', metadata: { name }, spec: { refreshInterval: '1h', secretStoreRef: { name: 'eso-store', kind: 'SecretStore' }, target: { name: target } } },
    })) as { metadata: { uid: string } },
  );
  return { apiVersion: `${ESO_GROUP}/v1`, kind: 'ExternalSecret', name, uid: created.metadata.uid, controller: true, blockOwnerDeletion: true };
}
