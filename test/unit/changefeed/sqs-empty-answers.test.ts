// The sqs feed against an endpoint that answers an empty receive at once instead of holding it (an SQS-compatible
// server that ignores WaitTimeSeconds): the feed must not ask again as fast as the endpoint answers. The endpoint
// speaks SQS's wire format (AWS JSON 1.0) and counts the receives. (The alibaba feed's test is in mns-feed.test.ts.)
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { runSqsFeed } from '../../../src/providers/aws/sqs-feed.ts';
import type { AwsProvider } from '../../../src/api/types.generated.ts';
import type { ChangeFeedSink } from '../../../src/providers/provider.ts';
import { storeContext } from '../providers/helpers.ts';
import { unusedKubeAccess } from '../../support/store-kube-access.ts';

const WINDOW_MS = 3_000;

async function serve(handle: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handle(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Runs the feed for WINDOW_MS after it says connected; returns the receives the endpoint answered meanwhile. */
async function receivesInWindow(run: (sink: ChangeFeedSink, signal: AbortSignal) => Promise<void>, receives: () => number): Promise<number> {
  const abort = new AbortController();
  let connected!: () => void;
  const isConnected = new Promise<void>((resolve) => (connected = resolve));
  const running = run({ connected, deliver: async () => {}, ignored: () => {} }, abort.signal);
  await Promise.race([isConnected, running.then(() => assert.fail('the feed ended before it connected'))]);
  const before = receives();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const counted = receives() - before;
  abort.abort();
  await running;
  return counted;
}

const keys = { kube: { ...unusedKubeAccess, readSecretKey: async (ref: { key: string }) => new TextEncoder().encode(ref.key === 'id' ? 'AKIAFEEDUNIT' : 'feed-unit-secret') } };

test('sqs: an endpoint that answers the long poll at once with no messages is not asked again at once', async () => {
  let receives = 0;
  const sqs = await serve((req, _body, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    if (target === 'AmazonSQS.GetQueueAttributes') return res.end(JSON.stringify({ Attributes: { QueueArn: 'arn:aws:sqs:us-east-1:123456789012:changes' } }));
    if (target === 'AmazonSQS.ReceiveMessage') {
      receives++;
      return res.end('{}');
    }
    res.writeHead(400).end(JSON.stringify({ __type: 'com.amazonaws.sqs#InvalidAction', message: target }));
  });
  try {
    const spec: AwsProvider = {
      service: 'SecretsManager',
      region: 'us-east-1',
      endpoint: sqs.url,
      auth: { secretRef: { accessKeyIDSecretRef: { name: 'keys', key: 'id' }, secretAccessKeySecretRef: { name: 'keys', key: 'secret' } } },
      changeFeed: { sqs: { queueURL: `${sqs.url}/123456789012/changes` } },
    };
    const counted = await receivesInWindow((sink, signal) => runSqsFeed(spec, storeContext(keys), sink, signal, {}), () => receives);
    console.log(`sqs: ${counted} receives in ${WINDOW_MS} ms of immediate empty answers`);
    // Pauses of 1 s, 2 s, 4 s …: at most 3 receives in the 3 s window.
    assert.ok(counted <= 3, `${counted} receives in ${WINDOW_MS} ms`);
  } finally {
    sqs.close();
  }
});
