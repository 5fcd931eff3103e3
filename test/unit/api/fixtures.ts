// Good and bad secret-relay objects, shared by the unit tests (zod parsing) and the integration test
// (the real apiserver with the generated CRDs), so both sides are held to the same list.
import { API_GROUP_VERSION, DURATION_MESSAGE } from '../../../src/api/index.ts';

type Json = Record<string, unknown>;
export type FixtureKind = 'ExternalSecret' | 'SecretStore' | 'ClusterSecretStore';

export function externalSecret(name: string, spec: Json, namespace?: string): Json {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: 'ExternalSecret',
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec,
  };
}

export function secretStore(name: string, spec: Json, namespace?: string): Json {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: 'SecretStore',
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec,
  };
}

export function clusterSecretStore(name: string, spec: Json): Json {
  return { apiVersion: API_GROUP_VERSION, kind: 'ClusterSecretStore', metadata: { name }, spec };
}

/** The smallest valid ExternalSecret spec; bad cases override one part of it. */
export const minimalExternalSecretSpec: Json = {
  secretStoreRef: { name: 'fake-store' },
  data: [{ secretKey: 'password', remoteRef: { key: 'db/password' } }],
};

export const fakeProvider: Json = { fake: { data: [{ key: 'db/password', value: 'not-a-real-secret' }] } };

export interface BadCase {
  readonly title: string;
  readonly kind: FixtureKind;
  /** `spec` of the object (name and namespace are chosen by the test). */
  readonly spec: Json;
  /** Text the apiserver's 422 message contains. */
  readonly apiserver: string;
  /** Text parse*'s error contains. */
  readonly parse: string;
}

const es = (overrides: Json): Json => ({ ...minimalExternalSecretSpec, ...overrides });
const data = (entry: Json): Json => ({ ...minimalExternalSecretSpec, data: [entry] });

