// Step: the Secret the fetched values make — as they are, or shaped by spec.target.template (rendered in the
// sandbox, with what templateFrom names read from the ExternalSecret's own namespace only). Rendered before
// anything is written: a template error leaves the Secret as it was.
import { API_GROUP_VERSION, Kind, ROTATE_ANNOTATION } from '../../api/index.ts';
import type { CreationPolicy } from '../../api/types.generated.ts';
import { templateSourceNames, type TemplateSources } from '../../templates/render-secret.ts';
import type { GeneratorLease } from '../../api/index.ts';
import { LEASES_ANNOTATION, leasesAnnotation } from './lease-annotation.ts';
import { copiedMetadata } from './copied-metadata.ts';
import { buildDesiredSecret, type SecretApplyBody } from './desired-secret.ts';
import type { SyncContext } from './sync-context.ts';

/** `leases`: of the generated credentials among `data`, recorded on the Secret in the same write (./lease-annotation.ts). */
export async function desiredSecret(
  ctx: SyncContext,
  data: Map<string, Uint8Array>,
  creationPolicy: Exclude<CreationPolicy, 'None'>,
  leases: readonly GeneratorLease[],
): Promise<SecretApplyBody> {
  const template = ctx.es.spec.target?.template;
  // Without a template the ExternalSecret's own labels and annotations go to the Secret, as ESO does.
  const shaped = template
    ? await ctx.deps.sandbox.renderSecret({ namespace: ctx.namespace, signal: ctx.signal }, data, template, await readTemplateSources(ctx))
    : { data, type: undefined, ...copiedMetadata(ctx.es.metadata) };
  const desired = buildDesiredSecret({
    namespace: ctx.namespace,
    name: ctx.targetName,
    creationPolicy,
    immutable: ctx.es.spec.target?.immutable ?? false,
    owner: { apiVersion: API_GROUP_VERSION, kind: Kind.ExternalSecret, name: ctx.name, uid: ctx.uid },
    data: shaped.data,
    hmacKey: ctx.deps.hmacKey,
    type: shaped.type,
    labels: shaped.labels,
    annotations: shaped.annotations,
    rotated: ctx.es.metadata.annotations?.[ROTATE_ANNOTATION],
  });
  if (leases.length === 0) return desired;
  const scope = { namespace: ctx.namespace, name: ctx.targetName, externalSecretUid: ctx.uid };
  const annotations = { ...desired.metadata.annotations, [LEASES_ANNOTATION]: leasesAnnotation(ctx.deps.hmacKey, scope, desired.metadata.annotations, leases) };
  return { ...desired, metadata: { ...desired.metadata, annotations } };
}

/** Reads the ConfigMaps and Secrets templateFrom names, from the ExternalSecret's namespace only. */
async function readTemplateSources(ctx: SyncContext): Promise<TemplateSources> {
  const names = templateSourceNames(ctx.es.spec.target?.template);
  const configMaps = new Map<string, Readonly<Record<string, string>>>();
  const secrets = new Map<string, Readonly<Record<string, Uint8Array>>>();
  if (names.configMaps.length + names.secrets.length === 0) return { configMaps, secrets };
  const reader = ctx.deps.templateSources;
  if (!reader) throw new Error('templateFrom cannot read ConfigMaps or Secrets in this operator (no reader configured)');
  for (const name of names.configMaps) {
    const data = await reader.configMapData(ctx.namespace, name);
    if (data) configMaps.set(name, data);
  }
  for (const name of names.secrets) {
    const data = await reader.secretData(ctx.namespace, name);
    if (data) secrets.set(name, Object.fromEntries(Object.entries(data).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))])));
  }
  return { configMaps, secrets };
}
