// The azurekv change feed: reads the Storage queue the store names (spec.provider.azurekv.changeFeed.storageQueue),
// to which an Event Grid subscription of the vault delivers Microsoft.KeyVault.* events, with the store's own
// identity — the same credential as its reads (workload identity, service principal, managed identity), asked for
// an Azure Storage token only — and deletes each message once the host has recorded it. Storage queues have no long
// poll: an empty queue is polled every IDLE_POLL_MS (about 2.6 million requests a month per store, a dollar or so;
// docs/change-feeds.md). Loaded with the first azurekv store that has a feed.
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { AzureKVProvider } from '../../api/types.generated.ts';
import { delay, systemTimers, type Timers } from '../../util/timers.ts';
import { TerminalError, type StoreContext } from '../provider.ts';
import type { ChangeFeedSink, ChangeNotification } from '../change-feed.ts';
import { createStoreCredential } from './credential.ts';
import { azureEndpoints, planAzureAuth } from './plan.ts';
import type { AzureSdk } from './sdk.ts';
import { changeFromQueueMessage } from './change-events.ts';

/** How long an empty queue waits before the next receive: rotations reach the cluster within about this. */
export const IDLE_POLL_MS = 1000;
/** The most messages one receive returns (the service's limit). */
export const RECEIVE_BATCH = 32;
/** How long a received message stays invisible to other readers; a crash before the delete redelivers it after this. */
export const VISIBILITY_TIMEOUT_SECONDS = 60;
/** The token scope of Azure Storage (data plane), in every cloud. */
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';

export interface QueueFeedOptions {
  readonly trustedCaPem?: string | undefined;
  readonly timers?: Timers | undefined;
}

export async function runQueueFeed(spec: AzureKVProvider, ctx: StoreContext, sink: ChangeFeedSink, signal: AbortSignal, sdk: AzureSdk, options: QueueFeedOptions): Promise<void> {
  const queueUrl = spec.changeFeed?.storageQueue.queueURL;
  if (queueUrl === undefined) return;
  const plan = planAzureAuth(spec, ctx);
  if (plan.referent) {
    throw new TerminalError("a change feed subscribes with the store's own identity; this ClusterSecretStore authenticates per ExternalSecret namespace (references without a namespace): give them a namespace");
  }
  const { QueueClient } = await import('@azure/storage-queue');
  const timers = options.timers ?? systemTimers;
  // Trust is per client: never process-wide.
  const agent = options.trustedCaPem ? new Agent({ ca: [...rootCertificates, options.trustedCaPem], keepAlive: true }) : undefined;
  const credential = createStoreCredential({ sdk, ctx, plan, agent, onlyScopes: [STORAGE_SCOPE] });
  // `agent` is passed through to the SDK's core pipeline (its StoragePipelineOptions type does not name it).
  const pipelineOptions = { retryOptions: { maxTries: 3 }, ...(agent ? { agent } : {}) };
  const queue = new QueueClient(queueUrl, credential, pipelineOptions);
  const { vaultUrl } = azureEndpoints(spec);
  const where = () => `queue ${queue.name} of account ${queue.accountName} as ${credential.identity()}`;
  try {
    let announced = false;
    while (!signal.aborted) {
      const received = await storageCall(where, 'receive messages from', () =>
        queue.receiveMessages({ numberOfMessages: RECEIVE_BATCH, visibilityTimeout: VISIBILITY_TIMEOUT_SECONDS, abortSignal: signal }),
      );
      // The first receive proves the identity may read the queue.
      if (!announced) {
        announced = true;
        sink.connected();
      }
      const messages = received.receivedMessageItems;
      if (messages.length === 0) {
        await delay(timers, IDLE_POLL_MS, signal);
        continue;
      }
      const notifications: ChangeNotification[] = [];
      for (const message of messages) {
        const change = changeFromQueueMessage(message.messageText, { vaultUrl });
        if (change) notifications.push(change);
      }
      if (messages.length > notifications.length) sink.ignored(messages.length - notifications.length);
      if (notifications.length > 0) await sink.deliver(notifications);
      // Everything received is handled now (irrelevant events too: left in the queue they would come back forever).
      // A failed delete only means a redelivery after the visibility timeout: a duplicate, which the host ignores.
      await Promise.all(
        messages.map((message) => storageCall(where, 'delete a message from', () => queue.deleteMessage(message.messageId, message.popReceipt, { abortSignal: signal }))),
      );
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  } finally {
    agent?.destroy();
  }
}

/** The service's refusals, said with what to fix; never the response body (it carries nothing of a value, but is long). */
async function storageCall<T>(where: () => string, action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const shape = error as { statusCode?: unknown; code?: unknown; name?: unknown };
    if (shape?.name === 'AbortError') throw error;
    const status = typeof shape?.statusCode === 'number' ? shape.statusCode : undefined;
    const code = typeof shape?.code === 'string' ? shape.code : undefined;
    if (status === undefined) throw error;
    const hint =
      status === 403
        ? ': give the identity the role Storage Queue Data Message Processor on the queue'
        : status === 404
          ? ': check changeFeed.storageQueue.queueURL (the queue must exist)'
          : '';
    throw new Error(`could not ${action} ${where()} (${status}${code ? ` ${code}` : ''})${hint}`, { cause: error });
  }
}
