// The local generators (Password, SSHKey, UUID): read the generator object of the namespace, generate with
// node:crypto. Keeping a value stable across refreshes and restarts is the caller's: it reuses what its Secret
// already holds and calls generate() only for a key it lacks or when a rotation is asked for (docs/push-secret.md).
import { randomUUID } from 'node:crypto';
import { Kind, Plural, parsePassword, parseSSHKey, parseUUID, type PasswordSpec, type SSHKeySpec } from '../../api/index.ts';
import { TerminalError } from '../../util/errors.ts';
import type { KubeRequester } from '../../k8s/kube-client.ts';
import { readCustomObject } from '../../k8s/reads.ts';
import { API_GROUP, API_VERSION, ROTATED_ANNOTATION } from '../../api/index.ts';
import { passwordValues } from './password.ts';
import { sshKeyValues } from './ssh-key.ts';

export const LOCAL_GENERATOR_KINDS: ReadonlySet<string> = new Set([Kind.Password, Kind.SSHKey, Kind.UUID]);

export type ReadGeneratorObject = (plural: string, namespace: string, name: string, signal: AbortSignal) => Promise<unknown>;

export interface LocalGenerators {
  /** Fresh values of the generator `kind`/`name` in `namespace`. TerminalError when it is missing or invalid. */
  generate(namespace: string, ref: GeneratorObjectRef, signal: AbortSignal): Promise<Map<string, Uint8Array>>;
  /**
   * The keys generate() would give, its object read and checked but nothing generated: a refresh whose Secret holds
   * them all keeps them without paying for a new key pair each time.
   */
  keys(namespace: string, ref: GeneratorObjectRef, signal: AbortSignal): Promise<readonly string[]>;
}

export interface GeneratorObjectRef {
  readonly kind: string;
  readonly name: string;
}

type ParsedGenerator = { readonly kind: 'Password'; readonly spec: PasswordSpec } | { readonly kind: 'SSHKey'; readonly spec: SSHKeySpec } | { readonly kind: 'UUID' };

export function createLocalGenerators(read: ReadGeneratorObject, makeSshKey: typeof sshKeyValues = sshKeyValues): LocalGenerators {
  async function parsed(namespace: string, ref: GeneratorObjectRef, signal: AbortSignal): Promise<ParsedGenerator> {
    const plural = ref.kind === Kind.Password ? Plural.Password : ref.kind === Kind.SSHKey ? Plural.SSHKey : ref.kind === Kind.UUID ? Plural.UUID : undefined;
    if (plural === undefined) throw new TerminalError(`generator kind ${ref.kind} is not a local generator`);
    const raw = await read(plural, namespace, ref.name, signal);
    if (raw === undefined) throw new TerminalError(`${ref.kind} ${namespace}/${ref.name} does not exist`);
    const result = ref.kind === Kind.Password ? parsePassword(raw) : ref.kind === Kind.SSHKey ? parseSSHKey(raw) : parseUUID(raw);
    // The schema's bounds (length, keySize) hold here too, whatever the CRD installed lets through.
    if (!result.ok) throw new TerminalError(result.error);
    const value = result.value;
    return value.kind === 'Password' ? { kind: 'Password', spec: value.spec } : value.kind === 'SSHKey' ? { kind: 'SSHKey', spec: value.spec } : { kind: 'UUID' };
  }
  // One key pair at a time per controller: generateKeyPair runs on libuv's 4 shared threads, which DNS lookups and
  // file reads of every tenant also need, and an RSA 4096 pair takes 0.2–1.2 s of one (test/bench/generators.ts).
  // So key generation holds at most one thread per controller, whatever the number of workers.
  let keyPairTail: Promise<unknown> = Promise.resolve();
  const oneKeyPairAtATime = <T>(make: () => Promise<T>): Promise<T> => {
    const run = keyPairTail.then(make, make);
    keyPairTail = run.catch(() => {});
    return run;
  };
  return {
    async generate(namespace, ref, signal) {
      const generator = await parsed(namespace, ref, signal);
      if (generator.kind === 'Password') return passwordValues(generator.spec);
      if (generator.kind === 'SSHKey') return oneKeyPairAtATime(() => makeSshKey(generator.spec));
      return new Map([['uuid', Buffer.from(randomUUID())]]);
    },
    async keys(namespace, ref, signal) {
      const generator = await parsed(namespace, ref, signal);
      if (generator.kind === 'Password') return generator.spec.secretKeys ?? ['password'];
      if (generator.kind === 'SSHKey') return ['privateKey', 'publicKey'];
      return ['uuid'];
    },
  };
}

/** The local generators reading their objects from the apiserver (RBAC: get passwords, sshkeys, uuids). */
export function localGeneratorsFor(kube: KubeRequester): LocalGenerators {
  return createLocalGenerators((plural, namespace, name) => readCustomObject(kube, { group: API_GROUP, version: API_VERSION, plural, namespace, name }));
}


/** Whether the owner's rotate annotation asks for values the Secret (its rotated annotation) does not have yet. Pure. */
export function rotationAsked(ownerAnnotations: Readonly<Record<string, string>> | undefined, secretAnnotations: Readonly<Record<string, string>> | undefined, rotateKey: string): boolean {
  const asked = ownerAnnotations?.[rotateKey];
  return asked !== undefined && asked !== '' && asked !== secretAnnotations?.[ROTATED_ANNOTATION];
}

/**
 * The values to use: those `kept` already holds for every key `fresh` has (so a refresh changes nothing), unless
 * `rotate` asks for new ones; a key missing from `kept` gets its fresh value. Pure.
 */
export function keepGenerated(fresh: ReadonlyMap<string, Uint8Array>, kept: ReadonlyMap<string, Uint8Array> | undefined, rotate: boolean): Map<string, Uint8Array> {
  if (rotate || kept === undefined) return new Map(fresh);
  const complete = [...fresh.keys()].every((key) => kept.has(key));
  // All or nothing: an SSH key pair's halves must stay a pair.
  return complete ? new Map([...fresh.keys()].map((key) => [key, kept.get(key)!])) : new Map(fresh);
}
