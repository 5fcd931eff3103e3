// The alibaba change feed: long-polls the Simple Message Queue (formerly MNS) queue the store names
// (spec.provider.alibaba.changeFeed.queue), to which an EventBridge rule sends KMS's ActionTrail events, with the
// store's own identity — the same RRSA session (STS AssumeRoleWithOIDC for the store's ServiceAccount) or AccessKey
// as its reads — and deletes each message once the host has recorded it. Alibaba's official Node client
// @alicloud/mns signs each request (MNS HMAC-SHA1, the STS token in `security-token`); a client is built per
// credentials, so a renewed session signs with its own three parts. One message per receive: the RAM actions are
// then mns:ReceiveMessage and mns:DeleteMessage, nothing more. Loaded with the first alibaba store that has a feed.
import type { AlibabaProvider } from '../../api/types.generated.ts';
import type { ChangeFeedSink } from '../change-feed.ts';
import { TerminalError, type StoreContext } from '../provider.ts';
import { createAlibabaSession, planAlibabaAuth, type AlibabaSessionDeps } from './auth.ts';
import { changeFromQueueMessage } from './feed-events.ts';
import type { AlibabaCredentials } from './sdk.ts';
import { delay, systemTimers, type Timers } from '../../util/timers.ts';

/** The long poll's wait (MNS allows 30 s): one request per 20 s per store while nothing changes (about 130,000 a month). */
export const LONG_POLL_SECONDS = 20;
/**
 * MNS caps concurrent long polls (by request count, wait and source address) and past the cap answers an empty
 * MessageNotExist at once, without holding the request (ReceiveMessage's reference). Such an answer — one back in
 * under half its wait — is followed by a pause, doubling from the first to the last, so the feed does not spin on
 * billed requests; any message or a receive that did wait resets it.
 */
export const EARLY_EMPTY_PAUSE_MS = { first: 1_000, max: LONG_POLL_SECONDS * 1000 } as const;
/**
 * Per-request limits. The client (httpx) also uses connectTimeout as the socket's idle timeout, so both must outlast
 * the long poll's silence.
 */
const LIMITS = { connectTimeout: (LONG_POLL_SECONDS + 10) * 1000, readTimeout: (LONG_POLL_SECONDS + 10) * 1000 } as const;

export interface QueueRef {
  /** Origin the requests go to (https://ACCOUNT.mns.REGION.aliyuncs.com). */
  readonly endpoint: string;
  readonly name: string;
  /** The account ID of an Alibaba host (the client requires one; unused with an explicit endpoint). */
  readonly accountId: string;
}

