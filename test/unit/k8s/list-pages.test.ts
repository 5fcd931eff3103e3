// Lists in pages of 500 (`limit`/`continue`), as client-go's reflector lists through its pager, with its fallback:
// a continue token that expired (410, the snapshot compacted away between pages) becomes one full list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, type KubeRequest, type KubeRequester } from '../../../src/k8s/kube-client.ts';
import { listKind } from '../../../src/k8s/informer.ts';
import { SecretStoreKind } from '../../../src/k8s/kinds.ts';

/** An apiserver's paging over `total` objects at resourceVersion 42; `expireAfterPages` makes a later continue 410. */
function pagingServer(total: number, expireAfterPages = Number.POSITIVE_INFINITY) {
  const sent: Array<Readonly<Record<string, unknown>>> = [];
  const kube: KubeRequester = {
    async request<T>(r: KubeRequest): Promise<T> {
      const query = { ...r.query };
      sent.push(query);
      const items = Array.from({ length: total }, (_, i) => ({ metadata: { name: `o-${i}` } }));
      const limit = Number(query['limit'] ?? 0);
      const from = query['continue'] ? Number(String(query['continue']).slice('token-'.length)) : 0;
      if (query['continue'] && sent.length > expireAfterPages) {
        throw new KubeApiError(410, { kind: 'Status', code: 410, reason: 'Expired', message: 'The provided continue parameter is too old to display a consistent list result.' });
      }
      if (!limit) return { kind: 'SecretStoreList', metadata: { resourceVersion: '43' }, items } as T;
      const next = from + limit;
      return { kind: 'SecretStoreList', metadata: { resourceVersion: '42', ...(next < total ? { continue: `token-${next}`, remainingItemCount: total - next } : {}) }, items: items.slice(from, next) } as T;
    },
  };
  return { kube, sent };
}

test('an informer lists in pages of 500, following continue, into one list at the first page\'s resourceVersion', async () => {
  const { kube, sent } = pagingServer(1_234);
  const list = await listKind(kube, SecretStoreKind, { namespace: undefined, labelSelector: 'a=b' });
  assert.equal(list.items.length, 1_234);
  assert.equal(list.items[1_233]?.metadata?.name, 'o-1233');
  assert.equal(list.metadata?.resourceVersion, '42');
  assert.equal((list.metadata as { continue?: string } | undefined)?.continue, undefined);
  assert.deepEqual(sent, [
    { labelSelector: 'a=b', limit: 500, continue: undefined },
    { labelSelector: 'a=b', limit: 500, continue: 'token-500' },
    { labelSelector: 'a=b', limit: 500, continue: 'token-1000' },
  ]);
});

test('a continue token that expired (410) falls back to one full list, as client-go\'s pager does', async () => {
  const { kube, sent } = pagingServer(1_234, 1);
  const list = await listKind(kube, SecretStoreKind, { namespace: undefined, labelSelector: undefined });
  assert.equal(list.items.length, 1_234);
  assert.equal(list.metadata?.resourceVersion, '43', 'the full list, not a mix of two snapshots');
  assert.deepEqual(sent.map((q) => [q['limit'], q['continue']]), [[500, undefined], [500, 'token-500'], [undefined, undefined]]);
});

test('a 410 on the first page is the caller\'s (its resourceVersion is gone), and a limit asked for is one page', async () => {
  const gone: KubeRequester = { request: async () => Promise.reject(new KubeApiError(410, { reason: 'Gone' })) };
  await assert.rejects(listKind(gone, SecretStoreKind, { namespace: undefined, labelSelector: undefined }), (err: unknown) => err instanceof KubeApiError && err.code === 410);
  const { kube, sent } = pagingServer(1_234);
  const one = await listKind(kube, SecretStoreKind, { namespace: undefined, labelSelector: undefined, limit: 1 });
  assert.equal(one.items.length, 1);
  assert.equal(sent.length, 1);
});
