// Which remote keys an EventBridge event names, for the aws change feed. Pure: the event is tenant-reachable input
// (anyone who can send to the queue), so it is only ever read for names, never for values, and anything else in it
// is ignored. Shapes as AWS documents them: Secrets Manager calls recorded by CloudTrail ("AWS API Call via
// CloudTrail", and "AWS Service Event via CloudTrail" for RotationSucceeded), and SSM's "Parameter Store Change".
import type { ChangeNotification } from '../change-feed.ts';

/** Secrets Manager events that change what a read returns (value, current stage, existence). */
export const SECRETS_MANAGER_EVENTS: ReadonlySet<string> = new Set([
  'PutSecretValue',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'RotateSecret',
  'RotationSucceeded',
  'DeleteSecret',
  'RestoreSecret',
  'CreateSecret',
]);

/** Parameter Store Change operations. */
export const PARAMETER_STORE_OPERATIONS: ReadonlySet<string> = new Set(['Create', 'Update', 'Delete', 'LabelParameterVersion']);

/** Secrets Manager appends "-" and six random characters to a secret's name in its ARN. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$/;

type Json = Record<string, unknown>;
const object = (v: unknown): Json | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const string = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 2048 ? v : undefined);

/** The keys an ExternalSecret of a store with `prefix` would write for a secret named `name` (or its ARN). Pure. */
function keysFor(nameOrArn: string, prefix: string): string[] {
  const arn = SECRET_ARN.exec(nameOrArn);
  const name = arn ? arn[1]! : nameOrArn;
  const keys = arn ? [nameOrArn] : [];
  if (name.startsWith(prefix)) keys.push(name.slice(prefix.length));
  return keys;
}

/**
 * The notification an EventBridge event (the body of an SQS message) carries for a store reading `service`, or
 * undefined when it is not a change of that service's secrets. Pure.
 */
export function changeFromEvent(body: string, store: { readonly service: string; readonly prefix: string }): ChangeNotification | undefined {
  let event: Json | undefined;
  try {
    event = object(JSON.parse(body));
  } catch {
    return undefined;
  }
  const detail = object(event?.['detail']);
  const id = string(event?.['id']);
  if (!event || !detail || !id) return undefined;
  const time = string(event['time']);
  const occurredAt = time !== undefined && Number.isFinite(Date.parse(time)) ? Date.parse(time) : undefined;
  const source = event['source'];

  if (source === 'aws.secretsmanager' && store.service === 'SecretsManager') {
    const name = string(detail['eventName']);
    if (name === undefined || !SECRETS_MANAGER_EVENTS.has(name)) return undefined;
    const request = object(detail['requestParameters']);
    const additional = object(detail['additionalEventData']);
    const response = object(detail['responseElements']);
    // CreateSecret names it in requestParameters.name; the others by secretId; RotationSucceeded (a service event) in additionalEventData.
    const secret = string(request?.['secretId']) ?? string(additional?.['SecretId']) ?? string(response?.['arn']) ?? string(request?.['name']);
    if (secret === undefined) return undefined;
    return { id, keys: keysFor(secret, store.prefix), occurredAt, event: name };
  }
  if (source === 'aws.ssm' && store.service === 'ParameterStore' && event['detail-type'] === 'Parameter Store Change') {
    const operation = string(detail['operation']);
    const name = string(detail['name']);
    if (operation === undefined || name === undefined || !PARAMETER_STORE_OPERATIONS.has(operation)) return undefined;
    return { id, keys: name.startsWith(store.prefix) ? [name.slice(store.prefix.length)] : [], occurredAt, event: `Parameter Store ${operation}` };
  }
  return undefined;
}
