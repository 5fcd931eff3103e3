import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

/**
 * A probe answers true (ok), false (not ok, generic reason) or an object carrying the reason,
 * which /readyz and /healthz print so `kubectl describe pod` shows why.
 */
export type ProbeResult = boolean | { readonly ok: boolean; readonly reason?: string };
export type Probe = () => ProbeResult;

export interface HttpServerOptions {
  /** 0 picks a free port (tests); the chosen one is returned. */
  readonly port: number;
  readonly host: string;
  readonly registry: Registry;
  readonly isReady: Probe;
  readonly isHealthy: Probe;
  readonly logger: Pick<Logger, 'error' | 'info'>;
}

export interface HttpServer {
  readonly port: number;
  /** Stops listening and drops open keep-alive connections. */
  close(): Promise<void>;
}

/** /metrics (Prometheus exposition), /healthz (liveness), /readyz (readiness) on one port. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { registry, isReady, isHealthy, logger } = options;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err, path: req.url }, 'http: request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = ROUTES.find((r) => r === path);
    if (route === undefined) {
      send(res, 404, 'text/plain; charset=utf-8', `not found; try ${ROUTES.join(', ')}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed; use GET\n');
      return;
    }
    if (route === '/metrics') {
      const body = await registry.metrics();
      send(res, 200, registry.contentType, body, req.method === 'HEAD');
      return;
    }
    const { ok, reason } = runProbe(route === '/healthz' ? isHealthy : isReady, route === '/healthz' ? 'not healthy' : 'not ready');
    send(res, ok ? 200 : 503, 'text/plain; charset=utf-8', ok ? 'ok\n' : `${reason}\n`, req.method === 'HEAD');
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`cannot listen on ${options.host}:${options.port} for /metrics and probes: ${err.message}; pick another --metrics-port`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'http: server error'));

  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, 'http: serving /metrics, /healthz, /readyz');

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const ROUTES = ['/metrics', '/healthz', '/readyz'] as const;

function runProbe(probe: Probe, fallbackReason: string): { ok: boolean; reason: string } {
  try {
    const result = probe();
    if (typeof result === 'boolean') return { ok: result, reason: fallbackReason };
    return { ok: result.ok, reason: result.reason ?? fallbackReason };
  } catch (err) {
    return { ok: false, reason: `${fallbackReason}: probe failed: ${(err as Error).message}` };
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headOnly = false): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(headOnly ? undefined : body);
}
