// Which remote keys a Key Vault event names, for the azurekv change feed. Pure: the queue is tenant-reachable input
// (anyone who may send to it), so a message is only ever read for names, never for values. Shapes as Event Grid
// delivers them to a Storage queue: the message text is the event JSON, base64-encoded by default; the event is in
// Event Grid schema (eventType, eventTime, data.objectName …) or CloudEvents 1.0 schema (type, time,
// data.ObjectName …) — Key Vault's docs spell the data fields in both casings, so they are looked up either way.
import type { ChangeNotification } from '../change-feed.ts';

const EVENT_PREFIX = 'Microsoft.KeyVault.';
/** Events that change what a read returns or whether it succeeds (the reader refuses expired objects). */
const CHANGES = ['NewVersionCreated', 'NearExpiry', 'Expired'] as const;
const OBJECT_TYPES = ['Secret', 'Certificate', 'Key'] as const;

type Json = Record<string, unknown>;
const object = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const string = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 2048 ? v : undefined);
/** A data field in either casing Key Vault's events use (objectName, ObjectName). */
const field = (data: Json, name: string): string | undefined => string(data[name]) ?? string(data[name[0]!.toUpperCase() + name.slice(1)]);

/** The text of a queue message: Event Grid base64-encodes it unless told not to; plain JSON is accepted too. */
export function decodeQueueMessage(text: string): string {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return text;
  return Buffer.from(text, 'base64').toString('utf8');
}

/**
 * The keys an azurekv ExternalSecret names an object by (reader.ts): secret/NAME or NAME, cert/NAME, key/NAME. A
 * certificate's new version is also a new version of the secret of the same name that Key Vault keeps for it.
 */
function keysFor(objectType: (typeof OBJECT_TYPES)[number], name: string): string[] {
  if (objectType === 'Secret') return [name, `secret/${name}`];
  if (objectType === 'Certificate') return [`cert/${name}`, name, `secret/${name}`];
  return [`key/${name}`];
}

/** The origin of a URL, lower-cased; undefined when it is not one. */
function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The notification one queue message carries for a store reading `vaultUrl`, or undefined when it is not a change
 * of an object of that vault (another vault's event, another event type, not an event). Pure.
 */
export function changeFromQueueMessage(text: string, store: { readonly vaultUrl: string }): ChangeNotification | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeQueueMessage(text));
  } catch {
    return undefined;
  }
  // Event Grid writes one event per message; an array (a batch posted by hand) is taken when it holds one event.
  const event = object(Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed);
  if (!event) return undefined;
  const id = string(event['id']);
  const type = string(event['eventType']) ?? string(event['type']);
  const data = object(event['data']);
  if (!id || !type || !data || !type.startsWith(EVENT_PREFIX)) return undefined;
  const name = type.slice(EVENT_PREFIX.length);
  const objectType = OBJECT_TYPES.find((t) => CHANGES.some((change) => name === `${t}${change}`));
  if (!objectType) return undefined;
  const objectName = field(data, 'objectName') ?? string(event['subject']);
  if (!objectName || !/^[0-9A-Za-z-]{1,127}$/.test(objectName)) return undefined;
  // The event's object id (https://VAULT.vault.azure.net/secrets/NAME/VERSION) names the vault; without one, its name.
  const objectId = field(data, 'id');
  const vault = originOf(store.vaultUrl);
  if (objectId !== undefined) {
    if (originOf(objectId) !== vault) return undefined;
  } else {
    const vaultName = field(data, 'vaultName');
    const host = vault === undefined ? undefined : new URL(vault).hostname;
    if (!vaultName || host?.split('.')[0] !== vaultName.toLowerCase()) return undefined;
  }
  const time = string(event['eventTime']) ?? string(event['time']);
  const occurredAt = time !== undefined && Number.isFinite(Date.parse(time)) ? Date.parse(time) : undefined;
  return { id, keys: keysFor(objectType, objectName), occurredAt, event: type };
}
