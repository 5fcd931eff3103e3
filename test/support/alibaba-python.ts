// The harness of the suites that drive the alibaba fakes with Alibaba's own Python SDKs (KMS/STS and MNS, installed
// into .cache/venv-alibaba by test/setup/install-alibaba-client.sh; the operator uses the Node SDKs), which check
// that the fakes are faithful on the wire. Each check script reads one JSON job on stdin and prints one JSON result.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cluster.ts';

const PYTHON = join(repoRoot, '.cache/venv-alibaba/bin/python');

export function assertAlibabaPythonInstalled(): void {
  assert.ok(existsSync(PYTHON), `Alibaba's Python SDK is not installed: run bash test/setup/install-alibaba-client.sh`);
}

/** Runs test/fakes/alibaba/<script> with `job` on stdin; resolves to the JSON object it prints, rejects with its stderr. */
export function runAlibabaPythonCheck(script: string, job: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(repoRoot, 'test/fakes/alibaba', script)], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', PYTHONDONTWRITEBYTECODE: '1' /* python_kms_write_check.py imports python_client.py: no __pycache__ in the tree */ } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, unknown>) : reject(new Error(`${script} exited ${code}: ${err}`))));
    child.stdin.end(JSON.stringify(job));
  });
}
