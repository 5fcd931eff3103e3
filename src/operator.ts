// Wiring of one operator process: a manager, the services controllers share, and the list of controller
// modules. Everything is built here from injected options, so tests run whole operators in-process side by side.
import { Registry } from 'prom-client';
import type { Clock } from './util/clock.ts';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { ExternalSecret, SecretStore, ClusterSecretStore } from './api/index.ts';
import { ConditionType } from './api/index.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { createMetrics } from './metrics/metrics.ts';
import type { KubeClient } from './k8s/kube-client.ts';
import { loadOrCreateHmacKey } from './k8s/hmac-key.ts';
import { ClusterSecretStoreKind, ExternalSecretKind, SecretStoreKind } from './k8s/kinds.ts';
import { ensureOperatorNamespace, startupStep, StartupError } from './k8s/preflight.ts';
import type { Provider } from './providers/provider.ts';
import { Manager } from './controller/runtime/manager.ts';
import type { ControllerModule } from './controller/module.ts';
import { createControllerServices, type ControllerServices } from './controller/services.ts';
import { createWebhookHandler } from './controller/changefeed/webhook.ts';
import { startChangeWebhookServer, type ChangeWebhookServer } from './http/change-webhook.ts';
import { createStoreKubeAccess } from './k8s/store-access.ts';
import { readFileSync } from 'node:fs';
import { externalSecretController } from './controller/externalsecret/module.ts';
import { secretStoreController, clusterSecretStoreController } from './controller/secretstore/module.ts';
import { rolloutController } from './controller/rollouts/module.ts';
import { clusterExternalSecretController } from './controller/clusterexternalsecret/module.ts';
import { pushSecretController } from './controller/pushsecret/module.ts';
import { clusterPushSecretController } from './controller/clusterpushsecret/module.ts';
import { changeFeedController, clusterChangeFeedController } from './controller/changefeed/module.ts';

/** The controllers of the operator. Adding one: its folder under src/controller/ and a line here. */
export const controllerModules: readonly ControllerModule[] = [externalSecretController, secretStoreController, clusterSecretStoreController, rolloutController, clusterExternalSecretController, pushSecretController, clusterPushSecretController, changeFeedController, clusterChangeFeedController];

export interface OperatorOptions {
  readonly config: Config;
  readonly kube: KubeClient;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly providers: readonly Provider[];
  /** Default controllerModules. */
  readonly controllers?: readonly ControllerModule[];
  /** Where audit lines go besides the optional file; stdout when absent. */
  readonly auditStdout?: NodeJS.WritableStream;
}

export interface RunningOperator {
  readonly metricsPort: number;
  /** The port of the signed change webhook (--change-webhook-port), when it is on. */
  readonly changeWebhookPort?: number | undefined;
  readonly registry: Registry;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/** Starts one operator; a start-up failure a user can fix rejects with a StartupError (one line, with the fix). */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { config, kube, logger, clock } = options;
  const modules = options.controllers ?? controllerModules;
  const registry = new Registry();
  const metrics = createMetrics(registry, { controllers: modules.map((m) => m.name) });
  const unobserveRequests = kube.observeRequests((verb) => metrics.kubeRequest(verb));
  let hmacKey: Uint8Array;
  try {
    await ensureOperatorNamespace(kube, config.namespace);
    const what = `read or create the Secret ${config.namespace}/${config.hmacKeySecret} (the drift HMAC key)`;
    hmacKey = config.hmacKey ?? (await startupStep(kube, what, () => loadOrCreateHmacKey(kube, config.namespace, config.hmacKeySecret)));
  } catch (err) {
    unobserveRequests();
    throw err;
  }
  const audit = createAuditLog({ ...(options.auditStdout ? { stdout: options.auditStdout as never } : {}), filePath: config.auditLogFile, clock, logger });

