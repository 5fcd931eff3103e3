// AWS SDK errors → the provider contract's errors. Messages name the action, the key and the identity,
// never a value; the SDK's own message is kept only for errors we do not classify.
import { AccessDeniedError, NoSecretError, TerminalError, ThrottledError } from '../provider.ts';

/** What was being done when an AWS call failed, for the message. */
export interface AwsCallContext {
  /** IAM action, e.g. "secretsmanager:GetSecretValue". */
  readonly action: string;
  /** The remote key (or find description, or role ARN) the call was about. */
  readonly subject?: string | undefined;
  /** Who asked: the role ARN assumed, or a description of the credentials. */
  readonly identity: string;
}

interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number | undefined };
  readonly $retryable?: { readonly throttling?: boolean | undefined };
}

const notFoundNames = new Set([
  'ResourceNotFoundException',
  'ParameterNotFound',
  'ParameterVersionNotFound',
  'ParameterVersionLabelNotFound',
]);

const accessDeniedNames = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'InvalidIdentityToken',
  'InvalidIdentityTokenException',
  'IDPRejectedClaim',
  'IDPRejectedClaimException',
  'AuthFailure',
  'NotAuthorized',
]);

const throttlingNames = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ThrottledException',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
]);

/** Which of our error classes an AWS error belongs to. Pure; exported for tests. */
export function classifyAwsError(error: unknown): 'not_found' | 'access_denied' | 'throttled' | 'decryption' | 'other' {
  const shape = (error ?? {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : '';
  const message = typeof shape.message === 'string' ? shape.message : '';
  if (notFoundNames.has(name)) return 'not_found';
  // A secret scheduled for deletion reads as gone, as in the console.
  if (name === 'InvalidRequestException' && /marked for deletion/i.test(message)) return 'not_found';
  if (accessDeniedNames.has(name) || shape.$metadata?.httpStatusCode === 403) return 'access_denied';
  if (throttlingNames.has(name) || shape.$retryable?.throttling === true || shape.$metadata?.httpStatusCode === 429) return 'throttled';
  if (name === 'DecryptionFailure' || name === 'KMSAccessDeniedException' || name === 'InvalidKeyId') return 'decryption';
  return 'other';
}

function errorName(error: unknown): string {
  const name = (error as SdkErrorShape | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'Error';
}

/** Maps an SDK error after the SDK's own retries. Aborts pass through unchanged. */
export function mapAwsError(error: unknown, call: AwsCallContext): Error {
  if (error instanceof NoSecretError || error instanceof TerminalError || error instanceof ThrottledError) return error;
  if ((error as { name?: unknown } | undefined)?.name === 'AbortError') return error as Error;
  const on = call.subject === undefined ? '' : ` on "${call.subject}"`;
  switch (classifyAwsError(error)) {
    case 'not_found':
      return new NoSecretError(`AWS ${call.action}${on}: not found (${errorName(error)})`);
    case 'access_denied':
      return new AccessDeniedError(
        `AWS denied ${call.action}${on} to ${call.identity} (${errorName(error)}): allow ${call.action} for that identity ` +
          `(IAM policy, resource policy, trust policy) or change the store's auth/role`,
        { cause: error },
      );
    case 'throttled':
      return new ThrottledError(`AWS throttled ${call.action}${on} for ${call.identity} after the SDK's retries (${errorName(error)}); it will be retried with backoff`, {
        cause: error,
      });
    case 'decryption':
      return new TerminalError(
        `AWS could not decrypt${on} for ${call.identity} (${errorName(error)}): allow kms:Decrypt on the secret's KMS key for that identity`,
        { cause: error },
      );
    default: {
      const message = (error as SdkErrorShape | undefined)?.message;
      return new Error(`AWS ${call.action}${on} failed for ${call.identity}: ${errorName(error)}${typeof message === 'string' && message !== '' ? `: ${message}` : ''}`, {
        cause: error,
      });
    }
  }
}

/** Runs one AWS call, mapping its failure. */
export async function awsCall<T>(call: AwsCallContext, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapAwsError(error, call);
  }
}
