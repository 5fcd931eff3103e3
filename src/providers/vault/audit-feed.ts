// The vault change feed. Vault's event subscription (sys/events/subscribe) is Enterprise-only in Vault and absent
// from OpenBao (2.7 answers "unsupported path"), so the feed is the server's own audit stream: a socket audit device
// the admin declares in the server's configuration (OpenBao allows audit devices only there), connecting to the
// operator's --vault-audit-listen. Each successful change of a KV secret under the store's mount (and namespace)
// becomes a notification naming it; reads through the store's client do the rest.
import type { VaultProvider } from '../../api/types.generated.ts';
import { TerminalError, type ChangeFeed } from '../provider.ts';
import { keysForStore } from './audit-events.ts';
import type { AuditStream } from './audit-stream.ts';

/** `parse`: the store's spec checked and defaulted as for its client. */
export function vaultAuditFeed(stream: AuditStream | undefined, parse: (raw: VaultProvider) => VaultProvider): ChangeFeed<VaultProvider> {
  return {
    source: 'vault-events',
    describe: (spec) => (spec.changeFeed?.auditSocket !== undefined ? `audit socket ${stream?.address ?? '(--vault-audit-listen not set)'}` : undefined),
    async run(raw, _ctx, sink, signal) {
      const spec = parse(raw);
      if (!stream) throw new TerminalError('the operator does not listen for Vault audit entries: start it with --vault-audit-listen=<host:port> and declare a socket audit device on the server (docs/change-feeds.md)');
      const store = { mount: spec.path, version: spec.version ?? 'v2', namespace: spec.namespace };
      const unsubscribe = await stream.subscribe((change) => {
        const keys = keysForStore(change, store);
        if (keys.length === 0) return;
        void sink.deliver([{ id: change.id, keys, occurredAt: change.time, event: `kv ${change.operation}` }]);
      });
      sink.connected();
      try {
        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
      } finally {
        unsubscribe();
      }
    },
  };
}
