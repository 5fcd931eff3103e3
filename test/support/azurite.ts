// Azurite, Microsoft's own Azure Storage emulator (npm package `azurite`, a devDependency), serving the queue service
// for tests: started once per test file on a free loopback port, over HTTPS with a certificate of the test CA and
// `--oauth basic`, so it takes the bearer tokens the store's identity obtains from the Entra ID fake (it checks
// their issuer, audience and lifetime) as well as the account's shared key (how Event Grid, here the test, sends).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Agent } from 'node:https';
import { QueueServiceClient, StorageSharedKeyCredential } from '@azure/storage-queue';
import { freePort, startServerProcess } from './server-process.ts';
import type { TestTls } from '../fakes/azure/tls.ts';

/** Azurite's well-known development account (it documents the key). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** https://127.0.0.1:<port>/devstoreaccount1 */
  readonly accountUrl: string;
  /** A client of the account with its shared key, trusting the test CA (what Event Grid's delivery stands for). */
  readonly service: QueueServiceClient;
  output(): string;
  stop(): Promise<void>;
}

export async function startAzurite(tls: TestTls): Promise<Azurite> {
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/queue/main.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'azurite-'));
  writeFileSync(path.join(dir, 'cert.pem'), tls.certPem);
  writeFileSync(path.join(dir, 'key.pem'), tls.keyPem);
  const port = await freePort();
  const accountUrl = `https://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const agent = new Agent({ ca: tls.caPem, keepAlive: true });
  const service = new QueueServiceClient(accountUrl, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), { agent } as object);
  const server = await startServerProcess({
    name: 'azurite-queue',
    command: process.execPath,
    args: [
      main,
      '--queueHost', '127.0.0.1',
      '--queuePort', String(port),
      '--cert', path.join(dir, 'cert.pem'),
      '--key', path.join(dir, 'key.pem'),
      '--oauth', 'basic',
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--silent',
    ],
    spawnOptions: { cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir } },
    ready: async () => {
      await service.getProperties({ abortSignal: AbortSignal.timeout(1000) });
      return true;
    },
    where: accountUrl,
  });
  return {
    accountUrl,
    service,
    output: () => server.output(),
    async stop() {
      await server.stop();
      agent.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
