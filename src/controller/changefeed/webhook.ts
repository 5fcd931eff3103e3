// The signed webhook: change notifications from anything that can make an HTTPS request (a CI pipeline, a rotation
// function, Alibaba's EventBridge HTTP target, any provider's own eventing). A request is a CloudEvent (JSON,
// structured mode) naming a store and the remote keys that changed; it is signed with the HMAC key of that store
// (a Secret its spec.changeWebhook names), over the timestamp and the exact body, so only whoever holds that store's
// key can make it refresh — and then only refresh: a notification never carries a value. Stale timestamps and
// replayed event ids are refused. Every refusal is a fixed 4xx message that echoes nothing of the request, and an
// unknown store is refused exactly like a bad signature, so the webhook tells nobody which stores exist.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../log.ts';
import type { ClusterSecretStore, SecretStore } from '../../api/index.ts';
import type { StoreKubeAccess } from '../../providers/provider.ts';
import type { WebhookRequest, WebhookResponse } from '../../http/change-webhook.ts';
import { describeError } from '../../k8s/describe-error.ts';
import type { StoreLookup } from '../externalsecret/store-ref.ts';
import { storeRefKey } from '../external-secret-index.ts';
import type { RemoteChanges } from './remote-changes.ts';
import type { StoreDescriptor } from './feed-status.ts';

export const WEBHOOK_PATH = '/v1/notifications';
export const TIMESTAMP_HEADER = 'x-secret-relay-timestamp';
export const SIGNATURE_HEADER = 'x-secret-relay-signature';
export const CHANGED_EVENT_TYPE = 'dev.secret-relay.secret.changed';
/** How far a request's timestamp may be from the operator's clock: Stripe's and Slack's five minutes. */
export const MAX_SKEW_MS = 5 * 60_000;
/** HMAC-SHA256 keys shorter than this are refused: a guessable key would let anyone trigger refreshes. */
export const MIN_KEY_BYTES = 32;
/** A store's key is read again after this long, so a rotated key takes effect without a restart. */
export const KEY_CACHE_MS = 30_000;
/** Event ids remembered for replay detection (each for twice the allowed skew), at most this many. */
export const MAX_REMEMBERED_EVENTS = 100_000;

const Key = z.string().min(1).max(2048);
const NotificationSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(256),
  source: z.string().min(1).max(1024),
  type: z.literal(CHANGED_EVENT_TYPE),
  time: z.iso.datetime({ offset: true }).optional(),
  data: z.object({
    store: z.object({ kind: z.enum(['SecretStore', 'ClusterSecretStore']), namespace: z.string().max(63).optional(), name: z.string().min(1).max(253) }),
    keys: z.array(Key).min(1).max(100),
  }),
});

export interface WebhookDeps {
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'warn'>;
  readonly stores: StoreLookup;
  readonly remoteChanges: RemoteChanges;
  /** Kube access as the store (a SecretStore reads only its own namespace). */
  readonly kubeAccess: (onlyNamespace: string | undefined, storeDescription: string) => StoreKubeAccess;
  /** Only the leader queues refreshes; a standby answers 503 so the sender retries (and reaches the leader). */
  readonly isLeader: () => boolean;
}

const refusal = (status: number, error: string): WebhookResponse => ({ status, body: { error } });
const NOT_VERIFIED = refusal(401, `the signature does not verify: sign "<${TIMESTAMP_HEADER}>.<body>" with HMAC-SHA256 and the key of the store named in data.store, and send it as ${SIGNATURE_HEADER}: sha256=<hex>`);

