// The alibaba change feed's run loop against the Simple Message Queue fake (static AccessKey, no cluster): stopping
// the feed ends the long poll at once instead of after its 20 s wait, messages are delivered then deleted, and a
// non-XML error answer (a proxy's 502) is an error, not an empty queue.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startAlibabaFake, type AlibabaFake } from '../../../fakes/alibaba/server.ts';
import { startMnsFake, type MnsFake } from '../../../fakes/alibaba/mns.ts';
import { actionTrailEvent, queueMessageBody } from '../../../fakes/alibaba/eventbridge.ts';
import { LONG_POLL_SECONDS, runMnsFeed } from '../../../../src/providers/alibaba/mns-feed.ts';
import { loadAlibabaSdk } from '../../../../src/providers/alibaba/sdk.ts';
import type { AlibabaProvider } from '../../../../src/api/types.generated.ts';
import { TerminalError, type ChangeNotification } from '../../../../src/providers/provider.ts';
import { storeContext } from '../helpers.ts';
import type { Timers } from '../../../../src/util/timers.ts';
import { unusedKubeAccess } from '../../../support/store-kube-access.ts';

let kms: AlibabaFake;
let mns: MnsFake;

before(async () => {
  const jwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid: 'unit', alg: 'RS256' };
  kms = await startAlibabaFake({ jwks: [jwk as never] });
  kms.addAccessKey({ id: 'LTAIfeedunit', secret: 'feed-unit-secret' });
  mns = await startMnsFake({ credential: (id) => kms.credential(id) });
});

after(async () => {
  await mns?.stop();
  await kms?.stop();
});

const spec = (queueURL: string): AlibabaProvider => ({
  regionID: 'cn-hangzhou',
  auth: { secretRef: { accessKeyIDSecretRef: { name: 'keys', key: 'id' }, accessKeySecretSecretRef: { name: 'keys', key: 'secret' } } },
  changeFeed: { queue: { queueURL } },
});
const ctx = storeContext({
  kube: { ...unusedKubeAccess, readSecretKey: async (ref) => new TextEncoder().encode(ref.key === 'id' ? 'LTAIfeedunit' : 'feed-unit-secret') },
});
const deps = { clock: ctx.clock, sdk: loadAlibabaSdk, readTokenFile: async () => '' };

