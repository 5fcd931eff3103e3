// An OpenBao dev server for tests (`bao server -dev`: in-memory, unsealed, KV v2 at secret/, root token "root"),
// started once per test file on a free loopback port. Installed by test/setup/install-openbao.sh into .venv/;
// a missing install fails naming that script. Tests isolate themselves with their own mounts and paths.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './cluster.ts';
import { freePort, startServerProcess } from './server-process.ts';

export const baoPath = path.join(repoRoot, '.venv/bin/bao');
export const ROOT_TOKEN = 'root';

export interface OpenBao {
  /** http://127.0.0.1:<port> */
  readonly address: string;
  readonly rootToken: string;
  /** A request with the root token (or `token`); throws with Vault's errors on a non-2xx answer. */
  api(method: string, apiPath: string, body?: unknown, token?: string): Promise<Record<string, unknown> | undefined>;
  /** Like api, but returns the HTTP status and body instead of throwing. */
  raw(method: string, apiPath: string, body?: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> | undefined }>;
  /** The server's output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}


export async function startOpenBao(options: { readyTimeoutMs?: number } = {}): Promise<OpenBao> {
  if (!existsSync(baoPath)) {
    throw new Error(`OpenBao is not installed (${path.relative(repoRoot, baoPath)} is missing): run bash test/setup/install-openbao.sh`);
  }
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  // The dev server writes ~/.vault-token; a private HOME keeps it out of the user's.
  const home = await mkdtemp(path.join(os.tmpdir(), 'openbao-home-'));
  const raw = async (method: string, apiPath: string, body?: unknown, token = ROOT_TOKEN) => {
    const response = await fetch(`${address}/v1/${apiPath.replace(/^\//, '')}`, {
      method,
      headers: { 'X-Vault-Token': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };

  const server = await startServerProcess({
    name: 'bao server',
    command: baoPath,
    args: ['server', '-dev', `-dev-root-token-id=${ROOT_TOKEN}`, `-dev-listen-address=127.0.0.1:${port}`, '-log-level=warn'],
    spawnOptions: { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home } },
    ready: async () => (await raw('GET', 'sys/health')).status === 200,
    where: address,
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });

  return {
    address,
    rootToken: ROOT_TOKEN,
    raw,
    async api(method, apiPath, body, token) {
      const result = await raw(method, apiPath, body, token);
      if (result.status < 200 || result.status >= 300) {
        throw new Error(`OpenBao ${method} ${apiPath}: HTTP ${result.status} ${JSON.stringify(result.body?.['errors'] ?? '')}`);
      }
      return result.body;
    },
    output: () => server.output(),
    async stop() {
      await server.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
