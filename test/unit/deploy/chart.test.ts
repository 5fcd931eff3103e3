// The Helm chart, rendered by the real helm (test/setup/install-helm.sh): lint and template with default and
// non-default values, the flags it passes are ones the operator accepts, and bad values fail with a reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment, V1Role, V1RoleBinding, V1Service } from '@kubernetes/client-node';
import { loadConfig } from '../../../src/config.ts';
import { helmLint, helmTemplate, splitDocuments, type RenderOptions, type RenderedDocument } from '../../../scripts/render-manifests.ts';

const NON_DEFAULT: Record<string, unknown> = {
  replicas: 3,
  image: { repository: 'registry.example/secret-relay', digest: 'sha256:' + 'a'.repeat(64) },
  watchNamespaces: ['team-b', 'team-a'],
  logLevel: 'debug',
  concurrency: 16,
  kubeApi: { qps: 100, burst: 200 },
  audit: { sink: 'file', file: { path: '/var/log/relay/audit.jsonl', sizeLimit: '1Gi' } },
  metrics: { port: 9090, serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
  rbac: { tokenRequest: { mode: 'named', serviceAccounts: [{ namespace: 'team-a', name: 'vault' }, { namespace: 'team-a', name: 'aws' }, { namespace: 'team-b', name: 'gcp' }] } },
  crds: { install: false },
  controllerClass: 'shard-b',
  leaderElection: { leaseName: 'relay-leader', leaseDuration: '30s', renewDeadline: '20s', retryPeriod: '4s' },
  extraArgs: ['--identity=fixed'],
};

function render(options: RenderOptions = {}): RenderedDocument[] {
  return splitDocuments(helmTemplate(options));
}

function find<T>(docs: readonly RenderedDocument[], kind: string, name?: string): T {
  const doc = docs.find((d) => d.kind === kind && (name === undefined || d.name === name));
  assert.ok(doc, `no ${kind}${name ? ` ${name}` : ''} rendered; got ${docs.map((d) => `${d.kind}/${d.name}`).join(', ')}`);
  return doc.object as unknown as T;
}

function operatorArgs(docs: readonly RenderedDocument[]): string[] {
  return find<V1Deployment>(docs, 'Deployment').spec!.template.spec!.containers[0]!.args!;
}

test('helm lint --strict passes with default and non-default values', () => {
  assert.match(helmLint(), /1 chart\(s\) linted, 0 chart\(s\) failed/);
  assert.match(helmLint({ values: NON_DEFAULT }), /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('defaults: two replicas with leader election, probes, restricted pod security, no service links, a PDB', () => {
  const docs = render();
  const deployment = find<V1Deployment>(docs, 'Deployment');
  assert.equal(deployment.spec!.replicas, 2);
  const pod = deployment.spec!.template.spec!;
  const container = pod.containers[0]!;
  assert.equal(pod.enableServiceLinks, false);
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  assert.deepEqual(container.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(container.ports?.[0]?.containerPort, 8080);
  assert.equal(container.image, 'ghcr.io/secret-relay/secret-relay:0.1.0');
  assert.deepEqual(container.env?.[0], { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
  assert.ok(operatorArgs(docs).includes('--leader-elect=true'));
  assert.equal(pod.volumes, undefined, 'no volume unless the audit log goes to a file');
  assert.ok(docs.some((d) => d.kind === 'PodDisruptionBudget'));
  assert.ok(!docs.some((d) => d.kind === 'ServiceMonitor'));
  assert.equal(docs.filter((d) => d.kind === 'CustomResourceDefinition').length, 10);
  for (const crd of docs.filter((d) => d.kind === 'CustomResourceDefinition')) {
    assert.equal((crd.object.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/resource-policy'], 'keep');
  }
});

test('the flags the chart renders are accepted by the operator, with the values given', () => {
  for (const values of [undefined, NON_DEFAULT]) {
    const docs = render(values ? { values } : {});
    const config = loadConfig(operatorArgs(docs), { POD_NAMESPACE: 'secret-relay-system' }, () => {
      throw new Error('no file reads expected');
    });
    if (values) {
      assert.equal(config.metricsPort, 9090);
      assert.deepEqual(config.watchNamespaces, ['team-a', 'team-b']);
      assert.equal(config.logLevel, 'debug');
      assert.equal(config.concurrency, 16);
      assert.equal(config.qps, 100);
      assert.equal(config.burst, 200);
      assert.equal(config.auditLogFile, '/var/log/relay/audit.jsonl');
      assert.equal(config.leaseName, 'relay-leader');
      assert.equal(config.controllerClass, 'shard-b');
      assert.equal(config.leaseDurationMs, 30_000);
      assert.equal(config.identity, 'fixed');
    } else {
      assert.equal(config.metricsPort, 8080);
      assert.equal(config.leaderElect, true);
      assert.equal(config.hmacKeySecret, 'secret-relay-hmac-key');
      assert.equal(config.controllerClass, 'default');
      assert.equal(config.leaseName, 'secret-relay-leader');
      assert.equal(config.auditLogFile, undefined);
    }
  }
});

test('non-default values: namespaced bindings, named token minting, audit file volume, ServiceMonitor, digest', () => {
  const docs = render({ values: NON_DEFAULT });
  const deployment = find<V1Deployment>(docs, 'Deployment');
  const container = deployment.spec!.template.spec!.containers[0]!;
  assert.equal(container.image, `registry.example/secret-relay@sha256:${'a'.repeat(64)}`);
  assert.deepEqual(container.volumeMounts, [{ name: 'audit-log', mountPath: '/var/log/relay' }]);
  assert.deepEqual(deployment.spec!.template.spec!.volumes, [{ name: 'audit-log', emptyDir: { sizeLimit: '1Gi' } }]);
  assert.ok(!docs.some((d) => d.kind === 'CustomResourceDefinition'));

  // Watched namespaces: the namespaced ClusterRole is bound per namespace, never cluster-wide.
  assert.ok(!docs.some((d) => d.kind === 'ClusterRoleBinding' && d.name === 'secret-relay-namespaced'));
  const perNamespace = docs.filter((d) => d.kind === 'RoleBinding' && d.name === 'secret-relay').map((d) => d.namespace).sort();
  assert.deepEqual(perNamespace, ['secret-relay-system', 'team-a', 'team-b']);
  for (const ns of ['team-a', 'team-b']) {
    const binding = docs.find((d) => d.kind === 'RoleBinding' && d.name === 'secret-relay' && d.namespace === ns)!.object as unknown as V1RoleBinding;
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'secret-relay-namespaced' });
  }

  // Events about ClusterSecretStores live in 'default', outside the watched namespaces.
  const clusterEvents = docs.find((d) => d.kind === 'Role' && d.name === 'secret-relay-cluster-events')!;
  assert.equal(clusterEvents.namespace, 'default');
  assert.ok(docs.some((d) => d.kind === 'RoleBinding' && d.name === 'secret-relay-cluster-events' && d.namespace === 'default'));

  // Named token minting: no ClusterRole may mint tokens; one Role per namespace names the ServiceAccounts.
  for (const d of docs.filter((x) => x.kind === 'ClusterRole')) {
    assert.ok(!JSON.stringify(d.object).includes('serviceaccounts'), `${d.name} still grants serviceaccounts or their tokens`);
  }
  const tokenRoles = docs.filter((d) => d.kind === 'Role' && d.name === 'secret-relay-token-request');
  assert.deepEqual(
    tokenRoles.map((d) => [d.namespace, (d.object as unknown as V1Role).rules]),
    [
      ['team-a', [
        { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['aws', 'vault'], verbs: ['create'] },
        { apiGroups: [''], resources: ['serviceaccounts'], resourceNames: ['aws', 'vault'], verbs: ['get'] },
      ]],
      ['team-b', [
        { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['gcp'], verbs: ['create'] },
        { apiGroups: [''], resources: ['serviceaccounts'], resourceNames: ['gcp'], verbs: ['get'] },
      ]],
    ],
  );
  assert.ok(docs.some((d) => d.kind === 'RoleBinding' && d.name === 'secret-relay-token-request' && d.namespace === 'team-b'));

  const monitor = find<{ metadata: { labels: Record<string, string> }; spec: { endpoints: { port: string; path: string }[] } }>(docs, 'ServiceMonitor');
  assert.equal(monitor.metadata.labels['release'], 'prometheus');
  assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
});

test('tokenRequest none grants no token minting anywhere; one replica renders no PDB', () => {
  const docs = render({ values: { replicas: 1, rbac: { tokenRequest: { mode: 'none' } } } });
  assert.ok(!docs.some((d) => d.kind.endsWith('Role') && JSON.stringify(d.object).includes('"serviceaccounts')));
  assert.ok(!docs.some((d) => d.kind === 'PodDisruptionBudget'));
});

test('rbac.rollouts grants list/patch on the workload kinds; false removes every workload rule', () => {
  const workloadRules = (docs: RenderedDocument[]) =>
    docs
      .filter((d) => d.kind.endsWith('Role'))
      .flatMap((d) => (d.object['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[] | undefined) ?? [])
      .filter((r) => r.apiGroups.includes('apps') || r.apiGroups.includes('argoproj.io'));
  assert.deepEqual(
    workloadRules(render()).map((r) => `${r.apiGroups.join()}:${r.resources.join()}:${r.verbs.join()}`),
    ['apps:deployments,statefulsets,daemonsets:list,patch', 'argoproj.io:rollouts:get,patch'],
  );
  assert.deepEqual(workloadRules(render({ values: { rbac: { rollouts: false } } })), []);
});

test('values that cannot work fail rendering with a reason', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ replicas: 2, leaderElection: { enabled: false } }, /replicas > 1 needs leaderElection.enabled=true/],
    [{ rbac: { tokenRequest: { mode: 'named' } } }, /needs rbac.tokenRequest.serviceAccounts/],
    [{ rbac: { tokenRequest: { mode: 'some' } } }, /must be all, named or none/],
    [{ audit: { sink: 'syslog' } }, /audit.sink must be stdout or file/],
    [{ concurrency: 0 }, /concurrency must be between 1 and 64/],
    [{ metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } }, /serviceMonitor.enabled needs metrics.service.enabled/],
    [{ changeFeeds: { webhook: { enabled: true } } }, /changeFeeds.webhook.enabled needs changeFeeds.webhook.tlsSecretName/],
    [{ changeFeeds: { webhook: { enabled: true, tlsSecretName: 't', port: 8080 } } }, /changeFeeds.webhook.port must differ from metrics.port/],
    [{ changeFeeds: { vaultAudit: { enabled: true, listen: '9090' } } }, /changeFeeds.vaultAudit.listen must be host:port/],
    [{ changeFeeds: { vaultAudit: { enabled: true, listen: '0.0.0.0:8080' } } }, /port 8080 is already taken/],
  ];
  for (const [values, message] of cases) assert.throws(() => helmTemplate({ values }), message, JSON.stringify(values));
});

test('controllerClass: another class gets its own Lease (and the Role names it), so two installations never share a leader', () => {
  const docs = render({ values: { controllerClass: 'shard-b' } });
  const config = loadConfig(operatorArgs(docs), { POD_NAMESPACE: 'secret-relay-system' }, () => {
    throw new Error('no file reads expected');
  });
  assert.equal(config.controllerClass, 'shard-b');
  assert.equal(config.leaseName, 'secret-relay-leader-shard-b');
  assert.ok(JSON.stringify(docs.filter((d) => d.kind === 'Role')).includes('secret-relay-leader-shard-b'), 'the Role grants the Lease of the class');
});

test('change feeds: off by default; on, the webhook (TLS Secret mounted read-only) and the Vault audit listener get flags the operator accepts, ports and Services', () => {
  const defaults = render();
  assert.ok(!operatorArgs(defaults).some((a) => a.startsWith('--change-webhook') || a.startsWith('--vault-audit')));
  assert.deepEqual(defaults.filter((d) => d.kind === 'Service').map((d) => d.name), ['secret-relay-metrics']);

  const docs = render({ values: { changeFeeds: { webhook: { enabled: true, port: 9443, tlsSecretName: 'relay-webhook-tls', service: { type: 'LoadBalancer' } }, vaultAudit: { enabled: true, listen: '0.0.0.0:9191' } } } });
  const config = loadConfig(operatorArgs(docs), { POD_NAMESPACE: 'secret-relay-system' }, () => {
    throw new Error('no file reads expected');
  });
  assert.deepEqual(config.changeWebhook, { port: 9443, host: '0.0.0.0', certFile: '/etc/secret-relay/change-webhook-tls/tls.crt', keyFile: '/etc/secret-relay/change-webhook-tls/tls.key' });
  assert.deepEqual(config.vaultAuditListen, { host: '0.0.0.0', port: 9191 });

  const pod = find<V1Deployment>(docs, 'Deployment').spec!.template.spec!;
  const container = pod.containers[0]!;
  assert.deepEqual(container.ports?.map((p) => [p.name, p.containerPort]), [['metrics', 8080], ['change-webhook', 9443], ['vault-audit', 9191]]);
  assert.deepEqual(container.volumeMounts, [{ name: 'change-webhook-tls', mountPath: '/etc/secret-relay/change-webhook-tls', readOnly: true }]);
  assert.deepEqual(pod.volumes, [{ name: 'change-webhook-tls', secret: { secretName: 'relay-webhook-tls', defaultMode: 0o440, items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] } }]);

  const webhook = find<V1Service>(docs, 'Service', 'secret-relay-webhook');
  assert.equal(webhook.spec!.type, 'LoadBalancer');
  assert.deepEqual(webhook.spec!.ports, [{ name: 'change-webhook', port: 9443, targetPort: 'change-webhook', protocol: 'TCP' }]);
  const audit = find<V1Service>(docs, 'Service', 'secret-relay-audit');
  assert.equal(audit.spec!.type, 'ClusterIP', 'audit entries never leave the cluster network');
  assert.deepEqual(audit.spec!.ports, [{ name: 'vault-audit', port: 9191, targetPort: 'vault-audit', protocol: 'TCP' }]);
  assert.deepEqual(audit.spec!.selector, webhook.spec!.selector);

  // With the audit file too, both volumes are there.
  const both = find<V1Deployment>(render({ values: { audit: { sink: 'file' }, changeFeeds: { webhook: { enabled: true, tlsSecretName: 't' } } } }), 'Deployment').spec!.template.spec!;
  assert.deepEqual(both.volumes?.map((v) => v.name), ['audit-log', 'change-webhook-tls']);
  assert.match(helmLint({ values: { changeFeeds: { webhook: { enabled: true, tlsSecretName: 't' }, vaultAudit: { enabled: true } } } }), /0 chart\(s\) failed/);
});
