// A generated corpus of ExternalSecrets for the side-by-side comparison with ESO (test/eso-parity/side-by-side.ts):
// property paths, decoding strategies, versions, extract of nested JSON, find with Go patterns, rewrite chains,
// metadata, and finds that match nothing. Deterministic for a seed; each case has its own fake store.

export interface FakeEntry {
  key: string;
  value: string;
  version?: string;
}

export interface CorpusCase {
  readonly id: string;
  readonly family: string;
  /** Documented deliberate differences this case exercises (docs/eso-differences.md), by name. */
  readonly documented: readonly string[];
  readonly data: readonly FakeEntry[];
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly spec: Record<string, unknown>;
}

/** mulberry32: small, fast, good enough to pick test inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64url = (s: string) => Buffer.from(s).toString('base64url').padEnd(Math.ceil(Buffer.from(s).toString('base64url').length / 4) * 4, '=');

const documents = [
  '{"username":"admin","password":"p@ss/word","port":5432,"ratio":1.0,"exp":1e3,"exp2":1E+2,"big":12345678901234567890,"neg":-0.50,"on":true,"nil":null,"nested":{"a":{"b":"deep"},"list":["x","y",{"z":1}]},"tls.crt":"CERT","sp": {"value": 3.14}}',
  '{"db": {"host": "db.local", "port": 5432.0, "opts": [1, 2.50, null]}, "name": "n", "nav": "v", "nab": {"c": "cc"}}',
  '{"items":["a","b","c","d","e","f","g","h","i","j","k"],"objs":[{"n":"x","age":40},{"n":"y","age":50},{"n":"z","age":60.5}]}',
];

/** [document index, path, documented differences] — paths gjson resolves, and some it does not. */
const properties: [number, string, string[]][] = [
  [0, 'username', []], [0, 'password', []], [0, 'port', []], [0, 'ratio', []], [0, 'exp', []], [0, 'exp2', []],
  [0, 'big', []], [0, 'neg', []], [0, 'on', []], [0, 'nil', []], [0, 'nested', []], [0, 'nested.a.b', []],
  [0, 'nested.list', []], [0, 'nested.list.1', []], [0, 'nested.list.01', []], [0, 'nested.list.#', []],
  [0, 'nested.list.2.z', []], [0, 'nested.*.b', []], [0, 'ne*.a.b', []], [0, 'use?name', []], [0, 'tls\\.crt', []],
  [0, 'sp', []], [0, 'sp.value', []], [0, 'missing', []], [0, 'tls.crt', ['dotted property as one key']],
  [1, 'db', []], [1, 'db.port', []], [1, 'db.opts', []], [1, 'db.opts.1', []], [1, 'db.opts.2', []], [1, 'na?', []],
  [1, 'na*', []], [1, 'nab.c', []], [1, 'db|host', []], [1, 'db.opts.#', []],
  [2, 'items.#', []], [2, 'items.010', []], [2, 'items.5', []], [2, 'objs.#.n', []], [2, 'objs.#(n=="y").age', []],
  [2, 'objs.#(age>45)#.n', []], [2, 'objs.#(n%"z").age', []], [2, 'objs.1', []], [2, 'objs.#.age', []],
];

const findKeys = ['app/db-user', 'app/db-pass', 'app/DB-admin', 'team/api-key', 'team/level', 'svc.token', 'user', 'aaa', 'db_url'];
const findPatterns = [
  '^app/', '(?i)^APP/', '\\Aapp/db', 'pass\\z', '\\pL+-user', '[[:lower:]]+/db', 'app/(?i)db', 'e', '\\p{L}{4}$', '^[[:alpha:]]+$',
  '(?U)a+', 'x*', '^team/', '\\.token$', '^(user|aaa)$', '_', '^nothing-matches$', '[[:upper:]]',
];
const rewrites: [string, string][] = [
  ['(.*)', 'dev-$1'], ['e*', 'E'], ['^app_', ''], ['^app/', ''], ['/', '-'], ['_', '.'], ['(?P<env>[a-z]+)_(?P<rest>.*)', '${rest}.${env}'],
  ['(a)(b)?', '[$01]$1'], ['-(\\w)', '_$1'], ['^', 'x-'], ['$', '-y'], ['(?i)DB', 'database'], ['\\b', '.'], ['a*?', 'Q'],
  ['^(app|team)[_/]', ''], ['(\\w+)-(\\w+)', '$2-$1'], ['${', 'x'],
];

