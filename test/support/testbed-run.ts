// `npm run testbed -- NAME` as a user runs it, for the test-bed suites: the script as a child process against the
// cluster in $KUBECONFIG, its printout once ready, and its printed manifests applied unchanged to the apiserver.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { repoRoot } from './cluster.ts';
import type { TestKube } from './kube.ts';
import { createObject, Plural, waitFor } from './operator.ts';
import { MANIFESTS_BEGIN, MANIFESTS_END } from '../testbeds/testbed.ts';

export interface PrintedObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
}

export interface RunningTestbed {
  /** Everything it printed on stdout up to the moment it was ready. */
  readonly printed: string;
  /** The manifests between its markers, parsed. */
  readonly objects: readonly PrintedObject[];
  readonly stderr: () => string;
  /** Ctrl-C, as a user stops it; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts the test bed and waits until its printout has the manifests and matches `ready` (its commands). */
export async function runTestbed(name: string, namespace: string, kubeconfigPath: string, ready: RegExp, timeoutMs = 60_000): Promise<RunningTestbed> {
  const child = spawn(process.execPath, ['scripts/testbed.ts', name, '--namespace', namespace], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: kubeconfigPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    return exited;
  };
  try {
    const printed = await waitFor(
      `the ${name} test bed to print its manifests and how to change its secrets`,
      () => (stdout.includes(MANIFESTS_END) && ready.test(stdout) ? stdout : child.exitCode !== null ? Promise.reject(new Error(`it exited with ${child.exitCode}`)) : undefined),
      timeoutMs,
    );
    const yaml = printed.slice(printed.indexOf(MANIFESTS_BEGIN) + MANIFESTS_BEGIN.length, printed.indexOf(MANIFESTS_END));
    return { printed, objects: k8s.loadAllYaml(yaml) as PrintedObject[], stderr: () => stderr, stop };
  } catch (error) {
    await stop();
    throw new Error(`${String(error)}\nstdout: ${stdout}\nstderr: ${stderr}`, { cause: error });
  }
}

/** Applies the printed ServiceAccount, SecretStore and ExternalSecret, as printed, in `namespace`. */
export async function applyPrinted(kube: TestKube, namespace: string, objects: readonly PrintedObject[]): Promise<void> {
  assert.deepEqual(objects.map((o) => o.kind), ['ServiceAccount', 'SecretStore', 'ExternalSecret']);
  for (const object of objects) {
    if (object.kind === 'ServiceAccount') await kube.core.createNamespacedServiceAccount({ namespace, body: object as k8s.V1ServiceAccount });
    else await createObject(kube, object.kind === 'SecretStore' ? Plural.SecretStore : Plural.ExternalSecret, object as never, namespace);
  }
}
