// SecretStore / ClusterSecretStore: is the configuration valid and does the provider answer? Sets Ready and
// revalidates at spec.refreshInterval; a failed validation that only an outside change can fix (a refused identity)
// is rechecked at the controller's backoff, at most refreshInterval apart. ExternalSecrets only fetch through a Ready
// (or Unknown) store. The provider's answer is awaited through ./validations.ts: a deadline per validation, and a
// worker waits for it only briefly (a blackholed endpoint's validation finishes off the workers).
import type { Clock } from '../../util/clock.ts';
import { storeCompat } from '../../api/eso-compat.ts';
import { API_GROUP, API_VERSION, API_GROUP_VERSION, ConditionType, Plural, StoreReason } from '../../api/index.ts';
import type { StatusWriter } from '../../k8s/status.ts';
import type { EventRecorder } from '../../k8s/events.ts';
import type { SecretsClient, StoreKind } from '../../providers/provider.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { providerOfStore } from '../../providers/registry.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Condition, ConditionUpdate } from '../conditions.ts';
import { findCondition, sameCondition, setCondition } from '../conditions.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import type { ParsedStore, ResolvedStore } from '../externalsecret/store-ref.ts';
import { describeError } from '../../k8s/describe-error.ts';
import { TerminalError } from '../../util/errors.ts';
import { splitKey } from '../externalsecret/reconciler.ts';
import { declaredTenancy, tenancyViolations, type TenancyPolicy } from '../../providers/kit/index.ts';
import { ValidationDeadlineError, type StoreValidations } from './validations.ts';

export interface StoreReconcilerDeps {
  readonly kind: StoreKind;
  readonly clock: Clock;
  readonly registry: ProviderRegistry;
  /** The cached store, parsed; `ok: false` when it fails the schema (written under an older CRD, or by hand). */
  readonly getStore: (namespace: string, name: string) => ParsedStore | undefined;
  readonly clientFor: (store: ResolvedStore, namespace: string, signal: AbortSignal) => Promise<SecretsClient>;
  /** Namespace used to validate a ClusterSecretStore (it serves many). */
  readonly operatorNamespace: string;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  /** The operator's tenancy policy (--operator-identity, --trusted-endpoint-hosts …): a store breaking it is Ready=False naming the rule. */
  readonly tenancy: TenancyPolicy;
  /** Runs the provider checks: deadline, per-namespace bound, off the worker past a short wait (./validations.ts). */
  readonly validations: StoreValidations;
}

