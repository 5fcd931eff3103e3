// Go's regexp, as External Secrets Operator uses it for find.name.regexp and rewrite[].regexp: RE2 syntax
// (re2js, a port of RE2/J that accepts and refuses what Go's regexp/syntax does), Go's ReplaceAllString loop
// (an empty match right after a previous match is not replaced) and Go's Regexp.Expand for templates.
//
// Why re2js and not re2-wasm (Google's C++ RE2 as WASM): over the Go syntax table both refuse backreferences,
// lookarounds and {1001}, but C++ RE2 accepts `\C` and `\cA`, which Go refuses, and re2js follows Go there.
// Speed over 20,000 keys (test/eso-parity/bench-regexp.ts, node 24, 2 shared cores; two runs): match 21–47 ms
// (re2js) vs 38–130 ms (re2-wasm), replace 37–66 ms vs 110–181 ms — each re2-wasm call copies the string into WASM
// memory. re2js is plain JS: no native build, no WASM heap; its import costs ~2–5 MB RSS.
import { RE2JS } from 're2js';

/** A pattern Go's regexp.Compile refuses. The message is Go-style ("error parsing regexp: …") and names no value. */
export class GoRegexpSyntaxError extends Error {
  override readonly name = 'GoRegexpSyntaxError';
}

/** Match positions in UTF-16 code units: [start, end] per group, -1 for a group that did not take part. */
type Submatches = readonly number[];

export interface GoRegexp {
  readonly source: string;
  /** Go's MatchString: unanchored search. */
  test(input: string): boolean;
  /** Go's ReplaceAllString(input, template). */
  replaceAll(input: string, template: string): string;
}

/** Go's regexp.Compile. Throws GoRegexpSyntaxError for what Go refuses. */
export function compileGoRegexp(source: string): GoRegexp {
  let compiled: RE2JS;
  let names: Readonly<Record<string, readonly number[]>>;
  try {
    compiled = RE2JS.compile(source);
    names = Object.fromEntries(Object.entries(compiled.namedGroups()).map(([name, index]) => [name, [index]]));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    // Go allows one name on several groups (RE2/J does not): number the names apart, keep the mapping.
    const renamed = reason.includes('duplicate capture group name') ? renameGroups(source) : undefined;
    if (renamed === undefined) throw new GoRegexpSyntaxError(reason.startsWith('error parsing regexp') ? reason : `error parsing regexp: ${reason}`);
    try {
      compiled = RE2JS.compile(renamed.pattern);
    } catch {
      throw new GoRegexpSyntaxError(reason);
    }
    const indexes = compiled.namedGroups();
    const byName: Record<string, number[]> = {};
    renamed.names.forEach((name, i) => (byName[name] ??= []).push(indexes[`g${i}_`]!));
    names = byName;
  }
  const groups = compiled.groupCount();

  function submatchesAt(input: string, from: number): Submatches | undefined {
    const matcher = compiled.matcher(input);
    if (!matcher.find(from)) return undefined;
    const positions: number[] = [];
    for (let group = 0; group <= groups; group++) positions.push(matcher.start(group), matcher.end(group));
    return positions;
  }

  return {
    source,
    test: (input) => compiled.matcher(input).find(),
    replaceAll(input, template) {
      // Go's regexp.replaceAll, with UTF-16 indexes in place of byte offsets.
      let out = '';
      let lastMatchEnd = 0;
      let searchPos = 0;
      while (searchPos <= input.length) {
        const match = submatchesAt(input, searchPos);
        if (match === undefined) break;
        const [start, end] = match as [number, number];
        out += input.slice(lastMatchEnd, start);
        // Not for an empty match immediately after another match (Go: "otherwise we get double replacement").
        if (end > lastMatchEnd || start === 0) out += expandGoTemplate(template, input, match, names);
        lastMatchEnd = end;
        const width = searchPos < input.length ? (input.codePointAt(searchPos)! > 0xffff ? 2 : 1) : 0;
        if (searchPos + width > end) searchPos += width;
        else if (searchPos + 1 > end) searchPos++;
        else searchPos = end;
      }
      return out + input.slice(lastMatchEnd);
    },
  };
}

const NAME_CHARACTER = /[\p{L}\p{Nd}_]/u;

/**
 * Go's Regexp.Expand: `$name` or `${name}` where name is the longest run of letters, digits and '_' (so `$1x` is
 * group "1x" and `$01` group "01", both usually empty); a number without a leading zero is a group index; `$$` is
 * "$"; a malformed `$` stays as text. Unknown or unmatched groups expand to "".
 */
export function expandGoTemplate(template: string, input: string, match: Submatches, names: Readonly<Record<string, readonly number[]>>): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const reference = parseReference(rest);
    if (reference === undefined) {
      out += '$';
      continue;
    }
    rest = reference.rest;
    // A name given to several groups takes the first that matched, as Go does.
    const candidates = reference.index !== undefined ? [reference.index] : Object.hasOwn(names, reference.name) ? names[reference.name]! : [];
    const group = candidates.find((g) => 2 * g + 1 < match.length && match[2 * g]! >= 0);
    if (group !== undefined) out += input.slice(match[2 * group], match[2 * group + 1]);
  }
  return out + rest;
}

/** Go's regexp extract(): the name after a `$`, its group number when it is one, and the rest of the template. */
function parseReference(text: string): { name: string; index: number | undefined; rest: string } | undefined {
  const braced = text.startsWith('{');
  const body = braced ? text.slice(1) : text;
  let length = 0;
  for (const char of body) {
    if (!NAME_CHARACTER.test(char)) break;
    length += char.length;
  }
  if (length === 0) return undefined;
  const name = body.slice(0, length);
  let consumed = length;
  if (braced) {
    if (body[length] !== '}') return undefined;
    consumed++;
  }
  let index: number | undefined;
  if (/^[0-9]+$/.test(name) && !(name.length > 1 && name.startsWith('0'))) {
    // Go stops counting at 1e8 and treats the name as a (non-existent) group name.
    index = name.length <= 9 && Number(name) < 1e9 ? Number(name) : undefined;
  }
  return { name, index, rest: body.slice(consumed) };
}

/**
 * The pattern with every named group renamed `g<i>_` (in order) and the original names, or undefined when the
 * pattern cannot be scanned. Skips escapes, \\Q…\\E and character classes, so only real group openings change.
 */
function renameGroups(pattern: string): { pattern: string; names: string[] } | undefined {
  const names: string[] = [];
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const stop = end < 0 ? pattern.length : end + 2;
        out += pattern.slice(i, stop);
        i = stop - 1;
      } else {
        out += pattern.slice(i, i + 2);
        i++;
      }
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      for (; j < pattern.length && pattern[j] !== ']'; j++) {
        if (pattern[j] === '\\') j++;
        else if (pattern.startsWith('[:', j)) {
          const close = pattern.indexOf(':]', j + 2);
          if (close >= 0) j = close + 1;
        }
      }
      out += pattern.slice(i, j + 1);
      i = j;
      continue;
    }
    const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(pattern.slice(i));
    if (named) {
      out += `(?P<g${names.length}_>`;
      names.push(named[1]!);
      i += named[0].length - 1;
      continue;
    }
    out += c;
  }
  return names.length > 0 ? { pattern: out, names } : undefined;
}