/** The endpoint and queue name of a queue URL (the CRD's pattern has checked its shape). Pure. */
export function parseQueueUrl(queueURL: string): QueueRef {
  const url = new URL(queueURL);
  const name = url.pathname.replace(/^\/queues\//, '').replace(/\/$/, '');
  return { endpoint: url.origin, name, accountId: /^(\d+)\.mns\./.exec(url.hostname)?.[1] ?? 'custom-endpoint' };
}

interface MnsAnswer {
  readonly code: number;
  readonly body?: Record<string, unknown> | undefined;
}

/** The part of @alicloud/mns's Client the feed uses: its own signed request, with our per-request options. */
interface MnsClientShape {
  request(method: string, resource: string, type: string, body: string, attentions: string[], opts: Record<string, unknown>): Promise<MnsAnswer>;
}
type MnsClientClass = new (accountId: string, opts: Record<string, unknown>) => MnsClientShape;

export interface MnsFeedDeps extends Omit<AlibabaSessionDeps, 'ctx' | 'regionId'> {
  /** Loads @alicloud/mns's Client (tests may replace it). */
  readonly loadMnsClient?: (() => Promise<MnsClientClass>) | undefined;
  /** For the pause after an empty answer that did not wait; default the real ones. */
  readonly timers?: Timers | undefined;
}

/** An MNS error answer: its code (QueueNotExist …) and HTTP status, from the client's error or a non-XML answer. */
class MnsCallError extends Error {
  readonly code: string | undefined;
  readonly status: number | undefined;
  constructor(code: string | undefined, status: number | undefined) {
    super(`${status ?? 'no answer'}${code ? ` ${code}` : ''}`);
    this.code = code;
    this.status = status;
  }
}

/** @alicloud/mns names its errors "MNS" + Code + "Error" and says the status in the message; never keep its text (it holds the URL). */
function asCallError(error: unknown): unknown {
  const shape = error as { name?: unknown; message?: unknown };
  const name = typeof shape?.name === 'string' ? shape.name : '';
  const match = /^MNS(\w+)Error$/.exec(name);
  if (!match) return error;
  const status = Number(/failed with (\d{3})/.exec(typeof shape.message === 'string' ? shape.message : '')?.[1] ?? NaN);
  return new MnsCallError(match[1], Number.isFinite(status) ? status : undefined);
}

/** A receive that found nothing within its wait. */
const EMPTY: ReadonlySet<string> = new Set(['MessageNotExist']);
/** A delete after the visibility timeout: the message will come again (a duplicate). */
const STALE_RECEIPT: ReadonlySet<string> = new Set(['MessageNotExist', 'ReceiptHandleError']);
/**
 * Refusals that may mean stale credentials. How Simple Message Queue refuses an expired or mismatched STS token is
 * published nowhere (not in its error table, not in the official SDKs), so any 403 counts — an expired session's
 * AccessKeyId may well be "not exist" (InvalidAccessKeyId) — beside the names the fakes use; the cost of a renewal
 * on a real refusal (AccessDenied) is one STS exchange (or one read of the key's Secret) before it is reported.
 */
const maybeStaleCredentials = (error: MnsCallError) => error.status === 403 || ['SecurityTokenExpired', 'InvalidSecurityToken', 'SecurityTokenMismatch'].includes(error.code ?? '');

export async function runMnsFeed(spec: AlibabaProvider, ctx: StoreContext, sink: ChangeFeedSink, signal: AbortSignal, deps: MnsFeedDeps): Promise<void> {
  const queueURL = spec.changeFeed?.queue.queueURL;
  if (queueURL === undefined) return;
  const plan = planAlibabaAuth(spec, ctx);
  if (plan.referent) {
    throw new TerminalError("a change feed subscribes with the store's own identity; this ClusterSecretStore authenticates per ExternalSecret namespace (references without a namespace): give them a namespace");
  }
  const queue = parseQueueUrl(queueURL);
  const session = createAlibabaSession(plan, { ...deps, ctx, regionId: spec.regionID });
  const Client = await (deps.loadMnsClient ?? loadMnsClient)();
  let client: { credentials: AlibabaCredentials; mns: MnsClientShape } | undefined;
  const clientFor = (credentials: AlibabaCredentials): MnsClientShape => {
    if (client?.credentials !== credentials) {
      client = {
        credentials,
        mns: new Client(queue.accountId, {
          endpoint: queue.endpoint,
          accessKeyId: credentials.accessKeyId,
          accessKeySecret: credentials.accessKeySecret,
          ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
        }),
      };
    }
    return client.mns;
  };
  const where = `queue ${queue.name} at ${queue.endpoint} as ${session.identity}`;
  const opts = { ...LIMITS, beforeRequest: (options: Record<string, unknown>) => ({ ...options, signal }) };

  /**
   * One signed request; a refusal that may be stale credentials renews them and retries once. `tolerated` refusals
   * (by code) are thrown as they are, the others with what to fix.
   */
  const call = async (action: string, method: string, resource: string, type: string, tolerated: ReadonlySet<string>): Promise<MnsAnswer> => {
    const attempt = async () => {
      const credentials = await session.credentials.get(signal);
      let answer: MnsAnswer;
      try {
        answer = await clientFor(credentials).request(method, resource, type, '', [], { ...opts });
      } catch (error) {
        throw asCallError(error);
      }
      // The client returns a non-XML error answer (a proxy's 502) as if it were one.
      if (answer.code >= 400) throw new MnsCallError(undefined, answer.code);
      return answer;
    };
    try {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof MnsCallError) || !maybeStaleCredentials(error)) throw error;
        session.credentials.invalidate();
        return await attempt();
      }
    } catch (error) {
      if (!(error instanceof MnsCallError) || tolerated.has(error.code ?? '')) throw error;
      throw new Error(`could not ${action} on ${where} (${error.message})${hint(error, queue, spec.regionID)}`);
    }
  };

  try {
    let announced = false;
    let pauseMs = 0;
    const resource = `/queues/${queue.name}/messages`;
    while (!signal.aborted) {
      let message: Record<string, unknown> | undefined;
      // The first receive does not wait, so the store says connected at once, not after a long poll's silence.
      const wait = announced ? LONG_POLL_SECONDS : 0;
      // Real elapsed time of the request (not the injected clock, which may stand still in tests of credential expiry).
      const asked = performance.now();
      try {
        message = (await call('mns:ReceiveMessage', 'GET', `${resource}?waitseconds=${wait}`, 'Message', EMPTY)).body;
      } catch (error) {
        if (!(error instanceof MnsCallError)) throw error;
        message = undefined; // MessageNotExist: the long poll ended with nothing.
      }
      if (message === undefined && wait > 0 && performance.now() - asked < (wait * 1000) / 2) {
        pauseMs = Math.min(pauseMs === 0 ? EARLY_EMPTY_PAUSE_MS.first : pauseMs * 2, EARLY_EMPTY_PAUSE_MS.max);
        await delay(deps.timers ?? systemTimers, pauseMs, signal);
      } else {
        pauseMs = 0;
      }
      // An answer proves the identity may read the queue (MNS authenticates and authorizes before it looks).
      if (!announced) {
        announced = true;
        sink.connected();
      }
      const receipt = typeof message?.['ReceiptHandle'] === 'string' ? message['ReceiptHandle'] : undefined;
      if (!message || receipt === undefined) continue;
      const body = typeof message['MessageBody'] === 'string' ? message['MessageBody'] : '';
      const change = changeFromQueueMessage(body, { regionId: spec.regionID });
      if (change) await sink.deliver([change]);
      else sink.ignored(1);
      // Handled now (an irrelevant event too: left in the queue it would come back forever). A failed delete only
      // means a redelivery after the visibility timeout: a duplicate, which the host recognises.
      try {
        await call('mns:DeleteMessage', 'DELETE', `${resource}?ReceiptHandle=${encodeURIComponent(receipt)}`, 'Message', STALE_RECEIPT);
      } catch (error) {
        if (!(error instanceof MnsCallError)) throw error;
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
}

/** What to do about a refusal, said where the user looks (the store's status and Event). */
function hint(error: MnsCallError, queue: QueueRef, region: string): string {
  if (error.code === 'QueueNotExist') return ': check changeFeed.queue.queueURL (the queue must exist)';
  if (error.code === 'AccessDenied') {
    return `: allow mns:ReceiveMessage and mns:DeleteMessage on acs:mns:${region}:${queue.accountId}:/queues/${queue.name}/messages to that identity (RAM policy)`;
  }
  if (error.code === 'SignatureDoesNotMatch' || error.code === 'InvalidAccessKeyId') return ": check the store's AccessKey (or the role's session)";
  if (error.code === 'TimeExpired') return ': the clock of this node is more than 15 minutes off';
  return '';
}

async function loadMnsClient(): Promise<MnsClientClass> {
  return (await import('@alicloud/mns')).default;
}
