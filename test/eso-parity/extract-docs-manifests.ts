// Copies ESO v2.9.0's own documentation manifests for the providers we support (aws, vault, fake) from its source
// tarball into test/fixtures/eso-docs/, for test/integration/eso-docs-manifests.test.ts. Re-run after an ESO bump:
//   node test/eso-parity/extract-docs-manifests.ts [/path/to/external-secrets-X.tar.gz]
// A file is taken when it holds an ExternalSecret, SecretStore or ClusterSecretStore and either names one of our
// providers in its file name (aws-, vault-, fake-) or is provider-neutral (basic-, full-external-secret, datafrom-,
// getallsecrets-, template…, controller-class) — and every store in it uses aws, vault or fake only.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

const tarball = process.argv[2] ?? '/work/shared/peers/external-secrets-2.9.0.tar.gz';
const out = new URL('../fixtures/eso-docs/', import.meta.url).pathname;
const supported = new Set(['aws', 'vault', 'fake']);
const ourKinds = new Set(['ExternalSecret', 'SecretStore', 'ClusterSecretStore']);
const providerNamed = /^(aws|vault|fake)-/;
const neutral = /^(basic-|full-external-secret|datafrom-|getallsecrets-|template-|[a-z0-9]+-template-v[12]|multiline-template|helm-template|controller-class)/;

/** The docs site's `{% raw %}` / `{% endraw %}` markers are not part of the manifest. */
function withoutMacros(text: string): string {
  return text.replace(/^\s*\{%-? *(end)?raw *-?%\}\s*$/gm, '');
}

const work = mkdtempSync(join(tmpdir(), 'eso-docs-'));
try {
  execFileSync('tar', ['-xzf', tarball, '-C', work, '--wildcards', '*/docs/*', '*/deploy/crds/bundle.yaml']);
  const root = join(work, readdirSync(work)[0]!, 'docs');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name)) files.push(path);
    }
  };
  walk(root);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const taken: string[] = [];
  const skipped: string[] = [];
  for (const file of files.sort()) {
    const name = basename(file);
    if (!providerNamed.test(name) && !neutral.test(name)) continue;
    let docs: Record<string, unknown>[];
    try {
      docs = parseAllDocuments(withoutMacros(readFileSync(file, 'utf8'))).map((d) => d.toJS() as Record<string, unknown>).filter((d) => d !== null && typeof d === 'object');
    } catch {
      skipped.push(`${name}: not plain YAML`);
      continue;
    }
    const ours = docs.filter((d) => ourKinds.has(String(d['kind'])) && String(d['apiVersion']).startsWith('external-secrets.io/'));
    if (ours.length === 0) continue;
    const stores = ours.filter((d) => d['kind'] !== 'ExternalSecret');
    const providers = stores.flatMap((d) => Object.keys(((d['spec'] as Record<string, unknown> | undefined)?.['provider'] ?? {}) as object));
    if (providers.some((p) => !supported.has(p))) {
      skipped.push(`${name}: stores of ${[...new Set(providers.filter((p) => !supported.has(p)))].join(', ')}`);
      continue;
    }
    const target = relative(root, file).replaceAll('/', '__');
    writeFileSync(join(out, target), withoutMacros(readFileSync(file, 'utf8')));
    taken.push(target);
  }
  // ESO's own CRDs for the three kinds (v1 only, descriptions dropped, providers cut to ours), so the test can ask
  // ESO's schema whether ESO itself accepts a manifest.
  const bundle = join(work, readdirSync(work)[0]!, 'deploy', 'crds', 'bundle.yaml');
  const crds = parseAllDocuments(readFileSync(bundle, 'utf8'))
    .map((d) => d.toJS() as Record<string, any> | null)
    .filter((d): d is Record<string, any> => d !== null && ourKinds.has(d['spec']?.['names']?.['kind']))
    .map((crd) => {
      crd['spec']['versions'] = crd['spec']['versions'].filter((v: { name: string }) => v.name === 'v1');
      const spec = crd['spec']['versions'][0]['schema']['openAPIV3Schema']['properties']['spec'];
      const provider = spec['properties']['provider'];
      if (provider) provider['properties'] = Object.fromEntries(Object.entries(provider['properties']).filter(([name]) => supported.has(name)));
      const strip = (node: unknown): unknown =>
        Array.isArray(node) ? node.map(strip) : node !== null && typeof node === 'object' ? Object.fromEntries(Object.entries(node).filter(([k]) => k !== 'description').map(([k, v]) => [k, strip(v)])) : node;
      return { apiVersion: crd['apiVersion'], kind: crd['kind'], metadata: { name: crd['metadata']['name'] }, spec: strip(crd['spec']) };
    });
  writeFileSync(join(out, 'eso-crds.json'), JSON.stringify(crds) + '\n');
  writeFileSync(
    join(out, 'NOTICE.md'),
    `Copied from External Secrets Operator v2.9.0's docs/ (Apache License 2.0, © The ESO Authors), only the docs site's {% raw %} markers removed, by\n` +
      `test/eso-parity/extract-docs-manifests.ts: ${taken.length} files whose stores use aws, vault or fake, and\n` +
      `eso-crds.json: ESO's ExternalSecret, SecretStore and ClusterSecretStore CRDs (v1, without descriptions, providers aws/vault/fake only).\n`,
  );
  for (const line of skipped) console.log(`skipped ${line}`);
  console.log(`${taken.length} files → ${relative(process.cwd(), out)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
