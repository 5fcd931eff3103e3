// Go's encoding/json output for values decoded from JSON (map[string]any, []any, float64, string, bool, nil), so a
// value secret-relay writes is byte-identical to the one ESO writes: object keys sorted by their UTF-8 bytes, numbers
// as float64 (exponent below 1e-6 and from 1e21), U+2028/U+2029 always escaped, <, > and & escaped unless
// `escapeHtml` is false (json.Marshal escapes them; an Encoder with SetEscapeHTML(false) does not).

/** Go's json.Marshal (escapeHtml true) or a SetEscapeHTML(false) Encoder without its trailing newline. */
export function goJsonMarshal(value: unknown, escapeHtml = true): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goJsonString(value, escapeHtml);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return goJsonNumber(value);
  if (Array.isArray(value)) return `[${value.map((item) => goJsonMarshal(item, escapeHtml)).join(',')}]`;
  const entries = value instanceof Map ? [...(value as Map<string, unknown>)] : Object.entries(value as Record<string, unknown>);
  entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${entries.map(([key, item]) => `${goJsonString(key, escapeHtml)}:${goJsonMarshal(item, escapeHtml)}`).join(',')}}`;
}

function goJsonString(text: string, escapeHtml: boolean): string {
  // JSON.stringify escapes quotes, backslashes and control characters as Go does (\b \f \n \r \t, else \u00xx).
  let out = JSON.stringify(text).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  if (escapeHtml) out = out.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  return out;
}

/** A float64 as encoding/json writes it: shortest digits, exponent form below 1e-6 and from 1e21 (e-7, not e-07). */
function goJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error('a number out of float64 range');
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

/** strconv.FormatFloat(n, 'f', -1, 64): the shortest digits that read back as n, never in exponent form. */
export function goFormatFloat(n: number): string {
  if (!Number.isFinite(n)) throw new Error('a number out of float64 range');
  if (Object.is(n, -0)) return '-0';
  const shortest = String(n);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(shortest);
  if (!match) return shortest;
  const [, sign, whole, fraction = '', exponentText] = match;
  const digits = `${whole}${fraction}`;
  const point = whole!.length + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
