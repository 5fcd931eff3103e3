// Which remote keys a Secret Manager event notification names, for the gcpsm change feed. Pure: anyone who may
// publish to the topic reaches it, so a message is only ever read for names (its attributes), never for values —
// its data (the Secret or SecretVersion resource as JSON) is not even parsed. Shape as Secret Manager documents its
// event notifications: attributes eventType, secretId (projects/P[/locations/L]/secrets/S), versionId (version
// events), dataFormat and timestamp.
import type { ChangeNotification } from '../change-feed.ts';

/**
 * Events that change what a read returns or whether it succeeds. SECRET_ROTATE is left out: it asks someone to
 * rotate and changes nothing by itself; the new version's SECRET_VERSION_ADD follows.
 */
export const SECRET_MANAGER_EVENTS: ReadonlySet<string> = new Set([
  'SECRET_CREATE',
  'SECRET_UPDATE',
  'SECRET_DELETE',
  'SECRET_VERSION_ADD',
  'SECRET_VERSION_ENABLE',
  'SECRET_VERSION_DISABLE',
  'SECRET_VERSION_DESTROY',
  'SECRET_VERSION_DESTROY_SCHEDULED',
]);

const SECRET_NAME = /^projects\/([^/]{1,64})(?:\/locations\/([^/]{1,64}))?\/secrets\/([A-Za-z0-9_-]{1,255})$/;

export interface PubSubMessageLike {
  readonly messageId?: string | null | undefined;
  readonly attributes?: Readonly<Record<string, string>> | null | undefined;
  /** ms since the epoch */
  readonly publishTime?: number | undefined;
}

/**
 * The notification a Pub/Sub message carries for a store of `projectID` (and `location` for regional secrets), or
 * undefined when it is not a Secret Manager change of a secret of that location. The keys are the spellings an
 * ExternalSecret may use (plan.ts secretName): the bare id, the name as published (project number) and the name with
 * the store's project id. Pure.
 */
export function changeFromPubSubMessage(message: PubSubMessageLike, store: { readonly projectID: string; readonly location?: string | undefined }): ChangeNotification | undefined {
  const attributes = message.attributes ?? {};
  const id = message.messageId;
  const eventType = attributes['eventType'];
  const secretId = attributes['secretId'];
  if (!id || !eventType || !secretId || !SECRET_MANAGER_EVENTS.has(eventType)) return undefined;
  const match = SECRET_NAME.exec(secretId);
  if (!match) return undefined;
  const [, , location, secret] = match;
  if ((location ?? undefined) !== (store.location ?? undefined)) return undefined;
  const parent = store.location ? `projects/${store.projectID}/locations/${store.location}` : `projects/${store.projectID}`;
  const keys = [...new Set([secret!, secretId, `${parent}/secrets/${secret}`])];
  const stamped = attributes['timestamp'] !== undefined ? Date.parse(attributes['timestamp']) : NaN;
  const occurredAt = Number.isFinite(stamped) ? stamped : message.publishTime;
  return { id, keys, occurredAt, event: eventType };
}
