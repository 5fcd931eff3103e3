// The process: configuration → one Kubernetes client → operator → signals. Wiring only. Started by main.ts.
import { loadConfig, ConfigError, HelpRequested, usage } from './config.ts';
import { createLogger } from './log.ts';
import { createKubeClient } from './k8s/kube-client.ts';
import { describeKubeError } from './k8s/describe-error.ts';
import { StartupError } from './k8s/preflight.ts';
import { systemClock } from './util/clock.ts';
import { createFakeProvider } from './providers/fake/provider.ts';
import { createAwsProvider } from './providers/aws/provider.ts';
import { createVaultProvider } from './providers/vault/provider.ts';
import { createAuditStream } from './providers/vault/audit-stream.ts';
import { createAlibabaProvider } from './providers/alibaba/provider.ts';
import { createAzureProvider } from './providers/azure/provider.ts';
import { createGcpProvider } from './providers/gcp/provider.ts';
import type { ProviderSet } from './providers/registry.ts';
import { startOperator } from './operator.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(usage());
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`secret-relay: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  if (config.kubeconfig === undefined && !process.env['KUBERNETES_SERVICE_HOST']) {
    throw new StartupError('no Kubernetes API server to talk to: not running in a cluster and no kubeconfig given; pass --kubeconfig=<file> or set KUBECONFIG');
  }
  let kube;
  try {
    kube = createKubeClient({ kubeconfigPath: config.kubeconfig, bearerToken: config.kubeToken, qps: config.qps, burst: config.burst });
  } catch (err) {
    throw new StartupError(`cannot load the kubeconfig${config.kubeconfig ? ` ${config.kubeconfig}` : ' (in-cluster)'}: ${describeKubeError(err)}; check --kubeconfig (or KUBECONFIG)`);
  }
  const auditStream = config.vaultAuditListen ? createAuditStream({ ...config.vaultAuditListen, logger }) : undefined;
  await auditStream?.listen().catch((err: unknown) => {
    throw new StartupError(`--vault-audit-listen ${auditStream.address}: cannot listen (${err instanceof Error ? err.message : String(err)})`);
  });
  // One implementation per provider of the list (src/api/providers/index.ts): a provider left out fails the typecheck.
  const providers = {
    fake: createFakeProvider(),
    aws: createAwsProvider(),
    vault: createVaultProvider(
      { logger, operatorServiceAccount: { namespace: config.namespace, name: config.serviceAccountName } },
      { auditStream },
    ),
    alibaba: createAlibabaProvider(),
    azurekv: createAzureProvider(),
    gcpsm: createGcpProvider(),
  } satisfies ProviderSet;
  const operator = await startOperator({ config, kube, logger, clock: systemClock, providers: Object.values(providers) });
  logger.info({ metricsPort: operator.metricsPort, identity: config.identity }, 'secret-relay started');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ error: describeKubeError(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

// One line a user can act on, never a client's dump of the response (ApiException embeds body and headers).
main().catch((err: unknown) => {
  process.stderr.write(`secret-relay: ${err instanceof StartupError ? err.message : describeKubeError(err)}\n`);
  process.exit(1);
});
