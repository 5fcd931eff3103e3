// The aws provider's CertificateManager service against moto's ACM and the real control plane: a certificate
// requested with export enabled becomes a kubernetes.io/tls Secret through ESO's documented template (now liquid);
// an export is reused while the certificate is unchanged (exports of public certificates are billed); a certificate
// without export enabled, an unknown ARN and `find` are refused by name. Every AWS call passes through
// test/support/sts-web-identity-check.ts, which counts them.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { ACMClient, GetCertificateCommand, ImportCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import type { LocalCluster } from '../support/cluster.ts';
import { useCluster } from '../support/shared-cluster.ts';
import type { Moto } from '../support/moto.ts';
import type { StsWebIdentityCheck } from '../support/sts-web-identity-check.ts';
import { AWS_REGION, directAwsClient, motoSeedCredentials, startMotoBehindCheck } from '../support/aws.ts';
import { adminKube, createObject, Plural, readSecret, startTestOperator, type TestOperator } from '../support/operator.ts';
import { assertNoLeaks, SecretValues, stopTestOperator, TestNamespaces, waitReady } from '../support/integration.ts';
import type { TestKube } from '../support/kube.ts';
import { createAwsProvider } from '../../src/providers/aws/provider.ts';
import { NoSecretError, TerminalError, type SecretsClient } from '../../src/providers/provider.ts';
import { systemClock, type Clock } from '../../src/util/clock.ts';
import { EXPORT_IDLE_MS } from '../../src/providers/aws/certificate-manager.ts';
import { LEAF_CERT_PEM, LEAF_KEY_PEM } from '../unit/templates/fixtures.ts';

let cluster: LocalCluster;
let kube: TestKube;
let moto: Moto;
let check: StsWebIdentityCheck;
let op: TestOperator;
let acm: ACMClient;
const secrets = new SecretValues();
const namespaces = new TestNamespaces('aws-acm');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const signal = () => AbortSignal.timeout(30_000);

before(async () => {
  cluster = await useCluster();
  kube = adminKube(cluster.kubeconfigPath);
  ({ moto, check } = await startMotoBehindCheck(cluster.kubeconfigPath));
  acm = new ACMClient({ region: AWS_REGION, endpoint: moto.endpoint, credentials: motoSeedCredentials });
  op = await startTestOperator({ kubeconfigPath: cluster.kubeconfigPath, args: ['--leader-elect=false'], providers: [createAwsProvider()] });
});

after(async () => {
  await stopTestOperator(op, 'aws-acm');
  // Its stores point at this suite's moto, stopped below: the next suites' operators need not retry them.
  if (kube) await namespaces.deleteAll(kube);
  acm?.destroy();
  await check?.stop();
  await moto?.stop();
  await cluster?.stop();
});

beforeEach(() => check.clear());

/** A certificate as ACM issues one with export enabled; moto signs it and adds its chain. */
async function exportableCertificate(domain: string): Promise<string> {
  const out = await acm.send(new RequestCertificateCommand({ DomainName: domain, SubjectAlternativeNames: [domain, `www.${domain}`], Options: { Export: 'ENABLED' } }));
  return out.CertificateArn!;
}

function directClient(clock: Clock = systemClock): Promise<SecretsClient> {
  return directAwsClient({ service: 'CertificateManager', endpoint: check.endpoint }, clock);
}

test('a certificate ARN reads as its certificate, chain and decrypted private key; the export is reused while the certificate is the same', async () => {
  await moto.reset();
  const arn = await exportableCertificate('app.example');
  const issued = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
  const client = await directClient();
  const pem = text(await client.getSecret({ key: arn }, signal()));
  assert.ok(pem.startsWith(issued.Certificate!.replace(/\n+$/, '')), 'the certificate first');
  assert.ok(pem.includes(issued.CertificateChain!.replace(/\n+$/, '')), 'then its chain');
  assert.ok(!pem.includes('ENCRYPTED'), 'the key is decrypted');
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n$/.exec(pem);
  assert.ok(key, 'an unencrypted PKCS#8 key last');
  assert.ok(new X509Certificate(issued.Certificate!).checkPrivateKey(createPrivateKey(key[0])), 'the key is the certificate’s');
  assert.equal(check.count('certificatemanager:ExportCertificate'), 1);

  assert.equal(text(await client.getSecret({ key: arn }, signal())), pem, 'the same value again');
  assert.equal(check.count('certificatemanager:GetCertificate'), 2, 'each read asks whether the certificate changed');
  assert.equal(check.count('certificatemanager:ExportCertificate'), 1, 'but exports it once');

  const imported = await acm.send(new ImportCertificateCommand({ Certificate: new TextEncoder().encode(LEAF_CERT_PEM), PrivateKey: new TextEncoder().encode(LEAF_KEY_PEM) }));
  await assert.rejects(client.getSecret({ key: imported.CertificateArn! }, signal()), /not exportable \(Options\.Export is not ENABLED\)/);
  await assert.rejects(client.getSecret({ key: arn.replace(/certificate\/.*/, 'certificate/00000000-0000-0000-0000-000000000000') }, signal()), NoSecretError);
  await assert.rejects(client.getAllSecrets({ path: 'x' }, signal()), (err: unknown) => err instanceof TerminalError && /dataFrom find is not supported/.test(err.message));
  await client.close();
});

