// moto (the AWS emulator) for tests: started once per test file on a free loopback port, reset between tests.
// Installed by test/setup/install-moto.sh into .venv/; a missing install fails naming that script.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './cluster.ts';
import { freePort, startServerProcess } from './server-process.ts';

export const motoServerPath = path.join(repoRoot, '.venv/bin/moto_server');

export interface Moto {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(options: { readyTimeoutMs?: number } = {}): Promise<Moto> {
  if (!existsSync(motoServerPath)) {
    throw new Error(`moto is not installed (${path.relative(repoRoot, motoServerPath)} is missing): run bash test/setup/install-moto.sh`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'moto_server',
    command: motoServerPath,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    // moto needs no AWS credentials; an empty environment beyond PATH keeps the operator's own out of it.
    spawnOptions: { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' } },
    ready: async () => {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.ok;
    },
    where: endpoint,
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });

  return {
    endpoint,
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop: () => server.stop(),
  };
}
