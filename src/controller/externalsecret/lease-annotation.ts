// The leases of the generated credentials a Secret holds, recorded on the Secret itself (an annotation written in
// the same apply as the values), so that whichever replica leads next knows them even when the status patch that
// should have recorded them failed: the Secret cannot hold credentials its annotation does not name.
// Lease IDs are not credentials, but a tenant who can edit the Secret must not make the operator renew or revoke a
// lease of its choosing (another team's, under a shared Vault path): the annotation carries a keyed HMAC (the
// operator's data-HMAC key) over the leases, the ExternalSecret's uid, the Secret's name and its data HMAC; one
// that does not verify is ignored. A copy of an older annotation of the same Secret verifies, but its leases are
// older than the status's and are never taken over (generators.ts, leasesHeldBySecret).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { GeneratorLease } from '../../api/index.ts';
import { GeneratorLeaseSchema } from '../../api/external-secret.ts';
import { DATA_HMAC_ANNOTATION } from './desired-secret.ts';

export const LEASES_ANNOTATION = 'secret-relay.dev/leases';

/** Whose annotation it is: the Secret, and the ExternalSecret whose generated credentials it holds. */
export interface LeaseAnnotationScope {
  readonly namespace: string;
  /** The Secret's name. */
  readonly name: string;
  /** The ExternalSecret's uid. */
  readonly externalSecretUid: string;
}

const AnnotationSchema = z.object({ leases: z.array(GeneratorLeaseSchema).max(64), mac: z.string().max(128) });

function macOf(hmacKey: Uint8Array, scope: LeaseAnnotationScope, dataHmac: string, leasesJson: string): string {
  const mac = createHmac('sha256', hmacKey)
    .update('secret-relay.dev/leases/v1\0')
    .update(`${scope.namespace}\0${scope.name}\0${scope.externalSecretUid}\0${dataHmac}\0`)
    .update(leasesJson)
    .digest('hex');
  return `v1:${mac}`;
}

/** The annotation's value for a Secret written with `annotations` (its data HMAC among them). Pure. */
export function leasesAnnotation(hmacKey: Uint8Array, scope: LeaseAnnotationScope, annotations: Readonly<Record<string, string>>, leases: readonly GeneratorLease[]): string {
  const leasesJson = JSON.stringify(leases);
  return `{"leases":${leasesJson},"mac":${JSON.stringify(macOf(hmacKey, scope, annotations[DATA_HMAC_ANNOTATION] ?? '', leasesJson))}}`;
}

/** The leases a Secret's annotation names, or undefined when it has none or it does not verify. Pure. */
export function leasesOfSecret(hmacKey: Uint8Array, scope: LeaseAnnotationScope, annotations: Readonly<Record<string, string>> | undefined): GeneratorLease[] | undefined {
  const value = annotations?.[LEASES_ANNOTATION];
  if (value === undefined || value.length > 64 * 1024) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || !('leases' in raw) || !('mac' in raw) || typeof raw.mac !== 'string') return undefined;
  // Over the leases as written (JSON.parse keeps their key order), then checked against the schema.
  const expected = Buffer.from(macOf(hmacKey, scope, annotations?.[DATA_HMAC_ANNOTATION] ?? '', JSON.stringify(raw.leases)));
  const recorded = Buffer.from(raw.mac);
  if (expected.length !== recorded.length || !timingSafeEqual(expected, recorded)) return undefined;
  const parsed = AnnotationSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  return parsed.data.leases as GeneratorLease[];
}