export function createWebhookHandler(deps: WebhookDeps): (request: WebhookRequest) => Promise<WebhookResponse> {
  const keys = new Map<string, { key: Uint8Array; readAt: number }>();
  const seen = new Map<string, number>();

  const refused = (response: WebhookResponse): WebhookResponse => {
    deps.remoteChanges.refused('webhook');
    return response;
  };

  async function keyOf(store: SecretStore | ClusterSecretStore, kind: 'SecretStore' | 'ClusterSecretStore'): Promise<Uint8Array | undefined> {
    const ref = store.spec.changeWebhook?.secretRef;
    const uid = store.metadata.uid ?? '';
    if (!ref) return undefined;
    const cached = keys.get(uid);
    const now = deps.clock.now();
    if (cached && now - cached.readAt < KEY_CACHE_MS) return cached.key;
    const namespace = kind === 'SecretStore' ? store.metadata.namespace : ref.namespace;
    if (namespace === undefined) return undefined;
    const described = kind === 'SecretStore' ? `SecretStore ${store.metadata.namespace}/${store.metadata.name}` : `ClusterSecretStore ${store.metadata.name}`;
    try {
      const key = await deps.kubeAccess(kind === 'SecretStore' ? namespace : undefined, described).readSecretKey({ namespace, name: ref.name, key: ref.key }, AbortSignal.timeout(10_000));
      if (key.length < MIN_KEY_BYTES) {
        deps.logger.warn({ store: described }, `the change webhook key is shorter than ${MIN_KEY_BYTES} bytes; requests for this store are refused`);
        return undefined;
      }
      keys.set(uid, { key, readAt: now });
      return key;
    } catch (err) {
      deps.logger.warn({ store: described, error: describeError(err) }, 'cannot read the change webhook key of the store');
      return undefined;
    }
  }

  function replayed(id: string, now: number): boolean {
    if (seen.has(id) && seen.get(id)! > now) return true;
    seen.set(id, now + 2 * MAX_SKEW_MS);
    if (seen.size > MAX_REMEMBERED_EVENTS) {
      for (const [k, until] of seen) if (until <= now || seen.size > MAX_REMEMBERED_EVENTS) seen.delete(k);
    }
    return false;
  }

  return async function handle(request) {
    if (request.path !== WEBHOOK_PATH) return refused(refusal(404, `not found: POST change notifications to ${WEBHOOK_PATH}`));
    if (request.method !== 'POST') return refused(refusal(405, `use POST on ${WEBHOOK_PATH}`));
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/cloudevents+json' && contentType !== 'application/json') {
      return refused(refusal(415, 'send a CloudEvent in structured mode: content-type application/cloudevents+json'));
    }
    const stamp = request.headers[TIMESTAMP_HEADER] ?? '';
    const signature = request.headers[SIGNATURE_HEADER] ?? '';
    if (!/^\d{1,12}$/.test(stamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
      return refused(refusal(401, `${TIMESTAMP_HEADER} (Unix seconds) and ${SIGNATURE_HEADER} (sha256=<64 hex digits>) are required`));
    }
    const now = deps.clock.now();
    if (Math.abs(now - Number(stamp) * 1000) > MAX_SKEW_MS) {
      return refused(refusal(401, `${TIMESTAMP_HEADER} is more than ${MAX_SKEW_MS / 60_000} minutes from the operator's clock: sign each request when it is sent`));
    }
    let json: unknown;
    try {
      json = JSON.parse(request.body.toString('utf8'));
    } catch {
      return refused(refusal(400, 'the body is not JSON'));
    }
    const parsed = NotificationSchema.safeParse(json);
    if (!parsed.success) {
      // Paths and expectations only: zod's messages here name fields, never the values sent.
      const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.code}`);
      return refused(refusal(400, `not a ${CHANGED_EVENT_TYPE} CloudEvent (specversion 1.0, id, source, type, data.store{kind,name,namespace}, data.keys[]): ${problems.join('; ')}`));
    }
    const event = parsed.data;
    const { kind, name } = event.data.store;
    const namespace = kind === 'SecretStore' ? event.data.store.namespace : undefined;
    if (kind === 'SecretStore' && namespace === undefined) return refused(refusal(400, 'data.store.namespace is required for a SecretStore'));
    const store = kind === 'SecretStore' ? deps.stores.secretStore(namespace!, name) : deps.stores.clusterSecretStore(name);
    const key = store ? await keyOf(store, kind) : undefined;
    // Unknown store, no webhook configured, key unreadable or wrong signature: one answer for all.
    if (!store || !key) return refused(NOT_VERIFIED);
    const expected = Buffer.from(`sha256=${createHmac('sha256', key).update(`${stamp}.`).update(request.body).digest('hex')}`);
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refused(NOT_VERIFIED);
    const uid = store.metadata.uid ?? '';
    if (replayed(`${uid}\u0000${event.id}`, now)) return refused(refusal(409, 'this event id was already delivered for this store; send each change with a new id'));
    if (!deps.isLeader()) return refusal(503, 'this replica does not lead; retry (another replica will take the request)');

    const descriptor: StoreDescriptor = { kind, namespace, name, uid, identity: { ref: storeRefKey(kind, namespace, name), uid } };
    const time = event.time === undefined ? undefined : Date.parse(event.time);
    const [result] = deps.remoteChanges.notify(descriptor.identity, 'webhook', [{ id: event.id, keys: event.data.keys, occurredAt: time, event: event.type }]);
    void deps.remoteChanges.feedStatus.report(descriptor, { source: 'webhook', connected: true, lastHeardTime: new Date(now).toISOString() }).catch(() => {});
    return { status: 202, body: { result } };
  };
}
