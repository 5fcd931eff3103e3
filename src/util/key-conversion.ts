// conversionStrategy, as ESO's ConvertKeys: shared by the controller (after a rewrite, or without one) and by
// providers that convert names themselves (ESO's fake provider converts found names before any rewrite).

export type ConversionStrategy = 'Default' | 'Unicode';

const KEY_CHARACTER = /[-._a-zA-Z0-9]/;

/**
 * Each character a Secret key cannot hold becomes "_" (Default) or "_U" + 4 hex digits + "_" (Unicode). ESO keeps
 * any Unicode letter or digit; only ASCII ones are valid in a Secret key, so only those are kept here
 * (docs/eso-differences.md).
 */
export function convertKey(strategy: ConversionStrategy, key: string): string {
  let out = '';
  for (const char of key) {
    if (KEY_CHARACTER.test(char)) out += char;
    else if (strategy === 'Unicode') out += `_U${char.codePointAt(0)!.toString(16).padStart(4, '0')}_`;
    else out += '_';
  }
  return out;
}
