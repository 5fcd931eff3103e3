// The contract of a generator (dataFrom[].sourceRef.generatorRef): values made for one ExternalSecret, with the
// lease that comes with them. A provider implements it (vault/dynamic.ts); controller/externalsecret/generators.ts
// keeps the leases on the ExternalSecret's status.
import type { GeneratorRef } from '../api/index.ts';
import type { ProviderName } from '../api/meta.ts';

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

/**
 * A credential a generator revoked on the side while serving a call — the Vault token of a connection it replaced
 * because the generator object or its store changed — and how that went. Never a secret.
 */
export interface RevocationReport {
  /** What was revoked, e.g. "the Vault token of VaultDynamicSecret team-a/db". */
  readonly subject: string;
  /** Who revoked it (the identity the connection acted as). */
  readonly identity: string;
  /** Why it failed; absent when it was revoked. */
  readonly error?: string | undefined;
  readonly durationMs: number;
}

/** Told about side revocations, so that the ExternalSecret being served can show a failure (Event, metric, audit). */
export type RevocationListener = (report: RevocationReport) => void;

/**
 * One generator kind. Errors follow the provider contract (TerminalError, NoSecretError for a lease that is gone).
 * `onRevocation` hears of credentials revoked on the side during the call (it may be called after the call returned).
 */
export interface Generator {
  settings(ref: GeneratorObjectRef, signal: AbortSignal): Promise<LeaseSettings>;
  generate(ref: GeneratorObjectRef, signal: AbortSignal, onRevocation?: RevocationListener): Promise<Generated>;
  renew(
    ref: GeneratorObjectRef,
    leaseId: string,
    incrementSeconds: number,
    signal: AbortSignal,
    onRevocation?: RevocationListener,
  ): Promise<{ leaseDurationSeconds: number; renewable: boolean }>;
  revoke(ref: GeneratorObjectRef, leaseId: string, signal: AbortSignal, onRevocation?: RevocationListener): Promise<void>;
  /** Releases what the generator holds (connections, tokens) when the operator stops. */
  close?(): Promise<void>;
}

/** The provider behind each generator kind (audit records and metrics name it). */
/** Local generators (Password, SSHKey, UUID) have no provider. */
export const GENERATOR_PROVIDERS: Readonly<Partial<Record<GeneratorKind, ProviderName>>> = { VaultDynamicSecret: 'vault' };

export type Generators = Readonly<Partial<Record<GeneratorKind, Generator>>>;
