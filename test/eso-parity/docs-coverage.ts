// How much of ESO v2.9.0's own documentation (test/fixtures/eso-docs: the aws, vault and fake manifests) secret-relay
// takes: of the ExternalSecrets, SecretStores and ClusterSecretStores ESO's own CRDs accept, how many our schema
// accepts after only the group rename, how many of those the operator also acts on (no field reported as not
// supported), and how many `secret-relay migrate` converts. Printed, never asserted.
//   node test/eso-parity/docs-coverage.ts [repository root to measure, default this one]
// The apiserver check of the same corpus is test/integration/eso-docs-manifests.test.ts; it also finds the four
// snippets ESO's own CRDs refuse (listed here so this script needs no cluster). Snippets that are not valid YAML
// are left out: no tool can apply them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = resolve(process.argv[2] ?? new URL('../..', import.meta.url).pathname);
const fixtures = join(resolve(new URL('../..', import.meta.url).pathname), 'test/fixtures/eso-docs');
const load = (path: string) => import(pathToFileURL(join(root, path)).href);
const api = await load('src/api/index.ts');
const compat = await load('src/api/eso-compat.ts');
const { convertFile } = await load('src/migrate/convert.ts');

const refusedByEso = new Set(['snippets__full-external-secret.yaml#0', 'snippets__multiline-template-v1-external-secret.yaml#0', 'snippets__pkcs12-template-v1-external-secret.yaml#0', 'snippets__vault-mtls-store.yaml#0']);
const ourKinds = new Set(['ExternalSecret', 'SecretStore', 'ClusterSecretStore']);
type Json = Record<string, unknown>;

let objects = 0;
let accepted = 0;
let served = 0;
let converted = 0;
const notServed: string[] = [];
const notConverted: string[] = [];
const malformed: string[] = [];
for (const file of readdirSync(fixtures).filter((name) => name.endsWith('.yaml')).sort()) {
  const text = readFileSync(join(fixtures, file), 'utf8');
  const parsedDocs = parseAllDocuments(text);
  // A snippet that is not valid YAML (ESO's docs have a few: quotes inside a quoted template) cannot be applied at all.
  const invalidYaml = parsedDocs.some((d) => d.errors.length > 0);
  const docs = parsedDocs.map((d) => d.toJS() as Json | null);
  const result = convertFile(file, text, { adopt: false }) as { malformed: boolean; reports: { kind?: string; name?: string; outcome: string; reasons: string[] }[] };
  docs.forEach((doc, index) => {
    const id = `${file}#${index}`;
    if (doc === null || typeof doc !== 'object' || !String(doc['apiVersion']).startsWith('external-secrets.io/') || !ourKinds.has(String(doc['kind'])) || refusedByEso.has(id)) return;
    if (invalidYaml) {
      malformed.push(id);
      return;
    }
    objects++;
    const kind = String(doc['kind']);
    const renamed = { ...doc, apiVersion: `${api.API_GROUP}/${api.API_VERSION}`, metadata: { name: 'x', namespace: 'ns', ...(doc['metadata'] as Json | undefined) } };
    const parse = kind === 'ExternalSecret' ? api.parseExternalSecret : kind === 'SecretStore' ? api.parseSecretStore : api.parseClusterSecretStore;
    const parsed = parse(renamed);
    if (parsed.ok) {
      accepted++;
      const errors: string[] = kind === 'ExternalSecret' ? compat.externalSecretCompat(parsed.value.spec) : compat.storeCompat(parsed.value.spec, kind === 'ClusterSecretStore').errors;
      if (errors.length === 0) served++;
      else notServed.push(`${id}: ${errors.join('; ')}`);
    }
    const name = (doc['metadata'] as Json | undefined)?.['name'];
    const report = result.malformed ? result.reports[0] : result.reports.find((r) => r.kind === kind && r.name === name) ?? result.reports[index];
    if (report && (report.outcome === 'converted' || report.outcome === 'converted-with-notes')) converted++;
    else notConverted.push(`${id}: ${report?.reasons.join('; ') ?? 'no report'}`);
  });
}
const pct = (n: number) => `${((100 * n) / objects).toFixed(1)} %`;
for (const line of notServed) console.log(`  accepted, not acted on: ${line}`);
for (const line of notConverted) console.log(`  not converted: ${line}`);
console.log(`not valid YAML (kubectl refuses the file; not counted): ${malformed.join(', ')}`);
console.log(`ESO documentation objects ESO's CRDs accept: ${objects}`);
console.log(`accepted by our schema after the group rename: ${accepted} (${pct(accepted)}); acted on (no field reported unsupported): ${served} (${pct(served)})`);
console.log(`converted by secret-relay migrate: ${converted} (${pct(converted)})`);
