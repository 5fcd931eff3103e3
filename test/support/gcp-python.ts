// The harness of the suites that drive the gcp fakes with Google's own Python clients (installed into
// .cache/venv-gcp by test/setup/install-gcp-client.sh), which check that the fakes are faithful on the wire.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, type LocalCluster } from './cluster.ts';
import { useCluster } from './shared-cluster.ts';
import { fetchIssuer } from './sts-web-identity-check.ts';
import { startGcpFake, type GcpFake } from '../fakes/gcp/index.ts';

const PYTHON = join(repoRoot, '.cache/venv-gcp/bin/python');

/** The shared cluster and a gcp fake trusting its ServiceAccount issuer, with `project` (number `projectNumber`) registered. */
export async function startGcpFakeForPython(project: string, projectNumber: string): Promise<{ cluster: LocalCluster; fake: GcpFake }> {
  assert.ok(existsSync(PYTHON), `Google's Python clients are missing: run bash test/setup/install-gcp-client.sh`);
  const cluster = await useCluster();
  const fake = await startGcpFake({ kubeconfigPath: cluster.kubeconfigPath, issuer: await fetchIssuer(cluster.kubeconfigPath) });
  fake.identity.addProject(project, projectNumber);
  return { cluster, fake };
}

/** Runs Google's Python with `args` and returns the JSON it prints. */
export async function runGcpPython(args: readonly string[], timeoutMs: number): Promise<unknown> {
  const { stdout } = await promisify(execFile)(PYTHON, args, { timeout: timeoutMs });
  return JSON.parse(stdout) as unknown;
}

/** Runs test/fakes/gcp/<script> with Google's Python clients and returns the JSON object it prints. */
export async function runGcpPythonCheck(script: string, args: readonly string[], timeoutMs: number): Promise<Record<string, unknown>> {
  return (await runGcpPython([join(repoRoot, 'test/fakes/gcp', script), ...args], timeoutMs)) as Record<string, unknown>;
}
