// How long `secret-relay migrate` takes over a Git tree of 2,000 ESO ExternalSecrets (100 files of 20, each with a
// templated connection string and an if block), and the memory it peaks at. Printed, never asserted.
//   node test/bench/migrate.ts [count]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMigrate } from '../../src/migrate/cli.ts';

const count = Number(process.argv[2] ?? 2000);
const perFile = 20;
const dir = mkdtempSync(join(tmpdir(), 'migrate-bench-'));
try {
  for (let f = 0; f * perFile < count; f++) {
    const docs: string[] = [];
    for (let i = 0; i < perFile && f * perFile + i < count; i++) {
      const n = f * perFile + i;
      docs.push(`# app ${n}
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: app-${n}, namespace: team-${f}, labels: { app: a${n} } }
spec:
  refreshInterval: 1h
  secretStoreRef: { name: vault, kind: ClusterSecretStore }
  target:
    name: app-${n}
    template:
      engineVersion: v2
      data:
        url: "postgres://{{ .user }}:{{ .password | b64enc }}@db:5432/app"
        config: |
          {{- if .token }}
          token={{ .token | upper }}
          {{- end }}
  data:
    - { secretKey: user, remoteRef: { key: app/${n}, property: user } }
    - { secretKey: password, remoteRef: { key: app/${n}, property: password } }
    - { secretKey: token, remoteRef: { key: app/${n}, property: token } }
`);
    }
    writeFileSync(join(dir, `f${f}.yaml`), docs.join('---\n'));
  }
  let report = '';
  const started = performance.now();
  const code = await runMigrate(['--check', dir], { stdin: async () => '', stdout: (t) => (report += t), stderr: () => {} });
  const ms = performance.now() - started;
  const summary = report.trim().split('\n').at(-1);
  console.log(`migrate --check over ${count} ExternalSecrets: ${ms.toFixed(0)} ms (${(ms / count).toFixed(2)} ms each), exit ${code}; ${summary}`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
