// PushSecret writes to Google Secret Manager: CreateSecret (automatic replication) with our mark — the label
// managed-by=secret-relay and the annotation secret-relay.dev/push-secret naming the PushSecret (label values cannot
// hold "/") — plus the metadata's labels and annotations, then AddSecretVersion; a new version only over a secret
// that carries our mark (or on the adopt opt-in: UpdateSecret adds it) and only when the value changed;
// DeleteSecret for what we created.
import { NoSecretError, TerminalError } from '../provider.ts';
import type { DeleteRequest, DeleteResult, PushRequest, PushResult } from '../push.ts';
import { mergeProperty, notOwned, ownershipOf, removeProperty, valueText, MARK_MANAGED_BY_KEY, MARK_MANAGED_BY_VALUE, MARK_OWNER_KEY, pushMetadataSpec, MARK_KEYS } from '../push.ts';
import type { GcpCredentials } from './credentials.ts';
import { secretName, versionName } from './plan.ts';
import { authorizedCall } from './reader.ts';
import type { SecretManagerServiceClient } from './sdk.ts';

/** ESO's PushSecretMetadata spec for GCP: labels, annotations (each a map of strings). Pure. */
export function parseGcpMetadata(metadata: Readonly<Record<string, unknown>> | undefined): { labels: Record<string, string>; annotations: Record<string, string> } {
  const spec = pushMetadataSpec(metadata);
  return { labels: spec.stringMap('labels', [MARK_MANAGED_BY_KEY]), annotations: spec.stringMap('annotations', [MARK_OWNER_KEY]) };
}

export function createGcpWriter(settings: { client: SecretManagerServiceClient; credentials: GcpCredentials; parent: string }) {
  const { client, credentials, parent } = settings;
  const call = authorizedCall(credentials);
  const describe = async (name: string, signal: AbortSignal) => {
    try {
      const [secret] = await call('GetSecret', name, signal, (options) => client.getSecret({ name }, options));
      return secret;
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
  };
  const latest = async (name: string, signal: AbortSignal): Promise<string | undefined> => {
    try {
      const version = versionName(parent, name, 'latest');
      const [response] = await call('AccessSecretVersion', version, signal, (options) => client.accessSecretVersion({ name: version }, options));
      const data = response.payload?.data;
      return data === undefined || data === null ? undefined : Buffer.from(data as Uint8Array).toString('utf8');
    } catch (err) {
      if (err instanceof NoSecretError) return undefined;
      throw err;
    }
  };
  /** The mark as the generic key/value view ownershipOf reads. */
  const markOfSecret = (secret: { labels?: Record<string, string> | null; annotations?: Record<string, string> | null }) => ({
    ...(secret.labels?.[MARK_MANAGED_BY_KEY] !== undefined ? { [MARK_MANAGED_BY_KEY]: secret.labels[MARK_MANAGED_BY_KEY] } : {}),
    ...(secret.annotations?.[MARK_OWNER_KEY] !== undefined ? { [MARK_OWNER_KEY]: secret.annotations[MARK_OWNER_KEY] } : {}),
  });
  const addVersion = (name: string, value: string, signal: AbortSignal) =>
    call('AddSecretVersion', name, signal, (options) => client.addSecretVersion({ parent: name, payload: { data: Buffer.from(value, 'utf8') } }, options));

  return {
    async pushSecret(request: PushRequest, signal: AbortSignal): Promise<PushResult> {
      const name = secretName(parent, request.remoteKey);
      const what = `Google secret ${name}`;
      const meta = parseGcpMetadata(request.metadata);
      const text = valueText(request.value, what);
      const existing = await describe(name, signal);
      if (existing === undefined) {
        const secretId = name.slice(name.lastIndexOf('/secrets/') + '/secrets/'.length);
        const owner = name.slice(0, name.lastIndexOf('/secrets/'));
        await call('CreateSecret', name, signal, (options) =>
          client.createSecret(
            {
              parent: owner,
              secretId,
              secret: { replication: { automatic: {} }, labels: { ...meta.labels, [MARK_MANAGED_BY_KEY]: MARK_MANAGED_BY_VALUE }, annotations: { ...meta.annotations, [MARK_OWNER_KEY]: request.owner } },
            },
            options,
          ),
        );
        await addVersion(name, request.property === undefined ? text : mergeProperty(undefined, request.property, text, what), signal);
        return 'created';
      }
      if (request.updatePolicy === 'IfNotExists') return 'exists';
      const mark = markOfSecret(existing);
      const ownership = ownershipOf(mark, request.owner);
      if (ownership !== 'ours' && !request.adopt) throw notOwned(what, ownership, mark);
      if (ownership !== 'ours') {
        await call('UpdateSecret', name, signal, (options) =>
          client.updateSecret(
            {
              secret: { name, labels: { ...existing.labels, ...meta.labels, [MARK_MANAGED_BY_KEY]: MARK_MANAGED_BY_VALUE }, annotations: { ...existing.annotations, ...meta.annotations, [MARK_OWNER_KEY]: request.owner } },
              updateMask: { paths: ['labels', 'annotations'] },
            },
            options,
          ),
        );
      }
      const current = await latest(name, signal);
      const value = request.property === undefined ? text : mergeProperty(current, request.property, text, what);
      if (value === current) return ownership === 'ours' ? 'unchanged' : 'updated';
      await addVersion(name, value, signal);
      return 'updated';
    },

    async deleteSecret(request: DeleteRequest, signal: AbortSignal): Promise<DeleteResult> {
      const name = secretName(parent, request.remoteKey);
      const existing = await describe(name, signal);
      if (existing === undefined) return 'absent';
      if (ownershipOf(markOfSecret(existing), request.owner) !== 'ours') return 'not-owned';
      if (request.property !== undefined) {
        const current = await latest(name, signal);
        if (current === undefined) return 'absent';
        const { value, changed } = removeProperty(current, request.property, `Google secret ${name}`);
        if (!changed) return 'absent';
        if (value !== undefined) {
          await addVersion(name, value, signal);
          return 'deleted';
        }
      }
      await call('DeleteSecret', name, signal, (options) => client.deleteSecret({ name }, options));
      return 'deleted';
    },
  };
}
