// LeaseStore (src/k8s/lease-record.ts) on coordination.k8s.io/v1 Leases.
import { V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaseConflictError } from './lease-record.ts';
import type { LeaseRecord, LeaseStore } from './lease-record.ts';
import { apiErrorCode } from './kube-client.ts';
import type { KubeClient } from './kube-client.ts';

/** Leases through `kube.coordination`; 409 becomes LeaseConflictError, 404 on read becomes undefined. */
export function createLeaseStore(kube: Pick<KubeClient, 'coordination'>): LeaseStore {
  const { coordination } = kube;
  return {
    async get(namespace, name) {
      try {
        return fromLease(await coordination.readNamespacedLease({ namespace, name }));
      } catch (err) {
        if (apiErrorCode(err) === 404) return undefined;
        throw leaseError(err, 'read', namespace, name);
      }
    },
    async create(lease) {
      try {
        return fromLease(await coordination.createNamespacedLease({ namespace: lease.namespace, body: toLease(lease) }));
      } catch (err) {
        throw leaseError(err, 'create', lease.namespace, lease.name);
      }
    },
    async replace(lease) {
      if (!lease.resourceVersion) throw new Error(`replacing Lease ${lease.namespace}/${lease.name} needs the resourceVersion it was read at`);
      try {
        return fromLease(await coordination.replaceNamespacedLease({ namespace: lease.namespace, name: lease.name, body: toLease(lease) }));
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
  // An ApiException's message goes on with the response body and headers; the first line says enough.
  const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return new Error(`could not ${verb} Lease ${namespace}/${name}${code ? ` (HTTP ${code})` : ''}: ${detail}`, { cause: err });
}

/** The client deserializes MicroTime fields as strings despite the Date type; accept both. */
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

function toLease(record: LeaseRecord): V1Lease {
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
      // MicroTime: the apiserver wants exactly six fractional digits, which V1MicroTime serializes.
      ...(record.acquireTime !== undefined ? { acquireTime: new V1MicroTime(record.acquireTime) } : {}),
      ...(record.renewTime !== undefined ? { renewTime: new V1MicroTime(record.renewTime) } : {}),
      ...(record.leaseTransitions !== undefined ? { leaseTransitions: record.leaseTransitions } : {}),
    },
  };
}
