// A one-line, value-free description of an error for conditions, Events and audit records. Kubernetes API
// errors carry the server's Status message (which names fields, never Secret data); everything else its message.

export function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const body = (err as { body?: unknown }).body;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number' && body !== undefined) {
      const status = typeof body === 'string' ? safeJson(body) : body;
      const message = status && typeof status === 'object' ? (status as { message?: unknown }).message : undefined;
      return oneLine(`Kubernetes API ${code}: ${typeof message === 'string' ? message : 'request failed'}`);
    }
    if (err instanceof Error) return oneLine(err.message || err.name);
  }
  return oneLine(String(err));
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
