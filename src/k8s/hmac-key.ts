// The key of the drift-detection HMAC: kept in a Secret in the operator's namespace so every replica, and
// every restart, computes the same HMAC. Created on first start when absent.
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { KubeRequester } from './kube-client.ts';
import { apiErrorCode } from './kube-client.ts';
import { core, createObject, getObject } from './resources.ts';

const KEY_FIELD = 'key';

export async function loadOrCreateHmacKey(kube: KubeRequester, namespace: string, name: string): Promise<Uint8Array> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const secret = await getObject<k8s.V1Secret>(kube, core('secrets', namespace, name));
      const encoded = secret.data?.[KEY_FIELD];
      if (!encoded) throw new Error(`Secret ${namespace}/${name} has no "${KEY_FIELD}" key: delete it to let secret-relay create a new one`);
      return Buffer.from(encoded, 'base64');
    } catch (err) {
      if (apiErrorCode(err) !== 404) throw err;
    }
    try {
      await createObject(kube, core('secrets', namespace), {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'secret-relay' } },
        type: 'Opaque',
        data: { [KEY_FIELD]: randomBytes(32).toString('base64') },
      });
    } catch (err) {
      // Another replica created it first: read theirs.
      if (apiErrorCode(err) !== 409) throw err;
    }
  }
  throw new Error(`could not read or create the HMAC key Secret ${namespace}/${name}`);
}
