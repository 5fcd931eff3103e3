// The EventBridge part of the Alibaba fakes: a rule on the default bus matching KMS's ActionTrail events, with a
// Simple Message Queue target, as `aliyun eventbridge CreateRule … --EventTargets` sets up (docs/change-feeds-clouds.md).
// Each write the KMS fake records (server.ts onApiCall) becomes the CloudEvents 1.0 envelope EventBridge delivers —
// id, source acs.kms, type kms:ActionTrail:ApiCall, time, aliyun* extensions (EventBridge's "Event overview"; the
// type from its "KMS events" page; source acs.<service> as its EBS event samples show) — around the ActionTrail
// record of the call (eventName, serviceName Kms, eventSource, acsRegion, requestParameters.SecretName …; the
// record's shape is ActionTrail's published samples), sent to the queue as the MNS target sends it: the whole event
// as the message body (Body ORIGINAL), base64-encoded when the target's IsBase64Encode is "true". Never a secret
// value: ActionTrail records none. rotationEvent builds KMS's managed-rotation event (CloudMonitor's).
import { randomUUID } from 'node:crypto';
import type { AlibabaFake, KmsApiCall } from './server.ts';
import type { MnsFake } from './mns.ts';

export const ACCOUNT_ID = '1234567890123456';

export interface ActionTrailEventOptions {
  readonly region: string;
  readonly accountId?: string;
  /** Default kms:ActionTrail:ApiCall. */
  readonly type?: string;
  readonly source?: string;
  /** Default kms.<region>.aliyuncs.com. */
  readonly eventSource?: string;
  readonly serviceName?: string;
}

/** The CloudEvents envelope EventBridge delivers for a KMS API call recorded by ActionTrail. Pure. */
export function actionTrailEvent(call: Pick<KmsApiCall, 'eventName' | 'secretName' | 'requestId' | 'at'> & { principal?: string | undefined }, options: ActionTrailEventOptions): Record<string, unknown> {
  const accountId = options.accountId ?? ACCOUNT_ID;
  const time = new Date(call.at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    id: randomUUID(),
    source: options.source ?? 'acs.kms',
    specversion: '1.0',
    type: options.type ?? 'kms:ActionTrail:ApiCall',
    datacontenttype: 'application/json;charset=utf-8',
    subject: `acs:kms:${options.region}:${accountId}:secret/${call.secretName}`,
    time,
    aliyunaccountid: accountId,
    aliyunpublishtime: new Date(call.at + 150).toISOString(),
    aliyuneventbusname: 'default',
    aliyunregionid: options.region,
    aliyunpublishaddr: '10.0.0.1',
    data: {
      eventId: call.requestId,
      eventVersion: 1,
      eventSource: options.eventSource ?? `kms.${options.region}.aliyuncs.com`,
      requestParameters: { SecretName: call.secretName, RegionId: options.region },
      sourceIpAddress: '10.0.0.2',
      userAgent: 'AlibabaCloud (Linux) Tea/1',
      eventRW: 'Write',
      eventType: 'ApiCall',
      userIdentity: call.principal?.startsWith('acs:ram::')
        ? { type: 'assumed-role', accountId, principalId: `3${call.requestId.slice(0, 8)}:secret-relay`, arn: call.principal }
        : { type: 'ram-user', accountId, principalId: '2' + accountId.slice(1), userName: call.principal ?? 'rotator' },
      serviceName: options.serviceName ?? 'Kms',
      apiVersion: '2016-01-20',
      requestId: call.requestId,
      eventTime: time,
      isGlobal: false,
      acsRegion: options.region,
      eventName: call.eventName,
    },
  };
}

/**
 * The event EventBridge delivers when KMS has rotated a managed (RDS, RAM, ECS) secret: type
 * kms:CloudMonitor:Secret[RotateSecret:Success] (…:Failure when it failed), as EventBridge's "KMS events" page lists;
 * data is CloudMonitor's system event in the shape KMS documents for RDS secret rotation (product, name, regionId,
 * resourceId, status, content.secretName …). Pure.
 */
export function rotationEvent(secretName: string, options: { region: string; accountId?: string; failed?: boolean; at?: number; secretType?: string }): Record<string, unknown> {
  const accountId = options.accountId ?? ACCOUNT_ID;
  const at = options.at ?? Date.now();
  const outcome = options.failed ? 'Failure' : 'Success';
  const arn = `acs:kms:${options.region}:${accountId}:secret/${secretName}`;
  return {
    id: randomUUID(),
    source: 'acs.kms',
    specversion: '1.0',
    type: `kms:CloudMonitor:Secret[RotateSecret:${outcome}]`,
    datacontenttype: 'application/json;charset=utf-8',
    subject: arn,
    time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    aliyunaccountid: accountId,
    aliyunpublishtime: new Date(at + 150).toISOString(),
    aliyuneventbusname: 'default',
    aliyunregionid: options.region,
    aliyunpublishaddr: '10.0.0.1',
    data: {
      product: 'KMS',
      instanceName: secretName,
      level: options.failed ? 'CRITICAL' : 'INFO',
      name: `Secret:RotateSecret:${outcome}`,
      regionId: options.region,
      resourceId: arn,
      status: options.failed ? 'Failed' : 'Normal',
      content: {
        eventId: randomUUID(),
        secretName,
        secretType: options.secretType ?? 'Rds',
        rotationStatus: options.failed ? 'Invalid' : 'Enabled',
        ...(options.failed ? { failureInfo: { errorCode: 'Kms:ErrorCode', errorMessage: 'rotation failed' } } : {}),
      },
      ver: '1.0',
    },
  };
}

/** The MNS message body the target writes for `event`. */
export function queueMessageBody(event: unknown, base64: boolean): string {
  const json = JSON.stringify(event);
  return base64 ? Buffer.from(json, 'utf8').toString('base64') : json;
}

/**
 * The documented rule's pattern on data.eventName (docs/change-feeds-clouds.md): [{"suffix":"Secret"},
 * "PutSecretValue","UpdateSecretVersionStage"], over the write calls ActionTrail gives EventBridge (the KMS fake
 * records only writes).
 */
export const ruleMatches = (eventName: string): boolean => eventName.endsWith('Secret') || eventName === 'PutSecretValue' || eventName === 'UpdateSecretVersionStage';

export interface EventBridgeRule {
  /** Every event body sent to the queue so far. */
  readonly delivered: string[];
  stop(): void;
}

/**
 * Forwards the KMS fake's matching writes to `queue` of the MNS fake, as a rule with an MNS target does (after a
 * small delivery delay, as EventBridge's is not instant). A deleted queue loses the event, as the real target does.
 */
export function ruleToQueue(kms: AlibabaFake, mns: MnsFake, queue: string, options: { region: string; base64?: boolean; delayMs?: number }): EventBridgeRule {
  const delivered: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const unsubscribe = kms.onApiCall((call) => {
    if (!ruleMatches(call.eventName)) return;
    const body = queueMessageBody(actionTrailEvent(call, { region: options.region }), options.base64 ?? false);
    const timer = setTimeout(() => {
      timers.delete(timer);
      try {
        mns.send(queue, body);
        delivered.push(body);
      } catch {
        // The queue is gone: EventBridge retries, then drops the event.
      }
    }, options.delayMs ?? 20);
    timers.add(timer);
  });
  return {
    delivered,
    stop() {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
    },
  };
}