export function generateCorpus(n: number, seed: number): CorpusCase[] {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chance = (p: number) => random() < p;
  const cases: CorpusCase[] = [];
  const families = ['property', 'property', 'decoding', 'versions', 'extract', 'find', 'find', 'rewrite', 'rewrite', 'metadata', 'nothing', 'mixed', 'extract-rewrite'] as const;
  for (let i = 0; i < n; i++) {
    const id = `c${String(i).padStart(3, '0')}`;
    const family = families[i % families.length]!;
    const documented: string[] = [];
    let data: FakeEntry[] = [];
    let spec: Record<string, unknown> = {};
    let labels: Record<string, string> | undefined;
    let annotations: Record<string, string> | undefined;
    switch (family) {
      case 'property': {
        data = documents.map((value, index) => ({ key: `doc${index}`, value }));
        const count = 1 + Math.floor(random() * 3);
        const entries = [];
        for (let e = 0; e < count; e++) {
          const [doc, property, notes] = pick(properties);
          documented.push(...notes);
          entries.push({ secretKey: `k${e}`, remoteRef: { key: `doc${doc}`, property } });
        }
        spec = { data: entries };
        break;
      }
      case 'decoding': {
        const text = pick(['hello', 'p@ss/word?', 'üñî', 'a', '']);
        const values = [b64(text), b64url(text), text || 'plain', 'not base64!', b64(text).replace(/=+$/, '')];
        data = values.map((value, index) => ({ key: `v${index}`, value: value === '' ? 'x' : value }));
        const entries = [];
        for (let e = 0; e < 2; e++) {
          entries.push({ secretKey: `k${e}`, remoteRef: { key: `v${Math.floor(random() * values.length)}`, decodingStrategy: pick(['None', 'Base64', 'Base64URL', 'Auto']) } });
        }
        spec = { data: entries };
        break;
      }
      case 'versions': {
        data = [
          { key: 'only-versioned', value: 'one', version: 'v1' },
          { key: 'only-versioned', value: 'two', version: 'v2' },
          { key: 'only-versioned', value: 'ten', version: 'v10' },
          { key: 'mixed', value: 'latest' },
          { key: 'mixed', value: 'old', version: '1' },
          { key: 'plain', value: 'p' },
        ];
        if (chance(0.5)) {
          const key = pick(['only-versioned', 'mixed', 'plain']);
          const version = pick([undefined, 'v1', 'v2', 'v10', '1', 'v3']);
          spec = { data: [{ secretKey: 'value', remoteRef: { key, ...(version ? { version } : {}) } }] };
        } else {
          spec = { dataFrom: [{ find: { name: { regexp: pick(['versioned', 'mixed', '.', 'plain|mixed']) } } }] };
        }
        break;
      }
      case 'extract': {
        data = [
          ...documents.map((value, index) => ({ key: `doc${index}`, value })),
          { key: 'odd', value: '{"a/b": "slash", "c d": {"x": [1, 2]}, "e": null, "f": 1.0}' },
        ];
        const key = pick(['doc0', 'doc1', 'odd']);
        const property = key === 'doc0' ? pick([undefined, 'nested', 'nested.a', 'sp']) : key === 'doc1' ? pick([undefined, 'db']) : undefined;
        spec = {
          dataFrom: [{ extract: { key, ...(property ? { property } : {}), conversionStrategy: pick(['Default', 'Unicode']), decodingStrategy: 'None' } }],
        };
        break;
      }
      case 'find':
      case 'rewrite': {
        const keys = findKeys.filter(() => chance(0.7));
        if (keys.length === 0) keys.push('user');
        data = keys.map((key, index) => ({ key, value: `value-${index}` }));
        if (chance(0.15)) {
          data.push({ key: 'team/ünïcode', value: 'u' });
          documented.push('non-ASCII key conversion');
        }
        const find: Record<string, unknown> = { name: { regexp: pick(findPatterns) }, conversionStrategy: chance(0.2) ? 'Unicode' : 'Default' };
        const entry: Record<string, unknown> = { find };
        if (family === 'rewrite') {
          const steps = 1 + Math.floor(random() * 3);
          entry['rewrite'] = Array.from({ length: steps }, () => {
            const [source, target] = pick(rewrites);
            return { regexp: { source, target } };
          });
        }
        spec = { dataFrom: [entry] };
        break;
      }
      case 'metadata': {
        data = [{ key: 'k', value: 'v' }];
        labels = { env: pick(['dev', 'prod']), 'app.kubernetes.io/name': 'demo' };
        annotations = { 'acme.org/owner': 'q-team', note: pick(['a', 'b b']) };
        spec = { data: [{ secretKey: 'value', remoteRef: { key: 'k' } }] };
        break;
      }
      case 'mixed': {
        // data[], extract and find together, with decoding on the dataFrom values and metadata.
        const inner = { user: b64('app'), token: b64url('t?k/'), plain: 'p', n: 1.5 };
        data = [
          { key: 'bundle', value: JSON.stringify(inner) },
          { key: 'svc/a', value: b64('alpha') },
          { key: 'svc/b', value: 'not-base64!' },
          { key: 'single', value: documents[0]! },
        ];
        labels = chance(0.5) ? { tier: 'backend' } : undefined;
        spec = {
          data: [{ secretKey: 'one', remoteRef: { key: 'single', property: pick(['nested.a.b', 'port', 'ratio', 'nested.list.#']) } }],
          dataFrom: [
            { extract: { key: 'bundle', decodingStrategy: pick(['None', 'Auto', 'Base64']) } },
            { find: { name: { regexp: pick(['^svc/', '^svc/a$', '(?i)^SVC']) }, decodingStrategy: pick(['None', 'Auto']) } },
          ],
        };
        break;
      }
      case 'extract-rewrite': {
        data = [{ key: 'obj', value: '{"db/user": "u", "db/pass": "p", "api key": "k", "Level": "l", "a.b": {"c": 1}}' }];
        const steps = 1 + Math.floor(random() * 2);
        spec = {
          dataFrom: [{
            extract: { key: 'obj', conversionStrategy: pick(['Default', 'Unicode']) },
            rewrite: Array.from({ length: steps }, () => {
              const [source, target] = pick([...rewrites, ['^db/', ''] as [string, string], [' ', '_'] as [string, string], ['(?i)level', 'lvl'] as [string, string]]);
              return { regexp: { source, target } };
            }),
          }],
        };
        break;
      }
      case 'nothing': {
        data = [{ key: 'present', value: 'x' }];
        spec = { dataFrom: [{ find: { name: { regexp: '^absent' } } }], ...(chance(0.3) ? { target: { deletionPolicy: 'Delete' } } : {}) };
        break;
      }
    }
    cases.push({ id, family, documented: [...new Set(documented)], data, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}), spec });
  }
  return cases;
}
