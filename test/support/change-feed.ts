// Shared by the change-feed suites (change-feed-*.test.ts): an ExternalSecret that only a change feed can refresh
// in time, and the feed's entry in its store's status.
import { createObject, getObject, Plural } from './operator.ts';
import type { TestKube } from './kube.ts';

/** An ExternalSecret of `key` through SecretStore `storeName` with refreshInterval 1h: a quick sync is the feed's doing. */
export async function hourlyExternalSecret(kube: TestKube, ns: string, storeName: string, name: string, key: string): Promise<void> {
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name },
    spec: { secretStoreRef: { name: storeName }, refreshInterval: '1h', data: [{ secretKey: 'password', remoteRef: { key } }] },
  }, ns);
}

export type FeedStatus = { source: string; connected: boolean; lastHeardTime?: string; message?: string };

/** The status.changeFeeds entry of `source` on SecretStore `storeName`, if the store reports one. */
export async function changeFeedStatus(kube: TestKube, ns: string, storeName: string, source: string): Promise<FeedStatus | undefined> {
  const store = await getObject(kube, Plural.SecretStore, storeName, ns);
  return (store?.['status'] as { changeFeeds?: FeedStatus[] } | undefined)?.changeFeeds?.find((f) => f.source === source);
}