export const badCases: readonly BadCase[] = [
  {
    title: 'ExternalSecret without spec',
    kind: 'ExternalSecret',
    spec: { omitSpec: true },
    apiserver: 'spec: Required value',
    parse: 'spec: required',
  },
  {
    title: 'secretStoreRef without name',
    kind: 'ExternalSecret',
    spec: es({ secretStoreRef: { kind: 'SecretStore' } }),
    apiserver: 'spec.secretStoreRef.name: Required value',
    parse: 'spec.secretStoreRef.name: required',
  },
  {
    title: 'secretStoreRef with an empty name',
    kind: 'ExternalSecret',
    spec: es({ secretStoreRef: { name: '' } }),
    apiserver: 'spec.secretStoreRef.name must name a SecretStore or ClusterSecretStore',
    parse: 'spec.secretStoreRef.name must name a SecretStore or ClusterSecretStore',
  },
  {
    title: 'secretStoreRef of an unknown kind',
    kind: 'ExternalSecret',
    spec: es({ secretStoreRef: { name: 's', kind: 'VaultStore' } }),
    apiserver: 'Unsupported value: "VaultStore"',
    parse: 'spec.secretStoreRef.kind: Invalid option',
  },
  {
    title: 'refreshInterval that is not a duration',
    kind: 'ExternalSecret',
    spec: es({ refreshInterval: '1 hour' }),
    apiserver: `spec.refreshInterval ${DURATION_MESSAGE}`,
    parse: `spec.refreshInterval ${DURATION_MESSAGE}`,
  },
  {
    title: 'unknown refreshPolicy',
    kind: 'ExternalSecret',
    spec: es({ refreshPolicy: 'Sometimes' }),
    apiserver: 'Unsupported value: "Sometimes"',
    parse: 'spec.refreshPolicy: Invalid option',
  },
  {
    title: 'target.name that is not a DNS subdomain',
    kind: 'ExternalSecret',
    spec: es({ target: { name: 'My_Secret' } }),
    apiserver: 'spec.target.name must be a DNS subdomain name',
    parse: 'spec.target.name must be a DNS subdomain name',
  },
  {
    title: 'unknown creationPolicy',
    kind: 'ExternalSecret',
    spec: es({ target: { creationPolicy: 'Always' } }),
    apiserver: 'Unsupported value: "Always"',
    parse: 'spec.target.creationPolicy: Invalid option',
  },
  {
    title: 'deletionPolicy Delete on a Secret it does not own',
    kind: 'ExternalSecret',
    spec: es({ target: { creationPolicy: 'Merge', deletionPolicy: 'Delete' } }),
    apiserver: 'set creationPolicy: Owner or deletionPolicy: Retain',
    parse: 'set creationPolicy: Owner or deletionPolicy: Retain',
  },
  {
    title: 'deletionPolicy Delete with creationPolicy CreateOrMerge (never owned)',
    kind: 'ExternalSecret',
    spec: es({ target: { creationPolicy: 'CreateOrMerge', deletionPolicy: 'Delete' } }),
    apiserver: 'set creationPolicy: Owner or deletionPolicy: Retain',
    parse: 'set creationPolicy: Owner or deletionPolicy: Retain',
  },
  {
    title: 'deletionPolicy Merge with creationPolicy None',
    kind: 'ExternalSecret',
    spec: es({ target: { creationPolicy: 'None', deletionPolicy: 'Merge' } }),
    apiserver: 'deletionPolicy Merge cannot be used with creationPolicy: None',
    parse: 'deletionPolicy Merge cannot be used with creationPolicy: None',
  },
  {
    title: 'immutable with creationPolicy None',
    kind: 'ExternalSecret',
    spec: es({ target: { creationPolicy: 'None', immutable: true } }),
    apiserver: 'spec.target.immutable has no effect with creationPolicy: None',
    parse: 'spec.target.immutable has no effect with creationPolicy: None',
  },
  {
    title: 'empty data',
    kind: 'ExternalSecret',
    spec: es({ data: [] }),
    apiserver: 'spec.data must list at least one entry',
    parse: 'spec.data must list at least one entry',
  },
  {
    title: 'no data at all',
    kind: 'ExternalSecret',
    spec: { secretStoreRef: { name: 'fake-store' } },
    apiserver: 'spec.data must list at least one entry',
    parse: 'spec.data must list at least one entry',
  },
  {
    title: 'the same secretKey twice',
    kind: 'ExternalSecret',
    spec: es({
      data: [
        { secretKey: 'password', remoteRef: { key: 'a' } },
        { secretKey: 'password', remoteRef: { key: 'b' } },
      ],
    }),
    apiserver: 'spec.data must not repeat a secretKey',
    parse: 'spec.data must not repeat a secretKey',
  },
  {
    title: 'secretKey with a slash',
    kind: 'ExternalSecret',
    spec: data({ secretKey: 'db/password', remoteRef: { key: 'a' } }),
    apiserver: "spec.data[].secretKey must be a Secret key: letters, digits, '-', '_' and '.' only",
    parse: "spec.data[0].secretKey must be a Secret key: letters, digits, '-', '_' and '.' only",
  },
  {
    title: 'secretKey longer than 253 characters',
    kind: 'ExternalSecret',
    spec: data({ secretKey: 'k'.repeat(254), remoteRef: { key: 'a' } }),
    apiserver: 'spec.data[0].secretKey: Too long',
    parse: 'spec.data[0].secretKey: Too big',
  },
  {
    title: 'data entry without remoteRef',
    kind: 'ExternalSecret',
    spec: data({ secretKey: 'password' }),
    apiserver: 'spec.data[0].remoteRef: Required value',
    parse: 'spec.data[0].remoteRef: required',
  },
  {
    title: 'remoteRef with an empty key',
    kind: 'ExternalSecret',
    spec: data({ secretKey: 'password', remoteRef: { key: '' } }),
    apiserver: 'spec.data[].remoteRef.key must name the remote secret; it cannot be empty',
    parse: 'spec.data[0].remoteRef.key must name the remote secret; it cannot be empty',
  },
  {
    title: 'unknown decodingStrategy',
    kind: 'ExternalSecret',
    spec: data({ secretKey: 'password', remoteRef: { key: 'a', decodingStrategy: 'Hex' } }),
    apiserver: 'Unsupported value: "Hex"',
    parse: 'spec.data[0].remoteRef.decodingStrategy: Invalid option',
  },
  {
    title: 'more than 256 data entries',
    kind: 'ExternalSecret',
    spec: es({ data: Array.from({ length: 257 }, (_, i) => ({ secretKey: `k${i}`, remoteRef: { key: 'a' } })) }),
    apiserver: 'Too many: 257: must have at most 256 items',
    parse: 'spec.data: Too big',
  },
  {
    title: 'store without provider',
    kind: 'SecretStore',
    spec: { refreshInterval: '5m' },
    apiserver: 'spec.provider: Required value',
    parse: 'spec.provider: required',
  },
  {
    title: 'store with an empty provider',
    kind: 'SecretStore',
    spec: { provider: {} },
    apiserver: 'spec.provider must set exactly one of aws, gcpsm, azurekv, alibaba, vault, fake',
    parse: 'spec.provider must set exactly one of aws, gcpsm, azurekv, alibaba, vault, fake',
  },
  {
    title: 'store with two providers',
    kind: 'SecretStore',
    spec: { provider: { ...fakeProvider, vault: { server: 'http://127.0.0.1:8200', auth: { tokenSecretRef: { name: 'vault', key: 'token' } } } } },
    apiserver: 'spec.provider must set exactly one of aws, gcpsm, azurekv, alibaba, vault, fake',
    parse: 'spec.provider must set exactly one of aws, gcpsm, azurekv, alibaba, vault, fake',
  },
  {
    title: 'fake provider repeating a key and version',
    kind: 'SecretStore',
    spec: {
      provider: {
        fake: {
          data: [
            { key: 'a', value: '1', version: 'v1' },
            { key: 'a', value: '2', version: 'v2' },
            { key: 'a', value: '3', version: 'v1' },
          ],
        },
      },
    },
    apiserver: 'spec.provider.fake.data must not repeat a key with the same version',
    parse: 'spec.provider.fake.data must not repeat a key with the same version',
  },
  {
    title: 'fake provider entry without value',
    kind: 'SecretStore',
    spec: { provider: { fake: { data: [{ key: 'a' }] } } },
    apiserver: 'spec.provider.fake.data[0].value: Required value',
    parse: 'spec.provider.fake.data[0].value: required',
  },
  {
    title: 'store refreshInterval that is not a duration',
    kind: 'SecretStore',
    spec: { provider: fakeProvider, refreshInterval: '-5m' },
    apiserver: `spec.refreshInterval ${DURATION_MESSAGE}`,
    parse: `spec.refreshInterval ${DURATION_MESSAGE}`,
  },
  {
    title: 'ClusterSecretStore condition that admits nothing',
    kind: 'ClusterSecretStore',
    spec: { provider: fakeProvider, conditions: [{}] },
    apiserver: 'each entry of spec.conditions must set namespaces, namespaceSelector or namespaceRegexes',
    parse: 'each entry of spec.conditions must set namespaces, namespaceSelector or namespaceRegexes',
  },
  {
    title: 'ClusterSecretStore condition naming an invalid namespace',
    kind: 'ClusterSecretStore',
    spec: { provider: fakeProvider, conditions: [{ namespaces: ['Team_A'] }] },
    apiserver: 'spec.conditions[].namespaces must hold namespace names (DNS labels)',
    parse: 'spec.conditions[0].namespaces[0]: spec.conditions[].namespaces must hold namespace names (DNS labels)',
  },
  {
    title: 'namespaceSelector with an unknown operator',
    kind: 'ClusterSecretStore',
    spec: {
      provider: fakeProvider,
      conditions: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Like', values: ['a'] }] } }],
    },
    apiserver: 'Unsupported value: "Like"',
    parse: 'spec.conditions[0].namespaceSelector.matchExpressions[0].operator: Invalid option',
  },
  {
    title: 'namespaceSelector In without values',
    kind: 'ClusterSecretStore',
    spec: {
      provider: fakeProvider,
      conditions: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } }],
    },
    apiserver: 'matchExpressions values must be non-empty for operator In and NotIn',
    parse: 'matchExpressions values must be non-empty for operator In and NotIn',
  },
  {
    title: 'rolloutRestartTargets of a kind that is not a workload',
    kind: 'ExternalSecret',
    spec: es({ rolloutRestartTargets: [{ kind: 'Job', name: 'migrate' }] }),
    apiserver: 'Unsupported value: "Job"',
    parse: 'spec.rolloutRestartTargets[0].kind: Invalid option',
  },
  {
    title: 'rolloutRestartTargets naming one workload twice',
    kind: 'ExternalSecret',
    spec: es({ rolloutRestartTargets: [{ kind: 'Deployment', name: 'api' }, { kind: 'Deployment', name: 'api' }] }),
    apiserver: 'spec.rolloutRestartTargets must not name the same workload twice',
    parse: 'spec.rolloutRestartTargets must not name the same workload twice',
  },
  {
    title: 'rolloutRestartTargets with a name that cannot be a workload',
    kind: 'ExternalSecret',
    spec: es({ rolloutRestartTargets: [{ kind: 'Deployment', name: 'Api_Server' }] }),
    apiserver: 'spec.rolloutRestartTargets[].name must be the name of a workload',
    parse: 'spec.rolloutRestartTargets[0].name must be the name of a workload',
  },
  {
    title: 'rollout policy that does not exist',
    kind: 'ExternalSecret',
    spec: es({ rollout: { policy: 'Always' } }),
    apiserver: 'Unsupported value: "Always"',
    parse: 'spec.rollout.policy: Invalid option',
  },
  {
    title: 'rollout settleWindow that is not a duration',
    kind: 'ExternalSecret',
    spec: es({ rollout: { settleWindow: 'soon' } }),
    apiserver: 'spec.rollout.settleWindow must be a duration',
    parse: 'spec.rollout.settleWindow must be a duration',
  },
];

/** The object a bad case describes, named `name` (ExternalSecrets and SecretStores in `namespace`). */
export function badObject(badCase: BadCase, name: string, namespace?: string): Json {
  const object =
    badCase.kind === 'ExternalSecret'
      ? externalSecret(name, badCase.spec, namespace)
      : badCase.kind === 'SecretStore'
        ? secretStore(name, badCase.spec, namespace)
        : clusterSecretStore(name, badCase.spec);
  if (badCase.spec['omitSpec'] === true) delete object['spec'];
  return object;
}
