// Long-poll feeds against an endpoint that answers an empty receive at once instead of holding it (an SQS- or
// MNS-compatible server that ignores the wait): the feed must not ask again as fast as the endpoint answers. Each
// endpoint here speaks its service's wire format (AWS JSON 1.0 for SQS, MNS's XML) and counts the receives.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { runSqsFeed, MIN_EMPTY_POLL_MS as SQS_MIN_EMPTY_POLL_MS } from '../../../src/providers/aws/sqs-feed.ts';
import { runMnsFeed, MIN_EMPTY_POLL_MS as MNS_MIN_EMPTY_POLL_MS } from '../../../src/providers/alibaba/mns-feed.ts';
import { loadAlibabaSdk } from '../../../src/providers/alibaba/sdk.ts';
import type { AlibabaProvider, AwsProvider } from '../../../src/api/types.generated.ts';
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

const keys = { kube: { ...unusedKubeAccess, readSecretKey: async (ref: { key: string }) => new TextEncoder().encode(ref.key === 'id' ? 'LTAIfeedunit' : 'feed-unit-secret') } };

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
    assert.ok(counted <= Math.ceil(WINDOW_MS / SQS_MIN_EMPTY_POLL_MS) + 1, `${counted} receives in ${WINDOW_MS} ms`);
  } finally {
    sqs.close();
  }
});

test('mns: an endpoint that answers the long poll at once with MessageNotExist is not asked again at once', async () => {
  let receives = 0;
  const mns = await serve((req, _body, res) => {
    if (req.method === 'GET' && /\/messages\?/.test(req.url ?? '')) receives++;
    res.writeHead(404, { 'content-type': 'text/xml;charset=utf-8', 'x-mns-request-id': 'R1', 'x-mns-version': '2015-06-06' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error xmlns="http://mns.aliyuncs.com/doc/v1/"><Code>MessageNotExist</Code><Message>Message not exist.</Message><RequestId>R1</RequestId><HostId>${req.headers.host}</HostId></Error>`);
  });
  try {
    const spec: AlibabaProvider = {
      regionID: 'cn-hangzhou',
      auth: { secretRef: { accessKeyIDSecretRef: { name: 'keys', key: 'id' }, accessKeySecretSecretRef: { name: 'keys', key: 'secret' } } },
      changeFeed: { queue: { queueURL: `${mns.url}/queues/changes` } },
    };
    const ctx = storeContext(keys);
    const counted = await receivesInWindow((sink, signal) => runMnsFeed(spec, ctx, sink, signal, { clock: ctx.clock, sdk: loadAlibabaSdk, readTokenFile: async () => '' }), () => receives);
    console.log(`mns: ${counted} receives in ${WINDOW_MS} ms of immediate empty answers`);
    assert.ok(counted <= Math.ceil(WINDOW_MS / MNS_MIN_EMPTY_POLL_MS) + 1, `${counted} receives in ${WINDOW_MS} ms`);
  } finally {
    mns.close();
  }
});
