// The contract of a generator (dataFrom[].sourceRef.generatorRef): values made for one ExternalSecret, with the
// lease that comes with them. A provider implements it (vault/dynamic.ts); controller/externalsecret/generators.ts
// keeps the leases on the ExternalSecret's status.
import type { GeneratorRef } from '../api/index.ts';

export type GeneratorKind = GeneratorRef['kind'];

export interface GeneratorObjectRef {
  readonly namespace: string;
  readonly kind: GeneratorKind;
  readonly name: string;
}

export interface LeaseSettings {
  /** Renew once this share (percent) of the TTL has passed. */
  readonly renewAtPercent: number;
  /** Issue new credentials this long before the lease's hard end. */
  readonly rotateBeforeMs: number;
}

export interface IssuedLease {
  readonly leaseId: string;
  readonly renewable: boolean;
  readonly leaseDurationSeconds: number;
}

export interface Generated {
  /** Key → value, before rewrite/conversion. */
  readonly data: ReadonlyMap<string, Uint8Array>;
  /** Absent when the values carry no lease (nothing to renew or revoke). */
  readonly lease?: IssuedLease | undefined;
}

/** One generator kind. Errors follow the provider contract (TerminalError, NoSecretError for a lease that is gone). */
export interface Generator {
  settings(ref: GeneratorObjectRef, signal: AbortSignal): Promise<LeaseSettings>;
  generate(ref: GeneratorObjectRef, signal: AbortSignal): Promise<Generated>;
  renew(ref: GeneratorObjectRef, leaseId: string, incrementSeconds: number, signal: AbortSignal): Promise<{ leaseDurationSeconds: number; renewable: boolean }>;
  revoke(ref: GeneratorObjectRef, leaseId: string, signal: AbortSignal): Promise<void>;
  /** Releases what the generator holds (connections, tokens) when the operator stops. */
  close?(): Promise<void>;
}

export type Generators = Readonly<Partial<Record<GeneratorKind, Generator>>>;