export function createStoreReconciler(deps: StoreReconcilerDeps) {
  const plural = deps.kind === 'ClusterSecretStore' ? Plural.ClusterSecretStore : Plural.SecretStore;

  return async function reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const parsed = deps.getStore(namespace, name);
    if (!parsed) {
      deps.validations.forget(key);
      return;
    }
    const now = deps.clock.now();
    const metadata = parsed.ok ? parsed.value.metadata : parsed.raw.metadata;
    const generation = metadata?.generation ?? 0;
    const conditions = (parsed.ok ? parsed.value.status?.conditions : parsed.raw.status?.conditions) as Condition[] | undefined;
    const described = deps.kind === 'ClusterSecretStore' ? `ClusterSecretStore ${name}` : `SecretStore ${namespace}/${name}`;

    const setReady = async (update: Omit<ConditionUpdate, 'type'>) => {
      const full = { type: ConditionType.Ready, ...update };
      if (sameCondition(findCondition(conditions, ConditionType.Ready), full, generation)) return;
      await deps.status.patch(
        { group: API_GROUP, version: API_VERSION, plural, namespace: deps.kind === 'SecretStore' ? namespace : undefined, name },
        { conditions: setCondition(conditions, full, now, generation) },
      );
      if (update.status === 'False') {
        await deps.events.record(
          { apiVersion: API_GROUP_VERSION, kind: deps.kind, namespace: deps.kind === 'SecretStore' ? namespace : undefined, name, uid: metadata?.uid ?? '' },
          'Warning',
          update.reason,
          update.message,
        );
      }
    };

    if (!parsed.ok) {
      // Its ExternalSecrets say the same (StoreNotReady); only a change of the object can fix it.
      await setReady({ status: 'False', reason: StoreReason.InvalidStoreConfiguration, message: parsed.error });
      return;
    }
    const store = parsed.value;
    const selected = providerOfStore(store.spec);
    if ('error' in selected) {
      await setReady({ status: 'False', reason: StoreReason.InvalidStoreConfiguration, message: selected.error });
      return;
    }
    const provider = deps.registry.get(selected.name);
    if (!provider) {
      await setReady({
        status: 'False',
        reason: StoreReason.ProviderNotAvailable,
        message: `provider ${selected.name} is not available in this version of secret-relay (available: ${deps.registry.names().join(', ')})`,
      });
      return;
    }
    const compat = storeCompat(store.spec, deps.kind === 'ClusterSecretStore');
    const providerVerdict = provider.validateStore(selected.spec);
    const verdict = { errors: [...compat.errors, ...providerVerdict.errors], warnings: [...compat.warnings, ...providerVerdict.warnings] };
    if (verdict.errors.length > 0) {
      await setReady({ status: 'False', reason: StoreReason.InvalidStoreConfiguration, message: verdict.errors.join('; ') });
      return;
    }

    // Checked before any client is built: a refused store never authenticates, and its reason names the rule.
    const declared = declaredTenancy(selected.name, selected.spec);
    const violations = tenancyViolations(declared, deps.kind, deps.tenancy);
    if (violations.length > 0) {
      await setReady({ status: 'False', reason: violations[0]!.rule, message: `${described}: ${violations.map((v) => v.message).join('; ')}` });
      return;
    }

    const revalidateMs = parseDuration(store.spec.refreshInterval ?? '5m');
    const requeue: ReconcileResult = revalidateMs > 0 ? { requeueAfter: revalidateMs } : undefined;
    // A refused identity or a binding not propagated yet heals outside the cluster: looked at again at the
    // controller's recheck backoff, never later than the store's own revalidation (refreshInterval 0: the backoff alone).
    const recheck: ReconcileResult = revalidateMs > 0 ? { recheck: true, requeueAfter: revalidateMs } : { recheck: true };
    const resolved: ResolvedStore = {
      kind: deps.kind,
      name,
      namespace: deps.kind === 'SecretStore' ? namespace : undefined,
      uid: store.metadata.uid ?? '',
      generation,
      providerName: selected.name,
      providerSpec: selected.spec,
    };
    // The endpoints the store names, so that a validation with no answer says where it went.
    const urls = [...(declared.endpoints ?? []), ...(declared.servers ?? [])].map((e) => `${e.field} ${e.url}`);
    const where = () => (urls.length > 0 ? `${described} (${urls.join(', ')})` : `${described} (the provider's default endpoints)`);
    const outcome = await deps.validations.run(
      key,
      deps.kind === 'SecretStore' ? namespace : '',
      `${resolved.uid}/${generation}`,
      async (validationSignal) => {
        const client = await deps.clientFor(resolved, deps.kind === 'SecretStore' ? namespace : deps.operatorNamespace, validationSignal);
        return client.validate(validationSignal);
      },
      signal,
      where,
    );
    // Still running off the workers: its end queues this key again, and that reconcile reads the outcome.
    if (outcome === 'pending') return;
    if (outcome.ok) {
      const warnings = verdict.warnings.length > 0 ? ` (warnings: ${verdict.warnings.join('; ')})` : '';
      if (outcome.status === 'Ready') await setReady({ status: 'True', reason: StoreReason.Valid, message: `store validated${warnings}` });
      else if (outcome.status === 'Unknown') await setReady({ status: 'Unknown', reason: StoreReason.ValidationUnknown, message: `the provider cannot confirm the configuration works${warnings}` });
      else {
        await setReady({ status: 'False', reason: StoreReason.ValidationFailed, message: `${described}: the provider rejected the configuration` });
        // As a refused identity: what the provider refuses may be granted later (at most refreshInterval apart).
        return recheck;
      }
      return requeue;
    }
    const err = outcome.error;
    // The validation's own error is what is retried: a failed status write must not replace it.
    await setReady({ status: 'False', reason: StoreReason.ValidationFailed, message: describeError(err) }).catch(() => {});
    // No answer (a blackholed endpoint): looked at again at the recheck backoff, 30 s doubling to 5 min.
    if (err instanceof TerminalError || err instanceof ValidationDeadlineError) return recheck;
    throw err;
  };
}
