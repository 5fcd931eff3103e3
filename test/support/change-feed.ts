// Shared by the change-feed suites (change-feed-*.test.ts): an ExternalSecret that only a change feed can refresh
// in time, the feed's entry in its store's status, and the tenant's untrusted host of their tenant-attack tests.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createObject, getObject, Plural, waitFor } from './operator.ts';
import { waitSecretData, type SecretValues } from './integration.ts';
import { percentile } from './metrics.ts';
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

/** Waits until `status()` (a changeFeedStatus) says the feed is connected; returns that status. */
export function waitFeedConnected(status: () => Promise<FeedStatus | undefined>): Promise<FeedStatus> {
  return waitFor('the store says its feed is connected', async () => {
    const current = await status();
    return current?.connected ? current : undefined;
  });
}

/**
 * The feed's headline measurement: `rotations` new versions (`rotate` writes one at the provider), each waited for in
 * Secrets app-a and app-b of `ns` (two ExternalSecrets with refreshInterval 1h reading the rotated secret), each
 * costing at most one provider read per ExternalSecret (`reads` counts them); prints the delay's p50 and p99 under
 * `label`. Resolves to the last value.
 */
export async function measureRotations(options: {
  readonly kube: TestKube;
  readonly ns: string;
  readonly secrets: SecretValues;
  readonly label: string;
  rotate(value: string): unknown;
  reads(): number;
  readonly rotations?: number;
}): Promise<string> {
  const { kube, ns, secrets, reads } = options;
  const latencies: number[] = [];
  let value = '';
  for (let i = 1; i <= (options.rotations ?? 8); i++) {
    value = secrets.next(`v${i}`);
    const readsBefore = reads();
    const started = Date.now();
    await options.rotate(value);
    await waitSecretData(kube, ns, 'app-a', { password: value }, 15_000);
    await waitSecretData(kube, ns, 'app-b', { password: value }, 15_000);
    latencies.push(Date.now() - started);
    assert.ok(reads() - readsBefore <= 2, `one event for two ExternalSecrets was coalesced: ${reads() - readsBefore} reads`);
  }
  latencies.sort((a, b) => a - b);
  console.log(`${options.label}: new version → both Secrets over ${latencies.length} rotations: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`);
  return value;
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
