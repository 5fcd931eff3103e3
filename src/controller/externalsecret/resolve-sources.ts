// Step: which store (or generator) serves each data and dataFrom entry: its own sourceRef.storeRef when it names
// one (as ESO), else spec.secretStoreRef. Every store is resolved (exists, Ready, serves the namespace) before any
// read; the first that cannot be used makes the ExternalSecret not ready, naming the entry.
import type { ExternalSecret, SecretStoreRef } from '../../api/index.ts';
import type { ExternalSecretData, ExternalSecretDataFrom, GeneratorRef } from '../../api/types.generated.ts';
import type { ResolvedStore, StoreResolution } from './store-ref.ts';

export type SourceEntry =
  | { readonly from: 'data'; readonly index: number; readonly where: string; readonly entry: ExternalSecretData; readonly store: ResolvedStore }
  | { readonly from: 'extract' | 'find'; readonly index: number; readonly where: string; readonly entry: ExternalSecretDataFrom; readonly store: ResolvedStore }
  | { readonly from: 'generator'; readonly index: number; readonly where: string; readonly entry: ExternalSecretDataFrom; readonly generatorRef: GeneratorRef }
  /** Not served by this operator: the read fails with `message` (a TerminalError). */
  | { readonly from: 'unsupported'; readonly index: number; readonly where: string; readonly message: string };

export type SourcePlan =
  | {
      readonly ok: true;
      /** spec.data first, then spec.dataFrom, each in order: the order reads (and generators) run in. */
      readonly entries: readonly SourceEntry[];
      /**
       * Every store a client is opened for, the spec's first: Secret writes are audited with its provider and
       * identity. None when every entry is a generator (no store is needed, as in ESO).
       */
      readonly stores: readonly ResolvedStore[];
    }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export function resolveSources(es: ExternalSecret, resolveStore: (es: ExternalSecret, ref?: SecretStoreRef) => StoreResolution): SourcePlan {
  // One ResolvedStore per store named (its client is opened once), spec.secretStoreRef first when set.
  const resolved = new Map<string, ResolvedStore>();
  let failure: { readonly reason: string; readonly message: string } | undefined;
  const storeOf = (ref: SecretStoreRef | undefined, where: string): ResolvedStore | undefined => {
    const named = ref ?? es.spec.secretStoreRef;
    const id = named === undefined ? '' : `${named.kind ?? 'SecretStore'}/${named.name}`;
    const known = resolved.get(id);
    if (known) return known;
    const resolution = resolveStore(es, named);
    if (!resolution.ok) {
      // The entry is named when its own store is the problem (or when no store is named at all).
      failure ??= ref !== undefined || named === undefined ? { reason: resolution.reason, message: `${where}: ${resolution.message}` } : resolution;
      return undefined;
    }
    resolved.set(id, resolution.store);
    return resolution.store;
  };
  if (es.spec.secretStoreRef !== undefined) storeOf(undefined, 'spec.secretStoreRef');
  const entries: SourceEntry[] = [];
  for (const [index, entry] of (es.spec.data ?? []).entries()) {
    const where = `spec.data[${index}]`;
    const store = storeOf(entry.sourceRef?.storeRef, where);
    if (store) entries.push({ from: 'data', index, where, entry, store });
  }
  for (const [index, entry] of (es.spec.dataFrom ?? []).entries()) {
    const where = `spec.dataFrom[${index}]`;
    if (entry.sourceRef?.generatorRef) {
      entries.push({ from: 'generator', index, where, entry, generatorRef: entry.sourceRef.generatorRef });
      continue;
    }
    const store = storeOf(entry.sourceRef?.storeRef, where);
    if (store) entries.push({ from: entry.extract ? 'extract' : 'find', index, where, entry, store });
  }
  if (failure) return { ok: false, ...failure };
  // Only generators and no store named: nothing to open, the Secret is written from the generated values alone.
  return { ok: true, entries, stores: [...resolved.values()] };
}
