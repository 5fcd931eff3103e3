// The local generators: Password, SSHKey and UUID (ESO's generators.external-secrets.io kinds and fields, in our
// group). Used from ExternalSecret dataFrom[].sourceRef.generatorRef and PushSecret selector.generatorRef. A value is
// generated once and kept (in the target Secret, or the PushSecret's <name>-generated Secret); it is generated anew
// only when the referring object's secret-relay.dev/rotate annotation changes (docs/push-secret.md).
import { z } from 'zod';
import { ObjectMetaSchema } from './common.ts';
import { API_GROUP_VERSION, Kind } from './meta.ts';
import { formatIssues, type ParseResult } from './parse.ts';
import { typeMeta, withRules } from './schema-helpers.ts';
import { SECRET_KEY_PATTERN } from './external-secret.ts';
import type { Password, SSHKey, UUID } from './types.generated.ts';

/**
 * ESO sets no maximum length. 1024 is far above any use (a password of 24 characters from this alphabet has ~150
 * bits of entropy; bcrypt reads 72 bytes) and bounds the work and size a tenant can ask for: 16 keys × 1024
 * characters is 16 KiB and under a millisecond of generation.
 */
export const PasswordLimits = { minLength: 1, maxLength: 1024, symbolCharacters: 256, secretKeys: 16 } as const;

export const PasswordSpecSchema = withRules(
  z
    .object({
      length: z.int().min(PasswordLimits.minLength).max(PasswordLimits.maxLength).default(24).describe('Length of the password (default 24, at most 1024).'),
      digits: z.int().min(0).max(PasswordLimits.maxLength).optional().describe('How many digits (default: 25% of the length).'),
      symbols: z.int().min(0).max(PasswordLimits.maxLength).optional().describe('How many symbols (default: 25% of the length).'),
      symbolCharacters: z.string().min(1).max(PasswordLimits.symbolCharacters).optional().describe('The symbols to choose from (default ~!@#$%^&*()_+`-={}|[]\\:"<>?,./).'),
      noUpper: z.boolean().default(false).describe('No uppercase letters.'),
      allowRepeat: z.boolean().default(false).describe('Allow a character to appear more than once.'),
      secretKeys: z
        .array(z.string().min(1).max(253).regex(new RegExp(SECRET_KEY_PATTERN)))
        .min(1)
        .max(PasswordLimits.secretKeys)
        .optional()
        .describe('Keys that each get a password (default: "password").'),
      encoding: z.enum(['raw', 'base64', 'base64url', 'base32', 'hex']).default('raw').describe('How the password is encoded (default raw).'),
    })
    .meta(typeMeta('PasswordSpec', 'How a password is generated (ESO fields).')),
  [
    {
      rule: '(has(self.digits) ? self.digits : 0) + (has(self.symbols) ? self.symbols : 0) <= (has(self.length) ? self.length : 24)',
      message: 'spec.digits + spec.symbols must not exceed spec.length',
      holds: (spec) => (spec.digits ?? 0) + (spec.symbols ?? 0) <= spec.length,
    },
  ],
);

export const PasswordSchema = z
  .object({ apiVersion: z.literal(API_GROUP_VERSION), kind: z.literal(Kind.Password), metadata: ObjectMetaSchema, spec: PasswordSpecSchema.prefault({}) })
  .meta(typeMeta('Password', 'A Password generates a random password (key "password", or spec.secretKeys) once; it is kept until a rotation is asked for.'));

/** RSA and ECDSA key sizes accepted; RSA above 4096 is refused (an 8192-bit key takes 6–22 s of CPU: test/bench/generators.ts). */
export const SSHKeyLimits = { rsaSizes: [2048, 3072, 4096], ecdsaSizes: [256, 384, 521], maxKeySize: 4096, comment: 1024 } as const;

export const SSHKeySpecSchema = withRules(
  z
    .object({
      keyType: z.enum(['rsa', 'ed25519', 'ecdsa']).default('rsa').describe('rsa (default), ecdsa or ed25519.'),
      keySize: z
        .int()
        .min(256)
        .max(SSHKeyLimits.maxKeySize)
        .optional()
        .describe('RSA: 2048 (default), 3072 or 4096 (ESO allows up to 8192; refused here: it takes seconds to generate). ECDSA: 256 (default), 384 or 521. Ignored for ed25519.'),
      comment: z.string().max(SSHKeyLimits.comment).regex(/^[^\r\n]*$/).optional().describe('The comment of the public key line.'),
    })
    .meta(typeMeta('SSHKeySpec', 'Which SSH key pair is generated (ESO fields).')),
  [
    {
      rule: "(has(self.keyType) && self.keyType != 'rsa') || !has(self.keySize) || self.keySize in [2048, 3072, 4096]",
      message: 'spec.keySize must be 2048, 3072 or 4096 for rsa keys',
      holds: (spec) => spec.keyType !== 'rsa' || spec.keySize === undefined || (SSHKeyLimits.rsaSizes as readonly number[]).includes(spec.keySize),
    },
    {
      rule: "!has(self.keyType) || self.keyType != 'ecdsa' || !has(self.keySize) || self.keySize in [256, 384, 521]",
      message: 'spec.keySize must be 256, 384 or 521 for ecdsa keys',
      holds: (spec) => spec.keyType !== 'ecdsa' || spec.keySize === undefined || (SSHKeyLimits.ecdsaSizes as readonly number[]).includes(spec.keySize),
    },
  ],
);

export const SSHKeySchema = z
  .object({ apiVersion: z.literal(API_GROUP_VERSION), kind: z.literal(Kind.SSHKey), metadata: ObjectMetaSchema, spec: SSHKeySpecSchema.prefault({}) })
  .meta(typeMeta('SSHKey', 'An SSHKey generates an SSH key pair (keys privateKey, publicKey) once; it is kept until a rotation is asked for.'));

export const UUIDSchema = z
  .object({ apiVersion: z.literal(API_GROUP_VERSION), kind: z.literal(Kind.UUID), metadata: ObjectMetaSchema, spec: z.object({}).meta(typeMeta('UUIDSpec', 'No settings.')).prefault({}) })
  .meta(typeMeta('UUID', 'A UUID generates a random (version 4) UUID (key "uuid") once; it is kept until a rotation is asked for.'));

function parse<T>(schema: z.ZodType<T>, kind: string, obj: unknown): ParseResult<T> {
  const result = schema.safeParse(obj, { error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined) });
  if (result.success) return { ok: true, value: result.data };
  const meta = (obj as { metadata?: { namespace?: string; name?: string } } | undefined)?.metadata;
  return { ok: false, error: `${kind} ${meta?.namespace ?? ''}/${meta?.name ?? ''} is invalid: ${formatIssues(result.error.issues)}` };
}

const passwordSchema: z.ZodType<Password> = PasswordSchema;
const sshKeySchema: z.ZodType<SSHKey> = SSHKeySchema;
const uuidSchema: z.ZodType<UUID> = UUIDSchema;
export const parsePassword = (obj: unknown): ParseResult<Password> => parse(passwordSchema, 'Password', obj);
export const parseSSHKey = (obj: unknown): ParseResult<SSHKey> => parse(sshKeySchema, 'SSHKey', obj);
export const parseUUID = (obj: unknown): ParseResult<UUID> => parse(uuidSchema, 'UUID', obj);
