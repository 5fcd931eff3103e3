// What an Event Grid subscription of a vault with a Storage queue endpoint does: each event the Key Vault fake
// publishes is written to the queue (Azurite) as one message, the event JSON base64-encoded, in Event Grid schema or
// CloudEvents 1.0 schema — the shapes and field casings of Key Vault's Event Grid documentation.
import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import type { FakeVault, KeyVaultEvent } from './key-vault.ts';

export type EventSchema = 'EventGridSchema' | 'CloudEventSchemaV1_0';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';

/** The event as Event Grid delivers it in `schema`. */
export function eventGridEvent(event: KeyVaultEvent, schema: EventSchema, id: string = randomUUID()): Record<string, unknown> {
  const source = `/subscriptions/${SUBSCRIPTION}/resourceGroups/relay/providers/Microsoft.KeyVault/vaults/${event.vaultName}`;
  const collection = event.objectType === 'Secret' ? 'secrets' : event.objectType === 'Certificate' ? 'certificates' : 'keys';
  const objectId = `${event.vaultUrl}/${collection}/${event.objectName}/${event.version}`;
  const time = new Date().toISOString();
  const type = `Microsoft.KeyVault.${event.type}`;
  const nbf = event.nbf === undefined ? null : String(event.nbf);
  const exp = event.exp === undefined ? null : String(event.exp);
  if (schema === 'EventGridSchema') {
    return {
      id,
      topic: source,
      subject: event.objectName,
      eventType: type,
      eventTime: time,
      data: { Id: objectId, vaultName: event.vaultName, objectType: event.objectType, objectName: event.objectName, version: event.version, nbf, exp },
      dataVersion: '1',
      metadataVersion: '1',
    };
  }
  return {
    id,
    source,
    specversion: '1.0',
    type,
    subject: event.objectName,
    time,
    data: { Id: objectId, VaultName: event.vaultName, ObjectType: event.objectType, ObjectName: event.objectName, Version: event.version, NBF: nbf, EXP: exp },
  };
}

/** The queue message text Event Grid writes for an event (base64 of its JSON). */
export function queueMessageText(event: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(event)).toString('base64');
}

export interface EventGridSubscription {
  /** The events delivered so far, as written. */
  readonly delivered: Record<string, unknown>[];
  /** Resolves when every delivery started so far is in the queue. */
  settled(): Promise<void>;
  stop(): void;
}

/** Subscribes `queue` to the vault's events, as `az eventgrid event-subscription create --endpoint-type storagequeue` does. */
export function subscribeQueue(vault: FakeVault, queue: QueueClient, schema: EventSchema): EventGridSubscription {
  const delivered: Record<string, unknown>[] = [];
  const pending = new Set<Promise<unknown>>();
  const unsubscribe = vault.onEvent((event) => {
    const body = eventGridEvent(event, schema);
    delivered.push(body);
    const sent = queue.sendMessage(queueMessageText(body)).finally(() => pending.delete(sent));
    pending.add(sent);
  });
  return {
    delivered,
    settled: async () => {
      await Promise.all([...pending]);
    },
    stop: unsubscribe,
  };
}