function sink() {
  const delivered: ChangeNotification[] = [];
  let connected = 0;
  let ignored = 0;
  return {
    delivered,
    connected: () => connected,
    ignored: () => ignored,
    sink: {
      connected: () => void connected++,
      deliver: async (n: readonly ChangeNotification[]) => void delivered.push(...n),
      ignored: (count: number) => void (ignored += count),
    },
  };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('messages are delivered, then deleted; stopping the feed ends its long poll at once', async () => {
  mns.createQueue('unit-feed');
  const s = sink();
  const abort = new AbortController();
  const running = runMnsFeed(spec(mns.queueUrl('unit-feed')), ctx, s.sink, abort.signal, deps);
  await until('connected', () => s.connected() === 1);
  const event = actionTrailEvent({ eventName: 'PutSecretValue', secretName: 'db', requestId: 'R', at: Date.now() }, { region: 'cn-hangzhou' });
  mns.send('unit-feed', queueMessageBody(event, true));
  mns.send('unit-feed', 'garbage');
  await until('delivered and deleted', () => s.delivered.length === 1 && s.ignored() === 1 && mns.depth('unit-feed') === 0);
  assert.deepEqual(s.delivered[0]!.keys, ['db']);
  // Now in a long poll on an empty queue.
  await until('a long poll is waiting', () => mns.requests.filter((r) => r.action === 'mns:ReceiveMessage').length >= 3);
  const stopped = Date.now();
  abort.abort();
  await running;
  assert.ok(Date.now() - stopped < (LONG_POLL_SECONDS * 1000) / 2, `the feed ended ${Date.now() - stopped} ms after it was stopped, not at the end of its long poll`);
});

test('an empty answer that did not wait (MNS caps concurrent long polls and then answers MessageNotExist at once) does not make the feed spin: it pauses, longer each time, before it asks again', async () => {
  mns.createQueue('capped-feed');
  mns.limitLongPolls(0);
  const pauses: { ms: number; fire: () => void }[] = [];
  const timers: Timers = {
    setTimeout: (fire, ms) => {
      const pause = { ms, fire };
      pauses.push(pause);
      return pause;
    },
    clearTimeout: (handle) => void pauses.splice(pauses.indexOf(handle as (typeof pauses)[number]) >>> 0, 1),
  };
  const receives = () => mns.requests.filter((r) => r.action === 'mns:ReceiveMessage' && r.queue === 'capped-feed').length;
  const s = sink();
  const abort = new AbortController();
  try {
    const running = runMnsFeed(spec(mns.queueUrl('capped-feed')), ctx, s.sink, abort.signal, { ...deps, timers });
    await until('a pause after an empty answer that did not wait', () => pauses.length === 1);
    // The first receive (no wait) and one long poll answered at once; nothing more while paused.
    assert.equal(receives(), 2);
    const first = pauses[0]!.ms;
    pauses.shift()!.fire();
    await until('the next receive, then a longer pause', () => pauses.length === 1 && receives() === 3);
    assert.ok(pauses[0]!.ms > first, `pauses ${first} ms, then ${pauses[0]!.ms} ms`);
    // A message is still received at the next ask, and resets the pause.
    mns.send('capped-feed', queueMessageBody(actionTrailEvent({ eventName: 'PutSecretValue', secretName: 'db', requestId: 'R', at: Date.now() }, { region: 'cn-hangzhou' }), false));
    pauses.shift()!.fire();
    await until('delivered, then paused again', () => s.delivered.length === 1 && pauses.length === 1);
    assert.equal(pauses[0]!.ms, first);
    abort.abort();
    await running;
  } finally {
    mns.limitLongPolls(undefined);
  }
});

test('a 403 whose code the feed does not know (the service publishes none for an expired STS token) renews the credentials and retries once before it is reported', async () => {
  mns.createQueue('renew-feed');
  let reads = 0;
  const counting = storeContext({
    kube: { ...unusedKubeAccess, readSecretKey: async (ref) => (reads++, new TextEncoder().encode(ref.key === 'id' ? 'LTAIfeedunit' : 'feed-unit-secret')) },
  });
  const s = sink();
  const abort = new AbortController();
  mns.inject({ action: 'mns:ReceiveMessage', status: 403, code: 'InvalidAccessKeyId', times: 1 });
  const running = runMnsFeed(spec(mns.queueUrl('renew-feed')), counting, s.sink, abort.signal, deps);
  try {
    await until('connected after the refusal', () => s.connected() === 1);
    assert.ok(mns.requests.some((r) => r.queue === 'renew-feed' && r.refused === 'InvalidAccessKeyId'), 'refused once');
    assert.equal(reads, 4, 'the keys were read again for the retry (two keys, twice)');
  } finally {
    abort.abort();
    await running;
  }
  // Refused again after the renewal: reported, with what to fix.
  mns.inject({ action: 'mns:ReceiveMessage', status: 403, code: 'AccessDenied', times: 2 });
  await assert.rejects(runMnsFeed(spec(mns.queueUrl('renew-feed')), ctx, sink().sink, AbortSignal.timeout(10_000), deps), /403 AccessDenied\): allow mns:ReceiveMessage/);
});

test('a non-XML error answer (a proxy’s 502) is an error with its status, not an empty queue', async () => {
  const proxy = http.createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>'));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const s = sink();
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/queues/q`;
    await assert.rejects(runMnsFeed(spec(url), ctx, s.sink, AbortSignal.timeout(10_000), deps), /could not mns:ReceiveMessage on queue q .*\(502\)/);
    assert.equal(s.connected(), 0);
  } finally {
    proxy.closeAllConnections();
    proxy.close();
  }
});

test('a ClusterSecretStore that authenticates per ExternalSecret namespace has no identity of its own to subscribe with: the feed says so and sends nothing', async () => {
  const before = mns.requests.length;
  const cluster = storeContext({ storeKind: 'ClusterSecretStore', storeNamespace: undefined, namespace: 'team-a' });
  await assert.rejects(runMnsFeed(spec(mns.queueUrl('unit-feed')), cluster, sink().sink, AbortSignal.timeout(10_000), deps), (error: Error) => error instanceof TerminalError && /store's own identity/.test(error.message));
  assert.equal(mns.requests.length, before);
});
