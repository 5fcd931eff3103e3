// The HTTPS listener of signed change notifications: its own port and certificate, never the metrics port (which
// is plain http and often reachable by every pod). It only bounds and reads requests — at most MAX_BODY_BYTES, a
// few seconds each — and hands them to the handler (src/controller/changefeed/webhook.ts), which authenticates them.
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';

/** A CloudEvent naming a store and some keys is a few hundred bytes; anything much larger is refused unread. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface WebhookRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export interface WebhookResponse {
  readonly status: number;
  /** Sent as JSON. Fixed words and names only: never anything of the request. */
  readonly body: Readonly<Record<string, unknown>>;
}

export interface ChangeWebhookServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startChangeWebhookServer(options: {
  readonly port: number;
  readonly host: string;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly handle: (request: WebhookRequest) => Promise<WebhookResponse>;
  readonly logger: Pick<Logger, 'warn'>;
}): Promise<ChangeWebhookServer> {
  const server = createServer({ cert: options.cert, key: options.key, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => void serve(req, res));
  server.keepAliveTimeout = 5_000;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let response: WebhookResponse;
    try {
      const body = await readBody(req);
      if (body === undefined) response = { status: 413, body: { error: `the body is larger than ${MAX_BODY_BYTES} bytes` } };
      else {
        const headers: Record<string, string | undefined> = {};
        for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
        response = await options.handle({ method: req.method ?? '', path: (req.url ?? '/').split('?')[0]!, headers, body });
      }
    } catch (err) {
      options.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'change webhook request failed');
      response = { status: 500, body: { error: 'the notification could not be handled; retry later' } };
    }
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(response.body);
    res.writeHead(response.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The body, or undefined once it passes MAX_BODY_BYTES (the rest is not read). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
