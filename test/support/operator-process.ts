// An operator as its own process (src/main.ts), for tests where two candidates compete for one Lease: its output is
// collected, its Lease timings are the tests' short ones.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './cluster.ts';
import type { TestKube } from './kube.ts';

export interface OperatorProcess {
  readonly process: ChildProcess;
  readonly output: string[];
}

export function spawnOperatorProcess(options: { kubeconfigPath: string; identity: string; leaseName: string; leaseSeconds: number }): OperatorProcess {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'src/main.ts'),
      `--kubeconfig=${options.kubeconfigPath}`,
      '--metrics-port=0',
      '--metrics-host=127.0.0.1',
      `--identity=${options.identity}`,
      '--namespace=secret-relay-system',
      `--lease-name=${options.leaseName}`,
      `--lease-duration=${options.leaseSeconds}s`,
      '--lease-renew-deadline=3s',
      '--lease-retry-period=500ms',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
  );
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { process: child, output };
}

/** Who holds the Lease now; undefined while nobody does (or it does not exist yet). */
export async function leaseHolderOf(kube: TestKube, leaseName: string): Promise<string | undefined> {
  try {
    const lease = await kube.coordination.readNamespacedLease({ namespace: 'secret-relay-system', name: leaseName });
    return lease.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}
