// `npm run testbed -- NAME` with a KUBECONFIG that leads nowhere: one line saying what is wrong and what to do, exit 2,
// before any server is started (the test beds need the cluster to trust its ServiceAccount tokens).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const script = resolve(import.meta.dirname, '../../../scripts/testbed.ts');

function runTestbed(name: string, kubeconfig: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [script, name], { env: { PATH: process.env['PATH'] ?? '', KUBECONFIG: kubeconfig }, timeout: 60_000 }, (error, _stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

test('a KUBECONFIG file that does not exist: one line naming it and how to get a cluster', async () => {
  const { code, stderr } = await runTestbed('vault', '/nonexistent/kubeconfig');
  assert.equal(code, 2);
  assert.match(stderr, /^testbed: KUBECONFIG names \/nonexistent\/kubeconfig, which does not exist: run eval "\$\(npm run -s cluster:up\)" for the local control plane, or point KUBECONFIG at your cluster's kubeconfig\n$/);
});

test('a cluster that does not answer: one line naming the server and what to do, for every test bed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'testbed-cli-'));
  const closed = createServer();
  await new Promise<void>((listening) => closed.listen(0, '127.0.0.1', listening));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((closing) => closed.close(() => closing()));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${port}\n    insecure-skip-tls-verify: true\n` +
      `users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`,
  );
  try {
    for (const name of ['vault', 'gcp']) {
      const { code, stderr } = await runTestbed(name, kubeconfig);
      assert.equal(code, 2, stderr);
      assert.match(stderr, new RegExp(`^testbed: the cluster of KUBECONFIG ${kubeconfig.replace(/[.]/g, '\\.')} does not answer at https://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): start it \\(eval "\\$\\(npm run -s cluster:up\\)"\\) or point KUBECONFIG at a running cluster\\n$`));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
