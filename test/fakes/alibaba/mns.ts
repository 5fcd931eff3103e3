// A faithful fake of Alibaba Cloud Simple Message Queue (formerly MNS), the queue data plane the alibaba change feed
// reads, since no emulator exists. It speaks the REST/XML wire format of API version 2015-06-06 and refuses what the
// service refuses:
// - every request signed "Authorization: MNS AccessKeyId:Signature", Signature = base64(HMAC-SHA1(AccessKeySecret,
//   VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedMNSHeaders CanonicalizedResource)) where the
//   x-mns-* headers are lower-cased, sorted and written "name:value\n" and the resource is the path with its query
//   as sent — checked in full (written from the documentation, not from an SDK); x-mns-version 2015-06-06 required;
//   a Date more than 15 minutes off → TimeExpired; unknown AccessKeyId → InvalidAccessKeyId; STS credentials (issued
//   by the KMS/STS fake, server.ts) need their own SecurityToken in the `security-token` header and stop working
//   when it expires; a RAM policy per identity (mns:ReceiveMessage … on the queue name) → AccessDenied.
// - queues: create, get attributes, delete; messages: send (single and batch), receive (single and batch, long
//   polling with waitseconds up to 30 or the queue's PollingWaitSeconds), peek, delete (single by ReceiptHandle and
//   batch), change visibility. A received message is invisible for the queue's VisibilityTimeout and comes back
//   (DequeueCount + 1, a new ReceiptHandle) unless deleted; an old ReceiptHandle no longer works. The service caps
//   concurrent long polls (by request count, wait and source address; ReceiveMessage's reference): past the cap a
//   receive that would wait answers MessageNotExist at once — limitLongPolls sets the cap (none by default).
// - errors as <Error><Code/><Message/><RequestId/><HostId/></Error> with the HTTP status of the service's error table
//   (alibabacloud.com/help/en/mns/error-codes): QueueNotExist 404, MessageNotExist 404 (also an empty receive),
//   ReceiptHandleError 400, InvalidArgument 400, QueueAlreadyExist 409, InvalidDegist 400 (a Content-MD5 that is not
//   the body's), SignatureDoesNotMatch 403, TimeExpired 408, AccessDenied 403, InvalidAccessKeyId 403.
// Neither that table nor the official SDKs (Python, Node, .NET, whose MNSErrorCode lists every code they know) name a
// code for an expired or mismatched STS token; the fake answers them 403 SecurityTokenExpired / InvalidSecurityToken,
// so a client must treat any other 403 as "renew the session or give up".
// Plain http on loopback: both SDKs take an http endpoint.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
// The KMS/STS fake's error (an HTTP status and the service's code): MNS answers it as XML instead of JSON.
import { AlibabaError as MnsError, type Allow, type FakeCredential } from './server.ts';

export const MNS_VERSION = '2015-06-06';
const NS = 'http://mns.aliyuncs.com/doc/v1/';
/** The service accepts a Date within 15 minutes of its clock. */
export const DATE_WINDOW_MS = 15 * 60_000;
export const MAX_WAIT_SECONDS = 30;
export const MAX_BATCH = 16;

export interface FakeQueueAttributes {
  /** Seconds a received message stays invisible (1–43200; default 30). */
  visibilityTimeout?: number;
  /** Long-poll wait of a receive that names none (0–30; default 0). */
  pollingWaitSeconds?: number;
  /** Seconds a sent message waits before it is visible (default 0). */
  delaySeconds?: number;
  /** Bytes (default 65536). */
  maximumMessageSize?: number;
}

interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly bodyMd5: string;
  readonly priority: number;
  readonly enqueueTime: number;
  firstDequeueTime: number;
  nextVisibleTime: number;
  dequeueCount: number;
  /** The only ReceiptHandle that works now (the last receive's). */
  receiptHandle: string | undefined;
}

interface FakeQueue {
  readonly name: string;
  readonly attributes: Required<FakeQueueAttributes>;
  readonly createTime: number;
  readonly messages: StoredMessage[];
}

export interface MnsRequest {
  /** e.g. mns:ReceiveMessage */
  readonly action: string;
  readonly queue: string | undefined;
  readonly principal: string | undefined;
  readonly refused: string | undefined;
}

