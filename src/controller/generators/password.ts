// The Password generator, as ESO's (sethvargo/go-password): `length` characters of which `digits` digits and
// `symbols` symbols (each 25% of the length when not given), the rest letters (no uppercase with noUpper), no
// character twice unless allowRepeat, in random order; then encoded. node:crypto's randomInt (uniform, CSPRNG).
import { randomInt } from 'node:crypto';
import { PasswordLimits, type PasswordSpec } from '../../api/index.ts';
import { TerminalError } from '../../util/errors.ts';

export const DEFAULT_SYMBOL_CHARACTERS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';

type Random = (max: number) => number;

/** One password as text (before encoding). Refuses settings no password can meet, naming them. */
export function generatePassword(spec: PasswordSpec, random: Random = randomInt): string {
  const length = spec.length ?? 24;
  // Also the schema's bound; checked here for whatever a caller parsed (an older CRD lets more through).
  if (length > PasswordLimits.maxLength) throw new TerminalError(`Password: spec.length ${length} is refused: at most ${PasswordLimits.maxLength}`);
  const digits = spec.digits ?? Math.floor(length * 0.25);
  const symbols = spec.symbols ?? Math.floor(length * 0.25);
  const letters = length - digits - symbols;
  if (letters < 0) throw new TerminalError(`Password: digits (${digits}) + symbols (${symbols}) exceed length (${length})`);
  // By code point: a symbol outside the BMP (an emoji) is one character, never half a surrogate pair.
  const symbolSet = [...new Set(spec.symbolCharacters ?? DEFAULT_SYMBOL_CHARACTERS)];
  const letterSet = [...(spec.noUpper ? LOWER : LOWER + UPPER)];
  const repeat = spec.allowRepeat ?? false;
  if (!repeat) {
    if (letters > letterSet.length) throw new TerminalError(`Password: ${letters} letters without repeats need more than the ${letterSet.length} available; set allowRepeat or fewer letters`);
    if (digits > DIGITS.length) throw new TerminalError(`Password: ${digits} digits without repeats need more than 10; set allowRepeat`);
    if (symbols > symbolSet.length) throw new TerminalError(`Password: ${symbols} symbols without repeats need more than the ${symbolSet.length} symbolCharacters; set allowRepeat`);
  }
  const chars: string[] = [];
  const used = new Set<string>();
  const pick = (set: readonly string[], count: number) => {
    for (let i = 0; i < count; i++) {
      for (;;) {
        const c = set[random(set.length)]!;
        if (repeat || !used.has(c)) {
          used.add(c);
          chars.push(c);
          break;
        }
      }
    }
  };
  pick(letterSet, letters);
  pick([...DIGITS], digits);
  pick(symbolSet, symbols);
  // Fisher–Yates: the classes end up in random positions.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with padding (Go's base32.StdEncoding). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

export function encodePassword(text: string, encoding: PasswordSpec['encoding']): string {
  const bytes = Buffer.from(text, 'utf8');
  switch (encoding ?? 'raw') {
    case 'base64':
      return bytes.toString('base64');
    case 'base64url':
      return bytes.toString('base64url');
    case 'base32':
      return base32(bytes);
    case 'hex':
      return bytes.toString('hex');
    default:
      return text;
  }
}

/** Key → password (each key its own), encoded. */
export function passwordValues(spec: PasswordSpec, random?: Random): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const key of spec.secretKeys ?? ['password']) out.set(key, Buffer.from(encodePassword(generatePassword(spec, random), spec.encoding)));
  return out;
}
