// Which remote keys a KMS event names, for the alibaba change feed. Pure: the queue is tenant-reachable input (anyone
// who may send to it), so a message is only ever read for names, never for values. Shapes as EventBridge delivers
// them to a Simple Message Queue target: the message body is the CloudEvents 1.0 event JSON (id, source, type, time,
// aliyunregionid …; EventBridge's "Event overview"), base64-encoded when the target's IsBase64Encode is set. The KMS
// event types EventBridge publishes are listed on its "KMS events" page (alibabacloud.com/help/en/eventbridge/user-guide/kms-events);
// two kinds name a secret:
// - ActionTrail records of KMS API calls (kms:ActionTrail:ApiCall, :AliyunServiceEvent, :ConsoleOperation; only
//   write events reach EventBridge, per its "ActionTrail events" page): data is the ActionTrail record —
//   serviceName "Kms", eventName, requestParameters.SecretName, acsRegion, eventTime; a call that failed carries
//   errorCode and changed nothing;
// - a managed secret rotated, kms:CloudMonitor:Secret[RotateSecret:Success] (its failure, …:Failure, changed
//   nothing): data is CloudMonitor's system event as KMS documents it for RDS/ECS secret rotation — product "KMS",
//   name "Secret:RotateSecret:Success", regionId, resourceId (the secret's ARN), content.secretName. That EventBridge
//   passes CloudMonitor's event unchanged as data is inferred (EBS's CloudMonitor events are shown so), not shown for
//   KMS.
import type { ChangeNotification } from '../change-feed.ts';

/** KMS calls that change what a read returns (value, current stage, existence, description and tags). */
export const KMS_SECRET_CHANGES: ReadonlySet<string> = new Set([
  'CreateSecret',
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'UpdateSecret',
  'RotateSecret',
  'DeleteSecret',
  'RestoreSecret',
]);

/** KMS's secret names (letters, digits and /_+=.@-, up to 192), as kms.ts reads them. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,192}$/;
/** A secret's ARN: acs:kms:REGION:ACCOUNT:secret/NAME. */
const SECRET_ARN = /^acs:kms:([a-z0-9-]+):\d+:secret\/(.+)$/;
const ACTIONTRAIL_TYPE = /:ActionTrail:(ApiCall|AliyunServiceEvent|ConsoleOperation)$/;
/** A managed secret rotated (EventBridge's KMS events). */
export const ROTATION_SUCCEEDED_TYPE = 'kms:CloudMonitor:Secret[RotateSecret:Success]';
/** kms.REGION.aliyuncs.com, kms-vpc.…, kms-intranet.… (ActionTrail's eventSource of KMS calls). */
const KMS_EVENT_SOURCE = /^kms(-[a-z]+)?\.[a-z0-9-]+\.aliyuncs\.com$/;

type Json = Record<string, unknown>;
const object = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const string = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 2048 ? v : undefined);

/** The text of a queue message: EventBridge base64-encodes it when told to; plain JSON otherwise. */
export function decodeQueueMessage(body: string): string {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{')) return body;
  return Buffer.from(body, 'base64').toString('utf8');
}

/** The secret a name or ARN names, when it is one of `region`'s (an ARN of another region names none). */
function secretName(nameOrArn: string | undefined, region: string): string | undefined {
  if (nameOrArn === undefined) return undefined;
  const arn = SECRET_ARN.exec(nameOrArn);
  if (arn && arn[1] !== region) return undefined;
  const name = arn ? arn[2]! : nameOrArn;
  return SECRET_NAME.test(name) ? name : undefined;
}

/**
 * The notification one queue message carries for a store reading KMS in `regionId`, or undefined when it is not a
 * change of a secret of that region (another service, another region, a read, a failed call, not an event). Pure.
 */
export function changeFromQueueMessage(body: string, store: { readonly regionId: string }): ChangeNotification | undefined {
  let event: Json | undefined;
  try {
    event = object(JSON.parse(decodeQueueMessage(body)));
  } catch {
    return undefined;
  }
  const id = string(event?.['id']);
  const type = string(event?.['type']);
  const data = object(event?.['data']);
  if (!event || !id || !type || !data) return undefined;
  // ActionTrail's eventTime (ISO 8601), else the envelope's time (CloudMonitor's eventTime, 20180816T135935.689+0800, is not).
  const occurredAt = [string(data['eventTime']), string(event['time'])].map((t) => (t === undefined ? NaN : Date.parse(t))).find((t) => Number.isFinite(t));

  if (ACTIONTRAIL_TYPE.test(type)) {
    const service = string(data['serviceName'])?.toLowerCase();
    const source = string(data['eventSource'])?.toLowerCase();
    if (service !== 'kms' && !(source !== undefined && KMS_EVENT_SOURCE.test(source))) return undefined;
    const eventName = string(data['eventName']);
    if (eventName === undefined || !KMS_SECRET_CHANGES.has(eventName) || data['errorCode'] !== undefined) return undefined;
    const region = string(data['acsRegion']) ?? string(event['aliyunregionid']);
    if (region !== store.regionId) return undefined;
    const name = secretName(string(object(data['requestParameters'])?.['SecretName']), store.regionId);
    return name === undefined ? undefined : { id, keys: [name], occurredAt, event: eventName };
  }

  if (type === ROTATION_SUCCEEDED_TYPE) {
    const region = string(data['regionId']) ?? string(event['aliyunregionid']);
    if (region !== store.regionId) return undefined;
    const name = secretName(string(object(data['content'])?.['secretName']) ?? string(data['resourceId'])?.trim(), store.regionId);
    return name === undefined ? undefined : { id, keys: [name], occurredAt, event: type };
  }
  return undefined;
}
