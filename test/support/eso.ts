// ESO's ExternalSecret (external-secrets.io/v1) as the owner of a Secret, for tests of taking over what ESO owned. A
// Secret whose ownerReference names an object that does not exist is deleted by the garbage collector once the kind
// is known, so tests create a real owner object, of ESO's real CRD (test/support/eso-crds.ts).
import type { TestKube } from './kube.ts';
import { installEsoCrds } from './eso-crds.ts';
import { waitFor } from './operator.ts';

const ESO_GROUP = 'external-secrets.io';

/** Creates an ESO ExternalSecret; returns the controller ownerReference its Secrets carry. */
export async function createEsoExternalSecret(kube: TestKube, namespace: string, name: string, target = name) {
  await installEsoCrds(kube);
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