export interface MnsFake {
  /** http://127.0.0.1:PORT — what stands for https://ACCOUNT.mns.REGION.aliyuncs.com. */
  readonly endpoint: string;
  readonly requests: MnsRequest[];
  /** Answered (not refused) requests of `action`, optionally on one queue. */
  count(action: string, queue?: string): number;
  createQueue(name: string, attributes?: FakeQueueAttributes): void;
  deleteQueue(name: string): void;
  /** Sends as SendMessage would (EventBridge's MNS target does); returns the MessageId. */
  send(queue: string, body: string): string;
  /** Messages in the queue, visible or not. */
  depth(queue: string): number;
  /** The queue's URL as the console shows it (endpoint + /queues/NAME). */
  queueUrl(name: string): string;
  /** At most `max` receives wait at once; past it an empty receive answers MessageNotExist without waiting. */
  limitLongPolls(max: number | undefined): void;
  /**
   * Refuses the next `times` requests of `action` (e.g. mns:ReceiveMessage) with this status and code, after the
   * signature check: how the service refuses an expired STS token is not published, so a client is tried on others.
   */
  inject(fault: { action: string; status: number; code: string; times: number }): void;
  stop(): Promise<void>;
}

export interface MnsFakeOptions {
  /** Resolves an AccessKeyId to its secret, session token and RAM policy (the KMS/STS fake's `credential`). */
  readonly credential: (accessKeyId: string) => FakeCredential | undefined;
  readonly clock?: () => number;
  readonly host?: string;
}

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
const unescapeXml = (text: string) =>
  text.replace(/&(lt|gt|amp|apos|quot|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'apos' ? "'" : e === 'quot' ? '"' : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
/** Every <name>text</name> in `xml` (flat elements only: what the message APIs send). */
const elements = (xml: string, name: string): string[] => [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => unescapeXml(m[1]!));
const element = (xml: string, name: string): string | undefined => elements(xml, name)[0];
const xml = (root: string, fields: Record<string, string | number>) =>
  `<${root}>${Object.entries(fields).map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('')}</${root}>`;
const document = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body.replace(/^<(\w+)>/, `<$1 xmlns="${NS}">`)}`;

/**
 * A query parameter by name, whatever its case: the documentation writes receiptHandle/visibilityTimeout, the Python
 * SDK sends ReceiptHandle/VisibilityTimeout, and the service takes both.
 */
const param = (query: URLSearchParams, name: string): string | undefined => {
  for (const [key, value] of query) if (key.toLowerCase() === name.toLowerCase()) return value;
  return undefined;
};

/** The string MNS signs, from the documentation. */
export function mnsStringToSign(method: string, headers: Readonly<Record<string, string>>, resource: string): string {
  const mnsHeaders = Object.keys(headers)
    .filter((name) => name.startsWith('x-mns-'))
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join('');
  return `${method}\n${headers['content-md5'] ?? ''}\n${headers['content-type'] ?? ''}\n${headers['date'] ?? ''}\n${mnsHeaders}${resource}`;
}

export function mnsSignature(method: string, headers: Readonly<Record<string, string>>, resource: string, accessKeySecret: string): string {
  return createHmac('sha1', accessKeySecret).update(mnsStringToSign(method, headers, resource), 'utf8').digest('base64');
}

export async function startMnsFake(options: MnsFakeOptions): Promise<MnsFake> {
  const now = options.clock ?? Date.now;
  const queues = new Map<string, FakeQueue>();
  const requests: MnsRequest[] = [];
  /** Receives waiting for a message (long polling), woken by a send or a visibility change. */
  const waiters = new Set<() => void>();
  let maxLongPolls: number | undefined;
  const faults: { action: string; status: number; code: string; times: number }[] = [];
  let longPolls = 0;
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };

  function authenticate(method: string, resource: string, headers: Readonly<Record<string, string>>): { principal: string; allow: Allow; md5: string | undefined } {
    const authorization = headers['authorization'];
    if (!authorization) throw new MnsError(400, 'MissingAuthorizationHeader', 'Authorization header is required.');
    const match = /^MNS ([^:\s]+):([A-Za-z0-9+/=]+)$/.exec(authorization);
    if (!match) throw new MnsError(400, 'InvalidAuthorizationHeader', 'The Authorization header format is invalid.');
    // The codes of Alibaba's .NET MNS SDK (MNSErrorCode); 400 as every Missing*/Invalid* header error in the table.
    if (headers['x-mns-version'] === undefined) throw new MnsError(400, 'MissingVersionHeader', 'Version header is required.');
    if (headers['x-mns-version'] !== MNS_VERSION) throw new MnsError(400, 'InvalidVersionHeader', 'The x-mns-version header must be 2015-06-06.');
    const date = headers['date'];
    if (!date) throw new MnsError(400, 'MissingDateHeader', 'Date header is required.');
    const at = Date.parse(date);
    if (!/GMT$/.test(date) || !Number.isFinite(at)) throw new MnsError(400, 'InvalidDateHeader', 'The Date header format is invalid.');
    // 408, as the service's error table has it.
    if (Math.abs(now() - at) > DATE_WINDOW_MS) throw new MnsError(408, 'TimeExpired', 'The http request you sent is expired.');
    const [, accessKeyId, sent] = match;
    const credential = options.credential(accessKeyId!);
    if (!credential) throw new MnsError(403, 'InvalidAccessKeyId', 'The AccessKey Id you provided is not exist.');
    const expected = Buffer.from(mnsSignature(method, headers, resource, credential.secret));
    const given = Buffer.from(sent!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new MnsError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    const token = headers['security-token'];
    return { ...authorized(credential, token), md5: headers['content-md5'] };
  }

  function authorized(credential: FakeCredential, token: string | undefined): { principal: string; allow: Allow } {
    if (credential.securityToken !== undefined) {
      if (token !== credential.securityToken) throw new MnsError(403, 'InvalidSecurityToken', 'The security token you provided is not valid.');
      if (credential.expiresAt !== undefined && credential.expiresAt <= now()) throw new MnsError(403, 'SecurityTokenExpired', 'The security token you provided has expired.');
    } else if (token) {
      throw new MnsError(403, 'InvalidSecurityToken', 'The security token you provided is not valid.');
    }
    return { principal: credential.principal, allow: credential.allow };
  }

  const queueOr404 = (name: string): FakeQueue => {
    const queue = queues.get(name);
    if (!queue) throw new MnsError(404, 'QueueNotExist', 'The queue name you provided is not exist.');
    return queue;
  };

  const intIn = (value: string | undefined, name: string, low: number, high: number, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < low || n > high) throw new MnsError(400, 'InvalidArgument', `The value of ${name} should between ${low} and ${high} seconds/bytes.`);
    return n;
  };

  function visible(queue: FakeQueue): StoredMessage[] {
    const at = now();
    return queue.messages.filter((m) => m.nextVisibleTime <= at).sort((a, b) => a.priority - b.priority || a.enqueueTime - b.enqueueTime);
  }

  function receiveNow(queue: FakeQueue, count: number): StoredMessage[] {
    const at = now();
    const taken = visible(queue).slice(0, count);
    for (const message of taken) {
      message.dequeueCount++;
      if (message.firstDequeueTime === 0) message.firstDequeueTime = at;
      message.nextVisibleTime = at + queue.attributes.visibilityTimeout * 1000;
      message.receiptHandle = `${message.id}-${randomBytes(12).toString('hex').toUpperCase()}`;
    }
    return taken;
  }

  /** Waits up to `seconds` for a visible message (long polling), then receives. */
  async function receive(queue: FakeQueue, count: number, seconds: number, gone: AbortSignal): Promise<StoredMessage[]> {
    const first = receiveNow(queue, count);
    if (first.length > 0 || seconds === 0) return first;
    // Over the cap of concurrent long polls: empty at once, without holding the request.
    if (maxLongPolls !== undefined && longPolls >= maxLongPolls) return [];
    longPolls++;
    try {
      return await longPoll(queue, count, seconds, gone);
    } finally {
      longPolls--;
    }
  }

  async function longPoll(queue: FakeQueue, count: number, seconds: number, gone: AbortSignal): Promise<StoredMessage[]> {
    const deadline = now() + seconds * 1000;
    for (;;) {
      if (!queues.has(queue.name)) throw new MnsError(404, 'QueueNotExist', 'The queue name you provided is not exist.');
      const got = receiveNow(queue, count);
      if (got.length > 0 || now() >= deadline || gone.aborted) return got;
      const nextVisible = Math.min(...queue.messages.map((m) => m.nextVisibleTime), deadline);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          gone.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(5, nextVisible - now()));
        waiters.add(done);
        gone.addEventListener('abort', done, { once: true });
      });
    }
  }

  const messageXml = (m: StoredMessage, withReceipt: boolean) =>
    xml('Message', {
      MessageId: m.id,
      ...(withReceipt ? { ReceiptHandle: m.receiptHandle! } : {}),
      MessageBodyMD5: m.bodyMd5,
      MessageBody: m.body,
      EnqueueTime: m.enqueueTime,
      NextVisibleTime: m.nextVisibleTime,
      FirstDequeueTime: m.firstDequeueTime,
      DequeueCount: m.dequeueCount,
      Priority: m.priority,
    });

  function enqueue(queue: FakeQueue, body: string, delaySeconds: number | undefined, priority: number | undefined): StoredMessage {
    if (Buffer.byteLength(body) > queue.attributes.maximumMessageSize) throw new MnsError(400, 'InvalidArgument', 'The message body is too long.');
    const at = now();
    const message: StoredMessage = {
      id: randomBytes(16).toString('hex').toUpperCase(),
      body,
      bodyMd5: createHash('md5').update(body, 'utf8').digest('hex').toUpperCase(),
      priority: priority ?? 8,
      enqueueTime: at,
      firstDequeueTime: 0,
      nextVisibleTime: at + (delaySeconds ?? queue.attributes.delaySeconds) * 1000,
      dequeueCount: 0,
      receiptHandle: undefined,
    };
    queue.messages.push(message);
    wake();
    return message;
  }

  /** Deletes by ReceiptHandle: unknown shape → ReceiptHandleError; not the current handle → MessageNotExist. */
  function deleteByHandle(queue: FakeQueue, handle: string): void {
    if (!/^[0-9A-F]{32}-[0-9A-F]{24}$/.test(handle)) throw new MnsError(400, 'ReceiptHandleError', 'The receipt handle you provide is not valid.');
    const index = queue.messages.findIndex((m) => m.receiptHandle === handle && m.nextVisibleTime > now());
    if (index < 0) throw new MnsError(404, 'MessageNotExist', 'Message not exist.');
    queue.messages.splice(index, 1);
  }

  interface Answer {
    readonly status: number;
    readonly body?: string;
    readonly headers?: Record<string, string>;
  }

  async function route(method: string, path: string, query: URLSearchParams, body: string, permitted: (action: string, queue: string) => void, gone: AbortSignal): Promise<Answer> {
    const match = /^\/queues\/([^/]+)(\/messages)?$/.exec(path);
    if (!match) throw new MnsError(400, 'InvalidRequestURL', 'Http request URL format invalid.');
    const name = decodeURIComponent(match[1]!);
    if (!/^[A-Za-z][A-Za-z0-9-]{0,119}$/.test(name)) throw new MnsError(400, 'InvalidArgument', 'The queue name you provided is not valid.');
    if (!match[2]) {
      if (method === 'PUT' && !query.has('metaoverride')) {
        permitted('CreateQueue', name);
        if (queues.has(name)) throw new MnsError(409, 'QueueAlreadyExist', 'The queue you want to create is already exist.');
        const a = (field: string) => element(body, field);
        queues.set(name, {
          name,
          createTime: now(),
          messages: [],
          attributes: {
            visibilityTimeout: intIn(a('VisibilityTimeout'), 'VisibilityTimeout', 1, 43200, 30),
            pollingWaitSeconds: intIn(a('PollingWaitSeconds'), 'PollingWaitSeconds', 0, 30, 0),
            delaySeconds: intIn(a('DelaySeconds'), 'DelaySeconds', 0, 604800, 0),
            maximumMessageSize: intIn(a('MaximumMessageSize'), 'MaximumMessageSize', 1024, 65536, 65536),
          },
        });
        return { status: 201, headers: { location: `${endpoint}/queues/${name}` } };
      }
      if (method === 'GET') {
        permitted('GetQueueAttributes', name);
        const queue = queueOr404(name);
        const at = now();
        return {
          status: 200,
          body: xml('Queue', {
            QueueName: name,
            CreateTime: Math.floor(queue.createTime / 1000),
            LastModifyTime: Math.floor(queue.createTime / 1000),
            VisibilityTimeout: queue.attributes.visibilityTimeout,
            MaximumMessageSize: queue.attributes.maximumMessageSize,
            MessageRetentionPeriod: 345600,
            DelaySeconds: queue.attributes.delaySeconds,
            PollingWaitSeconds: queue.attributes.pollingWaitSeconds,
            ActiveMessages: queue.messages.filter((m) => m.nextVisibleTime <= at).length,
            InactiveMessages: queue.messages.filter((m) => m.nextVisibleTime > at && m.dequeueCount > 0).length,
            DelayMessages: queue.messages.filter((m) => m.nextVisibleTime > at && m.dequeueCount === 0).length,
            LoggingEnabled: 'False',
          }),
        };
      }
      if (method === 'DELETE') {
        permitted('DeleteQueue', name);
        queues.delete(name);
        wake();
        return { status: 204 };
      }
      throw new MnsError(400, 'InvalidRequestURL', 'Http request URL format invalid.');
    }

    const queue = queueOr404(name);
    if (method === 'POST') {
      const batch = body.includes('<Messages');
      permitted(batch ? 'BatchSendMessage' : 'SendMessage', name);
      const sent = (batch ? [...body.matchAll(/<Message>([\s\S]*?)<\/Message>/g)].map((m) => m[1]!) : [body]).map((item) => {
        const text = element(item, 'MessageBody');
        if (text === undefined) throw new MnsError(400, 'InvalidArgument', 'The message body is required.');
        const delay = element(item, 'DelaySeconds');
        const priority = element(item, 'Priority');
        return enqueue(queue, text, delay === undefined ? undefined : intIn(delay, 'DelaySeconds', 0, 604800, 0), priority === undefined ? undefined : intIn(priority, 'Priority', 1, 16, 8));
      });
      const one = (m: StoredMessage) => xml('Message', { MessageId: m.id, MessageBodyMD5: m.bodyMd5 });
      return { status: 201, body: batch ? `<Messages>${sent.map(one).join('')}</Messages>` : one(sent[0]!) };
    }
    if (method === 'GET') {
      const count = query.has('numOfMessages') ? intIn(query.get('numOfMessages') ?? undefined, 'numOfMessages', 1, MAX_BATCH, 1) : undefined;
      if (query.get('peekonly') === 'true') {
        permitted(count === undefined ? 'PeekMessage' : 'BatchPeekMessage', name);
        const peeked = visible(queue).slice(0, count ?? 1);
        if (peeked.length === 0) throw new MnsError(404, 'MessageNotExist', 'Message not exist.');
        return { status: 200, body: count === undefined ? messageXml(peeked[0]!, false) : `<Messages>${peeked.map((m) => messageXml(m, false)).join('')}</Messages>` };
      }
      permitted(count === undefined ? 'ReceiveMessage' : 'BatchReceiveMessage', name);
      const wait = intIn(query.get('waitseconds') ?? undefined, 'waitseconds', 0, MAX_WAIT_SECONDS, queue.attributes.pollingWaitSeconds);
      const got = await receive(queue, count ?? 1, wait, gone);
      if (got.length === 0) throw new MnsError(404, 'MessageNotExist', 'Message not exist.');
      return { status: 200, body: count === undefined ? messageXml(got[0]!, true) : `<Messages>${got.map((m) => messageXml(m, true)).join('')}</Messages>` };
    }
    if (method === 'DELETE') {
      const handle = param(query, 'ReceiptHandle');
      if (handle !== undefined) {
        permitted('DeleteMessage', name);
        deleteByHandle(queue, handle);
        return { status: 204 };
      }
      permitted('BatchDeleteMessage', name);
      const failed: string[] = [];
      for (const h of elements(body, 'ReceiptHandle')) {
        try {
          deleteByHandle(queue, h);
        } catch (error) {
          const e = error as MnsError;
          failed.push(xml('Error', { ErrorCode: e.code, ErrorMessage: e.message, ReceiptHandle: h }));
        }
      }
      if (failed.length > 0) return { status: 404, body: `<Errors>${failed.join('')}</Errors>` };
      return { status: 204 };
    }
    if (method === 'PUT') {
      permitted('ChangeMessageVisibility', name);
      const handle = param(query, 'receiptHandle') ?? '';
      const timeout = intIn(param(query, 'visibilityTimeout'), 'VisibilityTimeout', 1, 43200, 30);
      if (!/^[0-9A-F]{32}-[0-9A-F]{24}$/.test(handle)) throw new MnsError(400, 'ReceiptHandleError', 'The receipt handle you provide is not valid.');
      const message = queue.messages.find((m) => m.receiptHandle === handle && m.nextVisibleTime > now());
      if (!message) throw new MnsError(404, 'MessageNotExist', 'Message not exist.');
      message.nextVisibleTime = now() + timeout * 1000;
      message.receiptHandle = `${message.id}-${randomBytes(12).toString('hex').toUpperCase()}`;
      wake();
      return { status: 200, body: xml('ChangeVisibility', { ReceiptHandle: message.receiptHandle, NextVisibleTime: message.nextVisibleTime }) };
    }
    throw new MnsError(400, 'InvalidRequestURL', 'Http request URL format invalid.');
  }

  const server = http.createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    const gone = new AbortController();
    response.on('close', () => gone.abort());
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      void (async () => {
        const requestId = randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase();
        const method = incoming.method ?? 'GET';
        const resource = incoming.url ?? '/';
        const url = new URL(resource, 'http://fake');
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
        const body = Buffer.concat(chunks).toString('utf8');
        const queueName = /^\/queues\/([^/]+)/.exec(url.pathname)?.[1];
        let principal: string | undefined;
        let action = 'mns:Unknown';
        const answer = (status: number, text?: string, extra: Record<string, string> = {}) => {
          response.writeHead(status, { 'x-mns-request-id': requestId, 'x-mns-version': MNS_VERSION, ...(text ? { 'content-type': 'text/xml;charset=utf-8' } : {}), ...extra });
          response.end(text ? document(text) : undefined);
        };
        try {
          const who = authenticate(method, resource, headers);
          principal = who.principal;
          // Both SDKs send base64 of the hex MD5 digest of the body; the raw digest's base64 is taken too.
          if (who.md5 !== undefined && body.length > 0) {
            const hex = createHash('md5').update(body, 'utf8').digest('hex');
            if (who.md5 !== Buffer.from(hex).toString('base64') && who.md5 !== Buffer.from(hex, 'hex').toString('base64')) {
              throw new MnsError(400, 'InvalidDegist', 'The Content-MD5 you specified is invalid.');
            }
          }
          const permitted = (name: string, queue: string) => {
            action = `mns:${name}`;
            const fault = faults.find((f) => f.action === action && f.times > 0);
            if (fault) {
              fault.times--;
              throw new MnsError(fault.status, fault.code, `injected ${fault.code}`);
            }
            if (!who.allow(action, queue)) throw new MnsError(403, 'AccessDenied', 'The OwnerId that your Access Key Id associated to is forbidden for this operation.');
          };
          const result = await route(method, url.pathname, url.searchParams, body, permitted, gone.signal);
          requests.push({ action, queue: queueName, principal, refused: undefined });
          answer(result.status, result.body, result.headers);
        } catch (error) {
          const e = error instanceof MnsError ? error : new MnsError(500, 'InternalError', 'Interal error.');
          requests.push({ action, queue: queueName, principal, refused: e.code });
          answer(e.status, xml('Error', { Code: e.code, Message: e.message, RequestId: requestId, HostId: `http://${headers['host'] ?? ''}` }));
        }
      })();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const endpoint = `http://${host}:${(server.address() as AddressInfo).port}`;

  const createQueue = (name: string, attributes: FakeQueueAttributes = {}) => {
    queues.set(name, {
      name,
      createTime: now(),
      messages: [],
      attributes: { visibilityTimeout: 30, pollingWaitSeconds: 0, delaySeconds: 0, maximumMessageSize: 65536, ...attributes },
    });
  };

  return {
    endpoint,
    requests,
    count: (action, queue) => requests.filter((r) => r.action === action && r.refused === undefined && (queue === undefined || r.queue === queue)).length,
    createQueue,
    deleteQueue(name) {
      queues.delete(name);
      wake();
    },
    send(queue, body) {
      return enqueue(queueOr404(queue), body, undefined, undefined).id;
    },
    depth: (queue) => queues.get(queue)?.messages.length ?? 0,
    queueUrl: (name) => `${endpoint}/queues/${name}`,
    limitLongPolls(max) {
      maxLongPolls = max;
    },
    inject(fault) {
      faults.push({ ...fault });
    },
    stop: async () => {
      wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
