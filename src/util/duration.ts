/**
 * Go-style durations ("1h30m", "15s", "250ms", "0"), as Kubernetes users write them in
 * `refreshInterval` and in flags. Parsed strictly: a typo must stop the user, not become
 * a surprising interval.
 *
 * Accepted: "0", or one or more `<number><unit>` segments with units h, m, s, ms, in
 * descending order, each at most once ("1h0m0s", the form Kubernetes prints, is fine).
 * Numbers are non-negative decimals ("1.5h"); the total must be a whole number of milliseconds.
 * Rejected: signs, spaces, empty strings, bare numbers other than 0, units ns/us/d,
 * repeated or out-of-order units ("30s1m"), and values beyond Number.MAX_SAFE_INTEGER ms.
 */

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['h', 'm', 's', 'ms'];

/**
 * The same grammar as a regular expression, for a CRD `pattern` or CEL `matches()`: RE2-compatible,
 * no backslashes, units largest first and at most once. It cannot express the two remaining rules
 * (whole milliseconds, at most MAX_SAFE_INTEGER ms), so parseDuration can still refuse a matching
 * string such as "0.5ms" — callers must handle DurationError.
 */
export const DURATION_PATTERN = (() => {
  const segment = (unit: Unit): string => `[0-9]+([.][0-9]+)?${unit}`;
  // One alternative per leading unit, each followed by the optional smaller units in order.
  const alternatives = UNIT_ORDER.map((first, i) =>
    [segment(first), ...UNIT_ORDER.slice(i + 1).map((unit) => `(${segment(unit)})?`)].join(''),
  );
  return `^(0|${alternatives.join('|')})$`;
})();

// Built per call: a sticky regexp carries lastIndex, which must not be shared module state.
const segmentPattern = (): RegExp => /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/y;

export class DurationError extends Error {
  override readonly name = 'DurationError';
  /** What is wrong, without the input or the advice: "unknown unit 'd'". */
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.reason = reason;
  }
}

/** Milliseconds in a Go-style duration string; throws DurationError saying what is accepted. */
export function parseDuration(input: string): number {
  const fail = (why: string): never => {
    throw new DurationError(
      `invalid duration '${input}': ${why}; write it like "1h30m", "15s", "250ms" or "0" (units h, m, s, ms)`,
      why,
    );
  };
  if (typeof input !== 'string' || input.length === 0) fail('it is empty');
  if (input === '0') return 0;

  let total = 0;
  let previousUnitIndex = -1;
  const segment = segmentPattern();
  while (segment.lastIndex < input.length) {
    const at = segment.lastIndex;
    const match = segment.exec(input);
    if (match === null) {
      const rest = input.slice(at);
      if (/^[0-9.]+$/.test(rest)) fail(`'${rest}' has no unit`);
      const unknownUnit = /^[0-9]+(?:\.[0-9]+)?([^0-9.]+)/.exec(rest)?.[1];
      if (unknownUnit !== undefined) fail(`unknown unit '${unknownUnit}'`);
      return fail(`unexpected '${rest}'`);
    }
    const [, amount = '', unit = 'ms'] = match;
    const unitIndex = UNIT_ORDER.indexOf(unit as Unit);
    if (unitIndex <= previousUnitIndex) fail(`unit '${unit}' repeated or out of order (largest unit first)`);
    previousUnitIndex = unitIndex;
    total += Number(amount) * UNIT_MS[unit as Unit];
  }
  // Decimal segments ("1.1s") can land a hair off an integer in floating point.
  const rounded = Math.round(total);
  if (Math.abs(total - rounded) > 1e-6) fail('it is finer than a millisecond');
  if (!Number.isSafeInteger(rounded)) fail('it is too large');
  return rounded;
}

/**
 * The shortest Go-style string for a number of milliseconds, largest unit first, zero units
 * omitted: 5_400_000 → "1h30m", 1_500 → "1s500ms", 0 → "0s". `parseDuration` reads it back.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    const reason = 'expected a whole, non-negative number of milliseconds';
    throw new DurationError(`cannot format ${ms} as a duration: ${reason}`, reason);
  }
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}
