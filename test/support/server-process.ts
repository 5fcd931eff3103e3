// A real server the tests start (moto, OpenBao, PostgreSQL): spawned on a free loopback port, its output kept
// for error messages, ready when a probe answers (with a deadline), stopped with a signal and a SIGKILL fallback.
import { spawn, type SpawnOptions } from 'node:child_process';
import * as net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcessOptions {
  /** For messages, e.g. 'moto_server'. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly spawnOptions: Omit<SpawnOptions, 'stdio'>;
  /** Resolves true once the server answers; a throw counts as not yet. */
  readonly ready: () => Promise<boolean>;
  /** Where it should answer, for the timeout message. */
  readonly where: string;
  readonly readyTimeoutMs?: number;
  /** How to ask it to stop (PostgreSQL's fast shutdown is SIGINT). */
  readonly stopSignal?: NodeJS.Signals;
  readonly stopTimeoutMs?: number;
}

export interface ServerProcess {
  output(): string;
  /** Stops it (idempotent); SIGKILL after stopTimeoutMs. */
  stop(): Promise<void>;
}

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const output: string[] = [];
  const child = spawn(options.command, [...options.args], { ...options.spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString());
    if (output.length > 400) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', (code) => ((exited = code), resolve())));
  const tail = () => output.join('').slice(-2000);

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`${options.name} exited (code ${exited}) before it was ready:\n${tail()}`);
    if (await options.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not answer on ${options.where} within the deadline:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    output: () => output.join(''),
    async stop() {
      if (exited !== undefined) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), options.stopTimeoutMs ?? 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}
