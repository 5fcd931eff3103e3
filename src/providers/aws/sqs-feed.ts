// The aws change feed: long-polls the SQS queue the store names (spec.provider.aws.changeFeed.sqs), with the store's
// own identity — the same credential chain as its reads (IRSA per store, static keys, role chaining) — and deletes
// each message once the host has recorded it. Loaded with the first aws store that has a feed.
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { AwsProvider } from '../../api/types.generated.ts';
import { TerminalError, type StoreContext } from '../provider.ts';
import type { ChangeFeedSink, ChangeNotification } from '../change-feed.ts';
import { buildAwsSession, planAwsAuth, sdkClientConfig, REQUEST_LIMITS } from './auth.ts';
import { awsCall } from './errors.ts';
import { DEFAULT_MAX_ATTEMPTS, type AwsProviderOptions } from './options.ts';
import { changeFromEvent } from './change-events.ts';
import { delay, systemTimers } from '../../util/timers.ts';

/** SQS's longest wait: one request per 20 s per store while nothing changes (about 130,000 a month, in SQS's free tier). */
export const LONG_POLL_SECONDS = 20;
/**
 * An empty answer that did not wait (an SQS-compatible endpoint that does not hold the long poll) — back in under half
 * its wait — is followed by a pause, doubling from the first to the last (as the alibaba feed does); any message or a
 * receive that did wait resets it. Without, the loop asked again as fast as the endpoint answered.
 */
export const EARLY_EMPTY_PAUSE_MS = { first: 1_000, max: LONG_POLL_SECONDS * 1000 } as const;

export async function runSqsFeed(spec: AwsProvider, ctx: StoreContext, sink: ChangeFeedSink, signal: AbortSignal, options: AwsProviderOptions): Promise<void> {
  const queueUrl = spec.changeFeed?.sqs.queueURL;
  if (queueUrl === undefined) return;
  const plan = planAwsAuth(spec, ctx);
  if (plan.referent) {
    throw new TerminalError('a change feed subscribes with the store\'s own identity; this ClusterSecretStore authenticates per ExternalSecret namespace (serviceAccountRef or secretRef without a namespace): give the identity a namespace');
  }
  const settings = { region: spec.region, endpoint: spec.endpoint, maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS };
  const session = buildAwsSession(spec, plan, { ctx, settings, clock: options.clock ?? ctx.clock, ...(options.defaultCredentials ? { defaultCredentials: options.defaultCredentials } : {}) });
  const sqs = new SQSClient({
    ...sdkClientConfig(settings),
    // The long poll holds the request open for LONG_POLL_SECONDS.
    requestHandler: { ...REQUEST_LIMITS, requestTimeout: (LONG_POLL_SECONDS + 10) * 1000 },
    retryMode: 'standard',
    credentials: session.credentials,
    // Requests go to the store's endpoint (or SQS's regional one), never to the host in the queue URL: a queue URL
    // is not where credentials are sent (the tenancy rules check the URL's host anyway).
    useQueueUrlAsEndpoint: false,
  });
  const call = <T>(action: string, send: () => Promise<T>) => awsCall({ action, identity: session.identity }, send);
  try {
    // Proves the identity may use the queue before saying connected (sqs:GetQueueAttributes).
    await call('sqs:GetQueueAttributes', () => sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }), { abortSignal: signal }));
    sink.connected();
    const store = { service: spec.service, prefix: spec.prefix ?? '' };
    const clock = options.clock ?? ctx.clock;
    let pauseMs = 0;
    while (!signal.aborted) {
      const asked = clock.now();
      const received = await call('sqs:ReceiveMessage', () =>
        sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: LONG_POLL_SECONDS }), { abortSignal: signal }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0 && clock.now() - asked < (LONG_POLL_SECONDS * 1000) / 2) {
        pauseMs = Math.min(pauseMs === 0 ? EARLY_EMPTY_PAUSE_MS.first : pauseMs * 2, EARLY_EMPTY_PAUSE_MS.max);
        await delay(systemTimers, pauseMs, signal);
        continue;
      }
      pauseMs = 0;
      if (messages.length === 0) continue;
      const notifications: ChangeNotification[] = [];
      for (const message of messages) {
        const change = changeFromEvent(message.Body ?? '', store);
        if (change) notifications.push(change);
      }
      if (messages.length > notifications.length) sink.ignored(messages.length - notifications.length);
      if (notifications.length > 0) await sink.deliver(notifications);
      // Everything received is handled now (irrelevant events too: left in the queue they would come back forever).
      await deleteAll(sqs, queueUrl, messages, signal, call);
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  } finally {
    sqs.destroy();
  }
}

async function deleteAll(sqs: SQSClient, queueUrl: string, messages: readonly Message[], signal: AbortSignal, call: <T>(action: string, send: () => Promise<T>) => Promise<T>): Promise<void> {
  const entries = messages.filter((m) => m.ReceiptHandle !== undefined).map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }));
  if (entries.length === 0) return;
  // A failed delete only means a redelivery after the visibility timeout: a duplicate, which the host ignores.
  await call('sqs:DeleteMessageBatch', () => sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }), { abortSignal: signal }));
}