  const manager = new Manager({
    kube,
    clock,
    logger,
    metrics,
    watchNamespaces: config.watchNamespaces,
    workers: config.concurrency,
    queueRateLimit: { qps: config.queueQps, burst: config.queueBurst },
    http: { port: config.metricsPort, host: config.metricsHost, registry },
    leaderElection: config.leaderElect
      ? { namespace: config.namespace, name: config.leaseName, identity: config.identity, leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.leaseRenewDeadlineMs, retryPeriodMs: config.leaseRetryPeriodMs }
      : undefined,
  });
  const services = createControllerServices({ kube, caches: manager, clock, logger, metrics, audit, hmacKey, providers: options.providers, operatorNamespace: config.namespace, identity: config.identity, refreshTimePeriodMs: config.refreshTimePeriodMs, tenancy: config.tenancy, controllerClass: config.controllerClass,
    isolation: {
      sandbox: { workers: config.sandboxWorkers, timeoutMs: config.sandboxTimeoutMs, memoryMb: config.sandboxMemoryMb, namespaceBudgetMs: config.namespaceSandboxBudgetMs, inlineMaxBytes: config.sandboxInlineBytes },
      minRefreshIntervalMs: config.minRefreshIntervalMs,
    },
  });
  for (const module of modules) manager.add({ name: module.name, ...module.build(services) });

  const countReadyOf = (kind: typeof ExternalSecretKind) => () => countReady(manager.informer(kind).list());
  const [externalSecrets, secretStores, clusterSecretStores] = [countReadyOf(ExternalSecretKind), countReadyOf(SecretStoreKind), countReadyOf(ClusterSecretStoreKind)];
  metrics.setReadyCountsSource(() => ({ externalSecrets: externalSecrets(), stores: { SecretStore: secretStores(), ClusterSecretStore: clusterSecretStores() } }));

  const close = async () => {
    await services.close();
    await audit.close();
    unobserveRequests();
  };
  let started: { metricsPort: number };
  try {
    started = await manager.start();
  } catch (err) {
    await manager.stop().catch(() => {});
    await close();
    throw err;
  }
  let webhook: ChangeWebhookServer | undefined;
  try {
    webhook = config.changeWebhook ? await startWebhook(config.changeWebhook, services, kube, logger, () => manager.isLeader()) : undefined;
  } catch (err) {
    await manager.stop().catch(() => {});
    await close();
    throw err;
  }
  logger.info({ identity: config.identity, controllers: modules.map((m) => m.name), ...(webhook ? { changeWebhookPort: webhook.port } : {}) }, 'operator started');
  return {
    metricsPort: started.metricsPort,
    changeWebhookPort: webhook?.port,
    registry,
    isLeader: () => manager.isLeader(),
    async stop() {
      await webhook?.close();
      await manager.stop();
      await close();
    },
  };
}

/** The HTTPS listener of signed change notifications (docs/change-feeds.md). */
async function startWebhook(options: NonNullable<Config['changeWebhook']>, services: ControllerServices, kube: KubeClient, logger: Logger, isLeader: () => boolean): Promise<ChangeWebhookServer> {
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new StartupError(`${flag} names '${file}', which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); mount the certificate Secret there`);
    }
  };
  const handle = createWebhookHandler({
    clock: services.clock,
    logger,
    stores: services.stores,
    remoteChanges: services.remoteChanges,
    kubeAccess: (onlyNamespace, storeDescription) => createStoreKubeAccess(kube, { onlyNamespace, storeDescription }),
    isLeader,
  });
  return startChangeWebhookServer({ port: options.port, host: options.host, cert: read(options.certFile, '--change-webhook-tls-cert-file'), key: read(options.keyFile, '--change-webhook-tls-key-file'), handle, logger });
}

function countReady(objects: readonly { status?: { conditions?: readonly { type: string; status: string }[] } }[]) {
  const counts = { True: 0, False: 0, Unknown: 0 };
  for (const o of objects) {
    const s = o.status?.conditions?.find((c) => c.type === ConditionType.Ready)?.status;
    if (s === 'True' || s === 'False') counts[s] += 1;
    else counts.Unknown += 1;
  }
  return counts;
}

export type { ExternalSecret, SecretStore, ClusterSecretStore };
