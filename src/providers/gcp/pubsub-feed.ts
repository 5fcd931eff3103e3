// The gcpsm change feed: streaming-pulls the Pub/Sub subscription the store names
// (spec.provider.gcpsm.changeFeed.pubsub.subscription) with the store's own identity — the same credentials as its
// reads (GKE workload identity, federation, a key), its token on the stream — and acknowledges each message once the
// host has recorded it. Secret Manager publishes to the topics set on a secret; the subscription is on such a topic.
// Uses Google's own generated client (v1.SubscriberClient of @google-cloud/pubsub), loaded with the first feed.
import type { GcpsmProvider } from '../../api/types.generated.ts';
import { TerminalError, type StoreContext } from '../provider.ts';
import type { ChangeFeedSink, ChangeNotification } from '../change-feed.ts';
import { createGcpCredentials, gkeMetadataLookup, type MetadataLookup } from './credentials.ts';
import { planGcpAuth, tokenEndpoints } from './plan.ts';
import type { GcpSdk } from './sdk.ts';
import { changeFromPubSubMessage } from './change-events.ts';
import type { Clock } from '../../util/clock.ts';
import { delay, systemTimers, type Timers } from '../../util/timers.ts';

/** Pub/Sub's default endpoint. */
export const PUBSUB_ENDPOINT = 'https://pubsub.googleapis.com';
/** How long a delivered message is ours before Pub/Sub redelivers it (the stream's ack deadline). */
export const STREAM_ACK_DEADLINE_SECONDS = 60;
/**
 * Pub/Sub says nothing on a stream until a message arrives, but refuses a missing subscription or a missing
 * permission at once: a stream open this long is taken as connected.
 */
export const CONNECTED_AFTER_MS = 1000;
/**
 * Pub/Sub closes a stream after minutes; one closed sooner than this (by something between, or a server in trouble)
 * is reopened after a pause, 1 s doubling to 1 min, not at once: a stream cut a second after each opening would
 * otherwise be reopened every second for good. A stream that lived this long resets the pause.
 */
export const SHORT_STREAM_MS = 30_000;
export const SHORT_STREAM_PAUSE_MS = { first: 1_000, max: 60_000 } as const;

export interface PubSubFeedDeps {
  readonly sdk: GcpSdk;
  readonly clock: Clock;
  readonly metadata?: MetadataLookup | undefined;
  readonly timers?: Timers | undefined;
}

interface StreamingPullResponse {
  readonly receivedMessages?: readonly { ackId?: string | null; message?: { messageId?: string | null; attributes?: Record<string, string> | null; publishTime?: { seconds?: unknown; nanos?: number | null } | null } | null }[] | null;
}

export async function runPubSubFeed(spec: GcpsmProvider, ctx: StoreContext, sink: ChangeFeedSink, signal: AbortSignal, deps: PubSubFeedDeps): Promise<void> {
  const subscription = spec.changeFeed?.pubsub.subscription;
  if (subscription === undefined) return;
  const { plan, referent } = planGcpAuth(spec, ctx);
  if (referent) {
    throw new TerminalError("a change feed subscribes with the store's own identity; this ClusterSecretStore authenticates per ExternalSecret namespace (serviceAccountRef or secretRef without a namespace): give it a namespace");
  }
  const endpoints = tokenEndpoints(spec);
  const credentials = createGcpCredentials(plan, { ctx, clock: deps.clock, sdk: deps.sdk.auth, tokenUrl: endpoints.tokenUrl, iamCredentials: endpoints.iamCredentials, metadata: deps.metadata ?? gkeMetadataLookup() });
  const url = new URL(spec.endpoints?.pubsub ?? PUBSUB_ENDPOINT);
  const secure = url.protocol === 'https:';
  const { v1 } = await import('@google-cloud/pubsub');
  const client = new v1.SubscriberClient({
    apiEndpoint: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    // Channel credentials only: the store's token goes on the stream, never the process's default credentials.
    sslCreds: secure ? deps.sdk.grpcCredentials.createSsl() : deps.sdk.grpcCredentials.createInsecure(),
    authClient: new deps.sdk.auth.OAuth2Client(),
    projectId: spec.projectID ?? '',
  });
  const store = { projectID: spec.projectID ?? '', location: spec.location };
  try {
    let announced = false;
    let pauseMs = 0;
    while (!signal.aborted) {
      const token = await credentials.token(signal);
      const openedAt = deps.clock.now();
      const ended = await pullUntilEnded(client, subscription, token, signal, store, sink, () => {
        if (!announced) sink.connected();
        announced = true;
      });
      if (signal.aborted) break;
      // Pub/Sub closes streams from time to time (OK or UNAVAILABLE): a stream that was open opens again, with a
      // fresh token (after a pause when it lived less than SHORT_STREAM_MS). One that fails at once (unreachable,
      // refused) goes to the host's backoff and status.
      if (!ended.opened || (ended.code !== 0 && ended.code !== 14)) {
        if (ended.code === 16) credentials.invalidate();
        throw new Error(`the Pub/Sub streaming pull of ${subscription} as ${credentials.identity} failed: ${ended.message}${pubsubFailureHint(ended.code)}`);
      }
      if (deps.clock.now() - openedAt < SHORT_STREAM_MS) {
        pauseMs = Math.min(pauseMs === 0 ? SHORT_STREAM_PAUSE_MS.first : pauseMs * 2, SHORT_STREAM_PAUSE_MS.max);
        await delay(deps.timers ?? systemTimers, pauseMs, signal);
      } else {
        pauseMs = 0;
      }
    }
  } finally {
    await client.close().catch(() => {});
  }
}

