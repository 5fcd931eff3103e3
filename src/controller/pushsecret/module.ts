// The PushSecret controller: its caches (PushSecrets, the stores, namespaces for ClusterSecretStore conditions), the
// watches that bring a PushSecret back (a store it uses changed or became ready), and the reconciler.
// RBAC: list/watch pushsecrets, patch their status, get+patch them (the cleanup finalizer); get secrets (the source),
// list secrets of the namespace (spec.selector.secret.selector), get configmaps (spec.template.templateFrom).
import type { ExternalSecret, PushSecret, LabelSelector } from '../../api/index.ts';
import { API_GROUP, API_VERSION, ExternalSecretReason, Plural, parsePushSecret } from '../../api/index.ts';
import { createFinalizerEditor } from '../../k8s/finalizers.ts';
import { ClusterSecretStoreKind, SecretStoreKind, type KindDescriptor, type RawCustomObject } from '../../k8s/kinds.ts';
import { memoizeParse } from '../informer-parse-cache.ts';
import type { ControllerModule } from '../module.ts';
import { watch } from '../runtime/manager.ts';
import { resolveStore } from '../externalsecret/store-ref.ts';
import { selectorMatches } from '../secretstore/namespace-conditions.ts';
import { createPushSecretReconciler, type CachedPushSecret, type SelectedStore, type SourceData, type StoreSelection } from './reconciler.ts';
import { createKeyRenamer, createRenameEngine } from './rename-keys.ts';
import { createTemplateEngine } from '../../templates/engine.ts';
import { templateSourceNames } from '../../templates/render-secret.ts';
import { TemplateError } from '../../templates/errors.ts';
import { DEFAULT_SANDBOX_OPTIONS, workerSandbox } from '../externalsecret/sandbox.ts';
import { readConfigMapData } from '../../k8s/reads.ts';
import { listSecretsByLabel } from '../../k8s/secret-lists.ts';
import type { Condition } from '../conditions.ts';
import { localGeneratorsFor } from '../generators/local.ts';
import { generatedSource } from './generated-source.ts';

export const PushSecretKind: KindDescriptor<RawCustomObject> = { kind: 'PushSecret', group: API_GROUP, version: API_VERSION, plural: Plural.PushSecret, namespaced: true };

const NAME = 'pushsecret';
/** spec.selector.secret.selector: more Secrets than this is a selector too wide to be meant (each is read and pushed). */
const MAX_SELECTED_SECRETS = 64;

