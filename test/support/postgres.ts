// A throwaway PostgreSQL server for tests: initdb into a temp dir, start on a free loopback port with password
// (SCRAM) authentication over TCP, stop and remove. Debian's server binaries (test/setup/install-postgres.sh);
// PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort, startServerProcess } from './server-process.ts';

const execFileP = promisify(execFile);

export interface Postgres {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly superuserPassword: string;
  /** Runs one SQL statement as `user`; resolves with psql's output, rejects with its error (e.g. a refused login). */
  query(sql: string, user?: string, password?: string): Promise<string>;
  stop(): Promise<void>;
}

/** /usr/lib/postgresql/<newest>/bin */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb): run bash test/setup/install-postgres.sh');
  return path.join(root, versions[0]!, 'bin');
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

export async function startPostgres(options: { readyTimeoutMs?: number } = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  const owner = await postgresUser();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pg-test-'));
  const dataDir = path.join(dir, 'data');
  const superuser = 'postgres';
  const superuserPassword = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = path.join(dir, 'pwfile');
  writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  await execFileP(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', superuser, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-instructions'],
    { ...asOwner, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } },
  );
  const port = await freePort();
  const query = async (sql: string, user = superuser, password = superuserPassword): Promise<string> => {
    const { stdout } = await execFileP('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-tAc', sql], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      timeout: 15_000,
    });
    return stdout.trim();
  };

  const server = await startServerProcess({
    name: 'postgres',
    command: path.join(bin, 'postgres'),
    args: ['-D', dataDir, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-c', 'fsync=off', '-c', 'max_connections=50'],
    spawnOptions: { ...asOwner, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } },
    ready: async () => (await query('select 1'), true),
    where: `127.0.0.1:${port}`,
    // SIGINT: PostgreSQL's fast shutdown.
    stopSignal: 'SIGINT',
    stopTimeoutMs: 10_000,
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });

  return {
    host: '127.0.0.1',
    port,
    superuser,
    superuserPassword,
    query,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
