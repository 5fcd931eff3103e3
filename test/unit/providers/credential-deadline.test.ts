// A silent token endpoint — a TCP server that accepts connections and never answers — must not hold the reads of a
// store for longer than the credential memo's deadline (src/providers/kit/credential-memo.ts), whatever the SDK in
// front of it does with its abort signal; the error names the store and the endpoint and carries no secret.
// Real provider clients (the AWS SDK's STS web-identity exchange, google-auth-library's STS exchange) against a
// loopback blackhole; only the Kubernetes side (annotation, TokenRequest) is a stub.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import { createAwsProvider } from '../../../src/providers/aws/provider.ts';
import { createGcpProvider } from '../../../src/providers/gcp/provider.ts';
import { DEFAULT_FETCH_TIMEOUT_MS } from '../../../src/providers/kit/index.ts';
import type { StoreContext, StoreKubeAccess } from '../../../src/providers/provider.ts';
import { systemClock } from '../../../src/util/clock.ts';
import type { AwsProvider, GcpsmProvider } from '../../../src/api/types.generated.ts';

/** A ServiceAccount token a real TokenRequest would return (never checked: the endpoint never answers). */
const SUBJECT_TOKEN = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"system:serviceaccount:team-a:reader"}').toString('base64url')}.c2ln`;
/** What the deadline may overrun by on a loaded machine (timers, the SDK unwinding); the bound is the point, not speed. */
const SLACK_MS = 15_000;

let blackhole: net.Server;
let endpoint: string;
const connections: net.Socket[] = [];

before(async () => {
  blackhole = net.createServer((socket) => {
    // Accept, read, never answer.
    connections.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}`;
});

after(async () => {
  for (const socket of connections) socket.destroy();
  await new Promise((resolve) => blackhole.close(resolve));
});

function ctxFor(storeName: string, annotations: Record<string, string>): StoreContext {
  const kube: StoreKubeAccess = {
    readSecretKey: async () => {
      throw new Error('no Secret is read by these stores');
    },
    readConfigMapKey: async () => {
      throw new Error('no ConfigMap is read by these stores');
    },
    readServiceAccountAnnotations: async () => annotations,
    createServiceAccountToken: async () => ({ token: SUBJECT_TOKEN, expiresAt: Date.now() + 600_000 }),
  };
  return { storeKind: 'SecretStore', storeName, storeNamespace: 'team-a', namespace: 'team-a', kube, clock: systemClock };
}

/** Reads once with a signal that never aborts (as the SDK's own credential calls do) and times the failure. */
async function failedRead(read: () => Promise<unknown>): Promise<{ message: string; ms: number }> {
  const started = Date.now();
  try {
    await read();
  } catch (error) {
    return { message: error instanceof Error ? error.message : String(error), ms: Date.now() - started };
  }
  throw new Error('the read succeeded against a blackhole');
}

const never = new AbortController().signal;

test('a silent STS (AWS web identity, Google STS) costs a read at most the memo deadline, with an error naming the store and the endpoint', async () => {
  const aws = createAwsProvider();
  const awsSpec = { service: 'SecretsManager', region: 'eu-west-1', endpoint, auth: { jwt: { serviceAccountRef: { name: 'reader' } } } } as AwsProvider;
  const gcp = createGcpProvider();
  const gcpSpec = {
    projectID: 'relay-deadline',
    endpoints: { secretManager: endpoint, sts: endpoint, iamCredentials: endpoint },
    auth: { workloadIdentity: { serviceAccountRef: { name: 'reader' }, clusterProjectID: 'relay-deadline', clusterLocation: 'europe-west1', clusterName: 'relay' } },
  } as GcpsmProvider;

  // A client build may authenticate at once (aws does): both steps count, as a reconcile waits for both.
  const [awsFailure, gcpFailure] = await Promise.all([
    failedRead(async () => {
      const client = await aws.newClient(awsSpec, ctxFor('aws', { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/app' }));
      try {
        return await client.getSecret({ key: 'db' }, never);
      } finally {
        await client.close();
      }
    }),
    failedRead(async () => {
      const client = await gcp.newClient(gcpSpec, ctxFor('gsm', {}));
      try {
        return await client.getSecret({ key: 'db' }, never);
      } finally {
        await client.close();
      }
    }),
  ]);
  console.log(`# aws: failed after ${awsFailure.ms} ms: ${awsFailure.message}`);
  console.log(`# gcp: failed after ${gcpFailure.ms} ms: ${gcpFailure.message}`);
  assert.ok(connections.length >= 2, 'both exchanges reached the blackhole');
  for (const [name, failure, says] of [
    ['aws', awsFailure, /AWS sts:AssumeRoleWithWebIdentity/],
    ['gcp', gcpFailure, /Google STS/],
  ] as const) {
    assert.ok(failure.ms <= DEFAULT_FETCH_TIMEOUT_MS + SLACK_MS, `${name}: the read ended within the deadline (${failure.ms} ms)`);
    assert.match(failure.message, name === 'aws' ? /SecretStore team-a\/aws/ : /SecretStore team-a\/gsm/, `${name}: names the store`);
    assert.match(failure.message, says, `${name}: names the exchange`);
    assert.ok(failure.message.includes(endpoint), `${name}: names the endpoint ${endpoint}: ${failure.message}`);
    assert.ok(!failure.message.includes(SUBJECT_TOKEN), `${name}: no token in the error`);
  }
});
