// Runtime parsing of objects read from the apiserver (or written by hand): defaults applied, the CRD's CEL rules
// checked again in TypeScript, and a one-line error naming each bad field.
import type { z } from 'zod';
import { ClusterExternalSecretSchema } from './cluster-external-secret.ts';
import { ExternalSecretSchema } from './external-secret.ts';
import { ClusterSecretStoreSchema, SecretStoreSchema } from './secret-store.ts';
import type { ClusterExternalSecret, ClusterSecretStore, ExternalSecret, SecretStore } from './types.generated.ts';

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** `spec.data[0].remoteRef.key` from zod's path segments. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(object)' : text;
}

/**
 * "field: problem; field: problem", each field named by its path. Messages that already name their field
 * generically ("spec.data[].secretKey must …", as the CRD's CEL messages do) get the concrete path instead.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = formatPath(issue.path);
      const generic = path.replace(/\[\d+\]/g, '[]');
      return issue.message.startsWith(`${generic} `) ? `${path}${issue.message.slice(generic.length)}` : `${path}: ${issue.message}`;
    })
    .join('; ');
}

function describeObject(kind: string, obj: unknown): string {
  const metadata = typeof obj === 'object' && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  const meta = typeof metadata === 'object' && metadata !== null ? (metadata as { name?: unknown; namespace?: unknown }) : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  if (name === undefined) return kind;
  return namespace === undefined ? `${kind} ${name}` : `${kind} ${namespace}/${name}`;
}

function parseWith<T>(schema: z.ZodType<T>, kind: string, obj: unknown): ParseResult<T> {
  const result = schema.safeParse(obj, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined),
  });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: `${describeObject(kind, obj)} is invalid: ${formatIssues(result.error.issues)}` };
}

// The generated interfaces must describe what the schemas produce; these assignments fail to compile otherwise.
const externalSecretSchema: z.ZodType<ExternalSecret> = ExternalSecretSchema;
const secretStoreSchema: z.ZodType<SecretStore> = SecretStoreSchema;
const clusterSecretStoreSchema: z.ZodType<ClusterSecretStore> = ClusterSecretStoreSchema;
const clusterExternalSecretSchema: z.ZodType<ClusterExternalSecret> = ClusterExternalSecretSchema;

export function parseExternalSecret(obj: unknown): ParseResult<ExternalSecret> {
  return parseWith(externalSecretSchema, 'ExternalSecret', obj);
}

export function parseSecretStore(obj: unknown): ParseResult<SecretStore> {
  return parseWith(secretStoreSchema, 'SecretStore', obj);
}

export function parseClusterSecretStore(obj: unknown): ParseResult<ClusterSecretStore> {
  return parseWith(clusterSecretStoreSchema, 'ClusterSecretStore', obj);
}

export function parseClusterExternalSecret(obj: unknown): ParseResult<ClusterExternalSecret> {
  return parseWith(clusterExternalSecretSchema, 'ClusterExternalSecret', obj);
}
