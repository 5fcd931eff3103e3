// LeaseStore (src/k8s/lease-record.ts) on coordination.k8s.io/v1 Leases.
import type { V1Lease } from '@kubernetes/client-node';
import { LeaseConflictError } from './lease-record.ts';
import type { LeaseRecord, LeaseStore } from './lease-record.ts';
import { apiErrorCode } from './kube-client.ts';
import type { KubeRequester } from './kube-client.ts';
import { createObject, getObject, microTime, replaceObject, type ResourceLocation } from './resources.ts';

const leases = (namespace: string, name?: string): ResourceLocation => ({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace, name });

/** Leases of coordination.k8s.io/v1; 409 becomes LeaseConflictError, 404 on read becomes undefined. */
export function createLeaseStore(kube: KubeRequester): LeaseStore {
  return {
    async get(namespace, name, signal) {
      try {
        return fromLease(await getObject<V1Lease>(kube, leases(namespace, name), undefined, signal));
      } catch (err) {
        if (apiErrorCode(err) === 404) return undefined;
        throw leaseError(err, 'read', namespace, name);
      }
    },
    async create(lease, signal) {
      try {
        return fromLease(await createObject<V1Lease>(kube, leases(lease.namespace), toLease(lease), signal));
      } catch (err) {
        throw leaseError(err, 'create', lease.namespace, lease.name);
      }
    },
    async replace(lease, signal) {
      if (!lease.resourceVersion) throw new Error(`replacing Lease ${lease.namespace}/${lease.name} needs the resourceVersion it was read at`);
      try {
        return fromLease(await replaceObject<V1Lease>(kube, leases(lease.namespace, lease.name), toLease(lease), signal));
      } catch (err) {
        throw leaseError(err, 'replace', lease.namespace, lease.name);
      }
    },
  };
}

function leaseError(err: unknown, verb: string, namespace: string, name: string): Error {
  const code = apiErrorCode(err);
  if (code === 409) return new LeaseConflictError(`Lease ${namespace}/${name} changed since it was read (409 on ${verb})`, { cause: err });
  if (code === 403) {
    return new Error(`not allowed to ${verb} Lease ${namespace}/${name} (403): grant the operator's ServiceAccount get/create/update on leases in ${namespace}`, {
      cause: err,
    });
  }
  const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return new Error(`could not ${verb} Lease ${namespace}/${name}${code ? ` (HTTP ${code})` : ''}: ${detail}`, { cause: err });
}

/** MicroTime fields arrive as strings (the model types say Date); accept both. */
function toMillis(value: Date | string | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function fromLease(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    namespace: lease.metadata?.namespace ?? '',
    name: lease.metadata?.name ?? '',
    resourceVersion: lease.metadata?.resourceVersion,
    holderIdentity: spec.holderIdentity,
    leaseDurationSeconds: spec.leaseDurationSeconds,
    acquireTime: toMillis(spec.acquireTime as Date | string | undefined),
    renewTime: toMillis(spec.renewTime as Date | string | undefined),
    leaseTransitions: spec.leaseTransitions,
  };
}

/** A Lease as sent: its MicroTimes as the apiserver's strings, not the model's Date. */
type LeaseBody = Omit<V1Lease, 'spec'> & { spec: Omit<NonNullable<V1Lease['spec']>, 'acquireTime' | 'renewTime'> & { acquireTime?: string; renewTime?: string } };

function toLease(record: LeaseRecord): LeaseBody {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      namespace: record.namespace,
      name: record.name,
      ...(record.resourceVersion ? { resourceVersion: record.resourceVersion } : {}),
      labels: { 'app.kubernetes.io/managed-by': 'secret-relay' },
    },
    spec: {
      holderIdentity: record.holderIdentity ?? '',
      ...(record.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: record.leaseDurationSeconds } : {}),
      // MicroTime: the apiserver wants exactly six fractional digits.
      ...(record.acquireTime !== undefined ? { acquireTime: microTime(record.acquireTime) } : {}),
      ...(record.renewTime !== undefined ? { renewTime: microTime(record.renewTime) } : {}),
      ...(record.leaseTransitions !== undefined ? { leaseTransitions: record.leaseTransitions } : {}),
    },
  };
}
