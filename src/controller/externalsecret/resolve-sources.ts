// Step: which store (or generator) serves each data and dataFrom entry. Today every store-read entry is served by
// spec.secretStoreRef; an entry naming its own store (dataFrom[].sourceRef.storeRef) is refused at read time. A
// per-entry store resolves here, into each entry's `store`, and the reads follow it.
import type { ExternalSecret } from '../../api/index.ts';
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
      /** Every store a client is opened for, the spec's first: Secret writes are audited with its provider and identity. */
      readonly stores: readonly [ResolvedStore, ...ResolvedStore[]];
    }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export function resolveSources(es: ExternalSecret, resolveStore: (es: ExternalSecret) => StoreResolution): SourcePlan {
  const resolved = resolveStore(es);
  if (!resolved.ok) return resolved;
  const store = resolved.store;
  const entries: SourceEntry[] = [];
  for (const [index, entry] of (es.spec.data ?? []).entries()) entries.push({ from: 'data', index, where: `spec.data[${index}]`, entry, store });
  for (const [index, entry] of (es.spec.dataFrom ?? []).entries()) {
    const where = `spec.dataFrom[${index}]`;
    if (entry.extract) entries.push({ from: 'extract', index, where, entry, store });
    else if (entry.sourceRef?.generatorRef) entries.push({ from: 'generator', index, where, entry, generatorRef: entry.sourceRef.generatorRef });
    else if (entry.sourceRef) entries.push({ from: 'unsupported', index, where, message: `${where}.sourceRef.storeRef is not supported by secret-relay yet; use spec.secretStoreRef` });
    else entries.push({ from: 'find', index, where, entry, store });
  }
  return { ok: true, entries, stores: [store] };
}