export const pushSecretController: ControllerModule = {
  name: NAME,
  build(ctx) {
    const pushSecrets = ctx.informer(PushSecretKind);
    const secretStores = ctx.informer(SecretStoreKind);
    const clusterSecretStores = ctx.informer(ClusterSecretStoreKind);
    const parse = memoizeParse(parsePushSecret);

    const getPushSecret = (namespace: string, name: string): CachedPushSecret | undefined => {
      const raw = pushSecrets.get(name, namespace);
      if (raw === undefined) return undefined;
      const parsed = parse(raw);
      if (parsed.ok) return parsed;
      return { ok: false, error: parsed.error, uid: raw.metadata?.uid ?? '', generation: raw.metadata?.generation, conditions: (raw.status as { conditions?: Condition[] } | undefined)?.conditions };
    };
    const resolve = (namespace: string, kind: 'SecretStore' | 'ClusterSecretStore', name: string) =>
      resolveStore({ metadata: { name: '-', namespace }, spec: { secretStoreRef: { name, kind } } } as unknown as ExternalSecret, ctx.stores);
    const labelled = (namespace: string, kind: 'SecretStore' | 'ClusterSecretStore', selector: LabelSelector): string[] =>
      (kind === 'SecretStore' ? secretStores.list().filter((s) => s.metadata?.namespace === namespace) : clusterSecretStores.list())
        .filter((s) => selectorMatches(selector, s.metadata?.labels ?? {}))
        // Stores of another controller class are left to their installation (as ESO).
        .filter((s) => ctx.classes.servesStore(s))
        .map((s) => s.metadata?.name ?? '')
        .sort();

    const selectStores = (ps: PushSecret): StoreSelection => {
      const namespace = ps.metadata.namespace ?? '';
      const stores: SelectedStore[] = [];
      const seen = new Set<string>();
      for (const ref of ps.spec.secretStoreRefs) {
        const names = ref.name !== undefined ? [ref.name] : labelled(namespace, ref.kind, ref.labelSelector ?? {});
        for (const name of names) {
          const resolution = resolve(namespace, ref.kind, name);
          if (!resolution.ok) return { ok: false, message: resolution.message };
          const key = `${ref.kind}/${name}`;
          const labels = (ref.kind === 'ClusterSecretStore' ? clusterSecretStores.get(name) : secretStores.get(name, namespace))?.metadata?.labels ?? {};
          if (!seen.has(key)) stores.push({ ...resolution.store, labels });
          seen.add(key);
        }
      }
      return { ok: true, stores };
    };

    const localGenerators = localGeneratorsFor(ctx.kube);
    const bytesOf = (data: Readonly<Record<string, string>> | undefined) => new Map(Object.entries(data ?? {}).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))]));
    const readSource = async (ps: PushSecret, signal: AbortSignal): Promise<SourceData> => {
      const namespace = ps.metadata.namespace ?? '';
      if (ps.spec.selector.generatorRef) return generatedSource(ps, localGenerators, ctx.secrets, signal);
      const selector = ps.spec.selector.secret?.selector;
      if (selector !== undefined) {
        // Secrets of the PushSecret's namespace only, chosen by label (as ESO); each is pushed, in name order.
        const selected = await listSecretsByLabel(ctx.kube, namespace, selector, MAX_SELECTED_SECRETS + 1, signal);
        if (selected.length > MAX_SELECTED_SECRETS) return { ok: false, message: `spec.selector.secret.selector matches more than ${MAX_SELECTED_SECRETS} Secrets in ${namespace}; narrow it` };
        return { ok: true, sources: selected.map((secret) => ({ name: `Secret ${namespace}/${secret.metadata?.name ?? ''}`, data: bytesOf(secret.data) })), selected: 'spec.selector.secret.selector' };
      }
      const name = ps.spec.selector.secret?.name;
      if (name === undefined) return { ok: false, message: 'spec.selector names no Secret' };
      const secret = await ctx.secrets.read(namespace, name);
      if (!secret) return { ok: false, message: `Secret ${namespace}/${name} (spec.selector.secret.name) does not exist` };
      return { ok: true, sources: [{ data: bytesOf(secret.data), name: `Secret ${namespace}/${name}` }] };
    };

    // spec.template renders in its own worker (one, started with the first template), with the ExternalSecrets'
    // deadline, heap limit and per-namespace budget: a tenant's template never runs on the main thread.
    const templateEngine = createTemplateEngine();
    const sandboxOptions = ctx.isolation?.sandbox ?? DEFAULT_SANDBOX_OPTIONS;
    const sandbox = workerSandbox(templateEngine, { ...sandboxOptions, workers: 1 }, {
      ran: (seconds, outcome) => ctx.metrics.sandboxRan(outcome, seconds),
      overBudget: () => ctx.metrics.sandboxBudgetRefused(),
    });
    const renderTemplate = async (ps: PushSecret, data: ReadonlyMap<string, Uint8Array>, signal: AbortSignal): Promise<Map<string, Uint8Array>> => {
      const namespace = ps.metadata.namespace ?? '';
      // As ESO: the source's keys stay, the rendered ones are added over them.
      const template = { ...ps.spec.template!, mergePolicy: 'Merge' as const };
      const names = templateSourceNames(template);
      const configMaps = new Map<string, Readonly<Record<string, string>>>();
      const secrets = new Map<string, Readonly<Record<string, Uint8Array>>>();
      for (const name of names.configMaps) {
        const found = await readConfigMapData(ctx.kube, namespace, name);
        if (found) configMaps.set(name, found);
      }
      for (const name of names.secrets) {
        const found = await ctx.secrets.read(namespace, name);
        if (found) secrets.set(name, Object.fromEntries(bytesOf(found.data)));
      }
      try {
        return (await sandbox.renderSecret({ namespace, signal }, data, template, { configMaps, secrets })).data;
      } catch (err) {
        // The renderer names ExternalSecret fields: a PushSecret's template is spec.template.
        if (err instanceof TemplateError) throw new TemplateError(err.where.replace('spec.target.template', 'spec.template'), err.reason, err.line, err.column);
        throw err;
      }
    };
    // Rewrites of remote keys: small templates over key names, one render budget per PushSecret reconcile.
    const renameEngine = createRenameEngine();
    const newKeyRenamer = () => createKeyRenamer(renameEngine);

    const reconcile = createPushSecretReconciler({
      clock: ctx.clock,
      hmacKey: ctx.hmacKey,
      getPushSecret,
      selectStores,
      storeByStatusKey: (namespace, kind, name) => {
        const resolution = resolve(namespace, kind, name);
        if (resolution.ok) return resolution;
        // Deleted, or no longer allowed for this namespace (the ClusterSecretStore's conditions): out of reach for
        // good. Not Ready (an outage, a failing validation, an invalid edit): there, and usable again later.
        return { ok: false, gone: resolution.reason !== ExternalSecretReason.StoreNotReady, message: resolution.message };
      },
      readSource,
      renderTemplate,
      newKeyRenamer,
      clientFor: ctx.clientFor,
      status: ctx.status,
      events: ctx.events,
      audit: ctx.audit,
      finalizers: createFinalizerEditor(ctx.kube, { group: API_GROUP, version: API_VERSION, plural: Plural.PushSecret }),
      minRefreshIntervalMs: ctx.isolation?.minRefreshIntervalMs,
      onWrite: (provider, result) => ctx.metrics.pushWrite(provider, result),
    });

    /** PushSecrets that may use a store of this kind and name (by name, or through a label selector). */
    const usersOf = (kind: 'SecretStore' | 'ClusterSecretStore') => (store: RawCustomObject): string[] =>
      pushSecrets
        .list()
        .filter((raw) => kind === 'ClusterSecretStore' || raw.metadata?.namespace === store.metadata?.namespace)
        .filter((raw) => {
          const refs = (raw.spec as { secretStoreRefs?: { name?: string; kind?: string; labelSelector?: unknown }[] } | undefined)?.secretStoreRefs ?? [];
          return refs.some((ref) => (ref.kind ?? 'SecretStore') === kind && (ref.labelSelector !== undefined || ref.name === store.metadata?.name));
        })
        .map((raw) => `${raw.metadata?.namespace ?? ''}/${raw.metadata?.name ?? ''}`);
    const storeFingerprint = (store: RawCustomObject) =>
      JSON.stringify([store.metadata?.generation ?? 0, store.metadata?.labels ?? {}, (store.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find((c) => c.type === 'Ready')?.status ?? '']);

    return {
      // The spec (generation), the adopt/rotate annotations and deletion (finalizers) count; our status writes do not.
      primary: {
        kind: PushSecretKind,
        fingerprint: (ps) => JSON.stringify([ps.metadata?.generation ?? 0, ps.metadata?.annotations ?? {}, ps.metadata?.deletionTimestamp ?? null, ps.metadata?.finalizers ?? []]),
      },
      watches: [
        watch<RawCustomObject>({ kind: SecretStoreKind, map: usersOf('SecretStore'), fingerprint: storeFingerprint }),
        watch<RawCustomObject>({ kind: ClusterSecretStoreKind, map: usersOf('ClusterSecretStore'), fingerprint: storeFingerprint }),
      ],
      reconcile,
      // A PushSecret naming a store of another controller class is that installation's: never reconciled here.
      serves: (key) => {
        const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
        const refs = (pushSecrets.get(name, namespace)?.spec as { secretStoreRefs?: { name?: string; kind?: string }[] } | undefined)?.secretStoreRefs ?? [];
        return refs.every((ref) => ref.name === undefined || ctx.classes.servesStore(ref.kind === 'ClusterSecretStore' ? clusterSecretStores.get(ref.name) : secretStores.get(ref.name, namespace)));
      },
    };
  },
};
