// Go-style durations ("1h", "15m30s", "500ms", "0"), as Kubernetes users write them (metav1.Duration).
// Stricter than Go's time.ParseDuration: no sign and no leading "." — neither means anything for an interval.

/**
 * The pattern refreshInterval fields must match. RE2-compatible (no lookaround, no backslashes)
 * because it is also used as the CRD's `pattern` and inside a CEL `matches()`.
 */
export const DURATION_PATTERN = '^(0|([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+)$';

export const DURATION_MESSAGE = 'must be a duration such as 1h, 15m or 30s; 0 fetches once';

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const durationRegExp = new RegExp(DURATION_PATTERN);
const componentRegExp = /([0-9]+(?:[.][0-9]+)?)(ns|us|µs|ms|s|m|h)/g;

/** Milliseconds in a duration string, or undefined when it is not one. "0" (or "0s") is 0: fetch once. */
export function parseDuration(text: string): number | undefined {
  if (!durationRegExp.test(text)) return undefined;
  if (text === '0') return 0;
  let total = 0;
  for (const match of text.matchAll(componentRegExp)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? total : undefined;
}