/** What to do about a streaming pull that ended with this gRPC status. Pure. */
export function pubsubFailureHint(code: number): string {
  if (code === 5) return ' (the subscription does not exist: create it on a topic the secrets publish to)';
  // An identity granted on one subscription only is refused (not told "not found") for a mistyped name.
  if (code === 7) return ' (check changeFeed.pubsub.subscription — a subscription that does not exist is refused the same way — and grant the identity roles/pubsub.subscriber on it)';
  if (code === 16) return ' (the token was refused)';
  return '';
}

type Subscriber = InstanceType<(typeof import('@google-cloud/pubsub'))['v1']['SubscriberClient']>;

/** One StreamingPull stream until it ends: resolves with its status (the signal's abort counts as OK). */
function pullUntilEnded(
  client: Subscriber,
  subscription: string,
  token: string,
  signal: AbortSignal,
  store: { projectID: string; location: string | undefined },
  sink: ChangeFeedSink,
  opened: () => void,
): Promise<{ code: number; message: string; opened: boolean }> {
  return new Promise((resolve) => {
    let wasOpen = false;
    const stream = client.streamingPull({ otherArgs: { headers: { authorization: `Bearer ${token}` } } });
    let done = false;
    const finish = (result: { code: number; message: string }) => {
      if (done) return;
      done = true;
      clearTimeout(openTimer);
      signal.removeEventListener('abort', onAbort);
      stream.removeAllListeners('data');
      stream.on('error', () => {});
      stream.cancel();
      resolve({ ...result, opened: wasOpen });
    };
    const onAbort = () => finish({ code: 0, message: 'stopped' });
    signal.addEventListener('abort', onAbort, { once: true });
    const markOpen = () => {
      wasOpen = true;
      opened();
    };
    const openTimer = setTimeout(markOpen, CONNECTED_AFTER_MS);
    openTimer.unref();
    // Messages are handled one response at a time, in order: a response waits for the one before it.
    let chain = Promise.resolve();
    stream.on('data', (response: StreamingPullResponse) => {
      chain = chain.then(async () => {
        const received = response.receivedMessages ?? [];
        if (received.length === 0 || done) return;
        markOpen();
        const notifications: ChangeNotification[] = [];
        for (const item of received) {
          const message = item.message ?? {};
          const seconds = Number(message.publishTime?.seconds ?? NaN);
          const change = changeFromPubSubMessage({ messageId: message.messageId, attributes: message.attributes, publishTime: Number.isFinite(seconds) ? seconds * 1000 + Math.floor((message.publishTime?.nanos ?? 0) / 1e6) : undefined }, store);
          if (change) notifications.push(change);
        }
        if (received.length > notifications.length) sink.ignored(received.length - notifications.length);
        if (notifications.length > 0) await sink.deliver(notifications);
        // Everything received is handled (irrelevant messages too: unacknowledged they would come back forever).
        // A lost ack only means a redelivery after the deadline: a duplicate, which the host ignores.
        const ackIds = received.map((r) => r.ackId).filter((id): id is string => typeof id === 'string' && id.length > 0);
        if (ackIds.length > 0 && !done) stream.write({ ackIds });
      }).catch((error: unknown) => finish({ code: 13, message: error instanceof Error ? error.message : String(error) }));
    });
    stream.on('error', (error: { code?: number; details?: string; message?: string }) => finish({ code: typeof error.code === 'number' ? error.code : 13, message: error.details ?? error.message ?? 'stream error' }));
    stream.on('end', () => finish({ code: 0, message: 'the stream ended' }));
    stream.write({ subscription, streamAckDeadlineSeconds: STREAM_ACK_DEADLINE_SECONDS });
  });
}
