// credConfig's subject token, fetched by us rather than by google-auth-library: credential_source.url comes from a
// tenant's ConfigMap, so the request must not reach a link-local or metadata address (the node's metadata server
// would hand out the node's own identity token) — refused on the addresses actually connected to (the kit's
// guardedLookup), and on an address literal before connecting. The answer is read up to a cap and never logged.
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TerminalError } from '../../util/errors.ts';
import { guardedLookup, isForbiddenAddress } from '../kit/index.ts';

/** A subject token is a JWT of a few KiB; more is not a token source. */
export const SUBJECT_TOKEN_MAX_BYTES = 64 * 1024;

export interface SubjectTokenSource {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly format?: { readonly type: 'json' | 'text'; readonly subject_token_field_name?: string } | undefined;
}

/** How a request is sent: node's http/https request (tests inject one that never reaches a network). */
export type SendRequest = typeof httpRequest;

/** GETs the subject token; errors name the URL and what went wrong, never the answer's content. */
export function fetchSubjectToken(source: SubjectTokenSource, signal: AbortSignal, timeoutMs = 30_000, sendRequest?: SendRequest): Promise<string> {
  const url = new URL(source.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && isForbiddenAddress(host)) {
    return Promise.reject(new TerminalError(`credential_source.url ${source.url} is a link-local or metadata address, which tenant input may not reach`));
  }
  const send = sendRequest ?? (url.protocol === 'https:' ? httpsRequest : httpRequest);
  return new Promise<string>((resolve, reject) => {
    const req = send(url, { method: 'GET', headers: { ...source.headers }, lookup: guardedLookup(lookup as never) as never, signal, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > SUBJECT_TOKEN_MAX_BYTES) {
          req.destroy();
          reject(new TerminalError(`credential_source.url ${source.url} answered more than ${SUBJECT_TOKEN_MAX_BYTES} bytes; it is not a subject-token source`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`credential_source.url ${source.url} answered HTTP ${res.statusCode}`));
        const body = Buffer.concat(chunks).toString('utf8');
        if (source.format?.type !== 'json') return resolve(body.trim());
        const field = source.format.subject_token_field_name ?? 'access_token';
        try {
          const value = (JSON.parse(body) as Record<string, unknown>)[field];
          if (typeof value === 'string' && value !== '') return resolve(value);
        } catch {
          // Reported below, without the body.
        }
        reject(new TerminalError(`credential_source.url ${source.url} did not answer JSON with a string field ${field}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`credential_source.url ${source.url} did not answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EFORBIDDENADDRESS') reject(new TerminalError(`credential_source.url ${source.url}: ${err.message}`));
      else reject(err);
    });
    req.end();
  });
}