test('an export no one has read for EXPORT_IDLE_MS is dropped with its private key: the next read exports again', async () => {
  await moto.reset();
  const arn = await exportableCertificate('idle.example');
  let now = Date.now();
  const client = await directClient({ now: () => now });
  const first = text(await client.getSecret({ key: arn }, signal()));
  now += EXPORT_IDLE_MS - 1;
  assert.equal(text(await client.getSecret({ key: arn }, signal())), first);
  assert.equal(check.count('certificatemanager:ExportCertificate'), 1, 'read within the idle time: the export is reused');
  now += EXPORT_IDLE_MS - 1;
  assert.equal(text(await client.getSecret({ key: arn }, signal())), first, 'each read restarts the idle time');
  assert.equal(check.count('certificatemanager:ExportCertificate'), 1);
  now += EXPORT_IDLE_MS;
  const again = text(await client.getSecret({ key: arn }, signal()));
  assert.equal(check.count('certificatemanager:ExportCertificate'), 2, 'unread for EXPORT_IDLE_MS: exported again, the kept key was dropped');
  assert.equal(again.slice(0, again.indexOf('-----BEGIN PRIVATE KEY-----')), first.slice(0, first.indexOf('-----BEGIN PRIVATE KEY-----')), 'the same certificate and chain');
  await client.close();
});

test('ESO\'s ACM example, migrated: a kubernetes.io/tls Secret from an exported certificate', async () => {
  await moto.reset();
  const ns = await namespaces.create(kube);
  const arn = await exportableCertificate('tls.example');
  const issued = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'aws-keys' }, stringData: { id: 'AKIASTATICSTATIC', key: secrets.next('aws-secret-key') } } });
  await createObject(kube, Plural.SecretStore, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'SecretStore',
    metadata: { name: 'aws-certificate-manager' },
    spec: {
      provider: {
        aws: {
          service: 'CertificateManager',
          region: AWS_REGION,
          endpoint: check.endpoint,
          auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-keys', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-keys', key: 'key' } } },
        },
      },
    },
  }, ns);
  await createObject(kube, Plural.ExternalSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'ExternalSecret',
    metadata: { name: 'acm-exported-cert' },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'SecretStore', name: 'aws-certificate-manager' },
      target: {
        template: {
          type: 'kubernetes.io/tls',
          data: { 'tls.crt': '{{ cert | filter_pem: "CERTIFICATE" }}', 'tls.key': '{{ cert | filter_pem: "PRIVATE KEY" }}' },
        },
      },
      data: [{ secretKey: 'cert', remoteRef: { key: arn } }],
    },
  }, ns);
  await waitReady(kube, { namespace: ns, name: 'acm-exported-cert', status: 'True' });
  const secret = await readSecret(kube, ns, 'acm-exported-cert');
  assert.equal(secret?.type, 'kubernetes.io/tls');
  const crt = Buffer.from(secret!.data!['tls.crt']!, 'base64').toString();
  const key = Buffer.from(secret!.data!['tls.key']!, 'base64').toString();
  secrets.add(key.split('\n')[1]!);
  assert.equal(new X509Certificate(crt).fingerprint256, new X509Certificate(issued.Certificate!).fingerprint256, 'the leaf first');
  assert.ok(new X509Certificate(crt).checkPrivateKey(createPrivateKey(key)));

  // A PushSecret to this store is refused with what to use instead (not "aws cannot push", which it can elsewhere).
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'to-push' }, stringData: { v: secrets.next('push-value') } } });
  await createObject(kube, Plural.PushSecret, {
    apiVersion: 'secret-relay.dev/v1alpha1',
    kind: 'PushSecret',
    metadata: { name: 'push-to-acm' },
    spec: { secretStoreRefs: [{ name: 'aws-certificate-manager' }], selector: { secret: { name: 'to-push' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: 'pushed' } } }] },
  }, ns);
  await waitReady(kube, { plural: Plural.PushSecret, namespace: ns, name: 'push-to-acm', status: 'False', message: /service CertificateManager only reads certificates; push to a store of service SecretsManager or ParameterStore/ });
});

test('no secret value appears in any log line, audit record, Event or status written during the suite', async () => {
  await assertNoLeaks({ logs: [op.logs], audit: [op.audit], expectAudit: true, kube, namespaces: namespaces.names, values: secrets, atLeast: 2 });
});
