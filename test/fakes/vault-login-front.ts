// The part every OpenBao auth-method stand-in shares: a loopback HTTP front that answers POST /v1/auth/<mount>/login
// itself (the method's own check decides), mints a real OpenBao token with the root token for an accepted login, and
// passes every other request through to OpenBao unchanged. The method-specific fakes (vault-aws-auth, vault-gcp-auth)
// supply only the check.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A refused login (Vault's error text), or an accepted one with what the minted token carries. */
export type LoginDecision =
  | { readonly error: string }
  | { readonly error?: undefined; readonly policies: readonly string[]; readonly displayName: string; readonly meta: Readonly<Record<string, string>> };

export interface VaultLoginFrontOptions {
  /** The real OpenBao the front passes through to. */
  readonly upstream: string;
  readonly rootToken: string;
  /** Auth mount path, e.g. "aws" answers POST /v1/auth/aws/login. */
  readonly mount: string;
}

export interface VaultLoginFront {
  readonly address: string;
  stop(): Promise<void>;
}

export async function startVaultLoginFront(options: VaultLoginFrontOptions, login: (data: Record<string, unknown>) => Promise<LoginDecision>): Promise<VaultLoginFront> {
  const upstream = new URL(options.upstream);
  const loginPath = `/v1/auth/${options.mount}/login`;
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === loginPath) {
        const decision = await login(JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>);
        if (decision.error !== undefined) {
          res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [decision.error] }));
          return;
        }
        const created = await fetch(`${options.upstream}/v1/auth/token/create`, {
          method: 'POST',
          headers: { 'X-Vault-Token': options.rootToken, 'Content-Type': 'application/json' },
          body: JSON.stringify({ policies: decision.policies, ttl: '1h', renewable: true, display_name: decision.displayName, meta: decision.meta }),
        });
        res.writeHead(created.status, { 'Content-Type': 'application/json' }).end(await created.text());
        return;
      }
      const proxied = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      proxied.on('error', () => res.writeHead(502).end());
      proxied.end(body);
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
