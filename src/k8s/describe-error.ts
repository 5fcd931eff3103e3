// A one-line, value-free description of an error for logs, conditions, Events and audit records. A Kubernetes
// API error is described by its status code, the Status reason and the server's message only (never the
// response body or headers, which may quote a request's values and bypass the logger's redaction); anything
// else by its name and first line.
import { STATUS_CODES } from 'node:http';
import { KubeApiError } from './kube-client.ts';

export function describeKubeError(err: unknown): string {
  if (err instanceof KubeApiError || isApiErrorShape(err)) {
    const { code, body } = err as { code: number; body: unknown };
    const status = typeof body === 'string' ? safeJson(body) : body;
    const fields = status !== null && typeof status === 'object' ? (status as { message?: unknown; reason?: unknown }) : {};
    const reason = typeof fields.reason === 'string' && fields.reason !== '' ? ` ${fields.reason}` : '';
    const message = typeof fields.message === 'string' && fields.message !== '' ? fields.message : (STATUS_CODES[code] ?? 'request failed');
    return oneLine(`Kubernetes API ${code}${reason}: ${message}`);
  }
  if (err instanceof Error) return oneLine(err.name && err.name !== 'Error' ? `${err.name}: ${firstLine(err.message)}` : firstLine(err.message) || err.name);
  return oneLine(String(err));
}

/** The same, without the error's class name: for conditions and Events, where a user reads it. */
export function describeError(err: unknown): string {
  if (err instanceof KubeApiError || isApiErrorShape(err)) return describeKubeError(err);
  if (err instanceof Error) return oneLine(err.message || err.name);
  return oneLine(String(err));
}

/** An API error of another client or a test double: a numeric HTTP code and a body. */
function isApiErrorShape(err: unknown): boolean {
  return err !== null && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'number' && (err as { body?: unknown }).body !== undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 1024 ? `${flat.slice(0, 1021)}...` : flat;
}
