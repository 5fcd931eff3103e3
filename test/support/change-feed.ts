// Shared by the change-feed suites (change-feed-*.test.ts): an ExternalSecret that only a change feed can refresh
// in time, the feed's entry in its store's status, and the tenant's untrusted host of their tenant-attack tests.
import * as net from 'node:net';
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

/** The tenant's own host in the tenant-attack tests: a loopback address the operator does not trust (only 127.0.0.1 and localhost are). */
export const UNTRUSTED_HOST = '127.0.0.2';

/**
 * A TCP listener on UNTRUSTED_HOST that records every connection and closes it: a connection is caught before any TLS
 * handshake, HTTP request or gRPC preface (which would carry the access token), so a test sees any attempt at all.
 */
export async function listenUntrusted(): Promise<{ readonly port: number; readonly connections: readonly string[]; close(): void }> {
  const connections: string[] = [];
  const server = net.createServer((socket) => {
    connections.push(`${socket.remoteAddress}:${socket.remotePort}`);
    socket.on('error', () => {});
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, UNTRUSTED_HOST, resolve));
  return { port: (server.address() as net.AddressInfo).port, connections, close: () => void server.close() };
}
