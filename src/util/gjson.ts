// tidwall/gjson's Get and Result.String() — the syntax External Secrets Operator gives `remoteRef.property` — ported
// for the paths its users write: dot-separated keys with `\` escapes, `*`/`?` wildcards in keys, array indexes
// (digits, leading zeros allowed), `#` (array length), `#.key` (a key of every element), queries `#(key op value)`
// and `#(…)#` with ==, =, !=, <, <=, >, >=, % and !% (wildcard like), and `|` pipes. Values keep their stored text
// (an object stays byte for byte as written); String() follows gjson (non-integer numbers in Go's shortest 'f' form,
// null → ""). Modifiers (`@reverse` …), multipaths (`[a,b]`, `{a,b}`), literals (`!true`) and `..` JSON lines are not
// ported: `unsupportedGjsonSyntax` names them so the caller can say so instead of silently answering otherwise.
// Expected values in the tests come from gjson itself (test/reference).

export type JsonNode =
  | { readonly kind: 'object'; readonly raw: string; readonly entries: readonly (readonly [string, JsonNode])[] }
  | { readonly kind: 'array'; readonly raw: string; readonly items: readonly JsonNode[] }
  | { readonly kind: 'string'; readonly raw: string; readonly value: string }
  | { readonly kind: 'number'; readonly raw: string }
  | { readonly kind: 'true' | 'false' | 'null'; readonly raw: string };

/** One answer of Get: the node found, or a value gjson builds (the array of `#.key`, the count of `#`). */
export type GjsonResult = { readonly exists: false } | { readonly exists: true; readonly node: JsonNode };

const NOT_FOUND: GjsonResult = { exists: false };

/** Parses one JSON value starting at `start` (after whitespace), keeping each value's stored text. */
function parseAt(text: string, start: number): { node: JsonNode; end: number } | undefined {
  let i = start;
  const skip = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const value = (): JsonNode | undefined => {
    skip();
    const from = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, JsonNode][] = [];
      skip();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', raw: text.slice(from, i), entries };
      }
      for (;;) {
        skip();
        const key = value();
        if (key?.kind !== 'string') return undefined;
        skip();
        if (text[i] !== ':') return undefined;
        i++;
        const item = value();
        if (item === undefined) return undefined;
        entries.push([key.value, item]);
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', raw: text.slice(from, i), entries };
        }
        return undefined;
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', raw: text.slice(from, i), items };
      }
      for (;;) {
        const item = value();
        if (item === undefined) return undefined;
        items.push(item);
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', raw: text.slice(from, i), items };
        }
        return undefined;
      }
    }
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) return undefined;
      i++;
      const raw = text.slice(from, i);
      let decoded: unknown;
      try {
        decoded = JSON.parse(raw);
      } catch {
        return undefined;
      }
      return { kind: 'string', raw, value: decoded as string };
    }
    const literal = /^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/.exec(text.slice(i, i + 400));
    if (!literal || literal[0] === '') return undefined;
    i += literal[0].length;
    const raw = literal[0];
    if (raw === 'true' || raw === 'false' || raw === 'null') return { kind: raw, raw };
    return { kind: 'number', raw };
  };
  const node = value();
  return node === undefined ? undefined : { node, end: i };
}

/** A whole JSON document (surrounding whitespace allowed), or undefined when it is not JSON. */
export function parseJsonDocument(text: string): JsonNode | undefined {
  const parsed = parseAt(text, 0);
  if (parsed === undefined || text.slice(parsed.end).trim() !== '') return undefined;
  return parsed.node;
}

/** Why a path uses gjson syntax this port does not implement, or undefined. */
export function unsupportedGjsonSyntax(path: string): string | undefined {
  if (path.startsWith('..')) return 'JSON lines (a path starting with "..")';
  if (path.length > 1 && (path[0] === '[' || path[0] === '{')) return `multipaths ("${path[0]}…")`;
  if (path.length > 1 && path[0] === '!') return 'literals ("!…")';
  if (/(^|[.|])@/.test(path)) return 'modifiers ("@…")';
  return undefined;
}

/** gjson.Get(json, path). Throws nothing: a path that does not resolve gives `{ exists: false }`. */
export function gjsonGet(json: string, path: string): GjsonResult {
  if (path === '' || unsupportedGjsonSyntax(path) !== undefined) return NOT_FOUND;
  // gjson starts at the first '{' or '[' of the input; anything else has no paths.
  const open = /[{[]/.exec(json);
  if (!open) return NOT_FOUND;
  const parsed = parseAt(json, open.index);
  if (parsed === undefined) return NOT_FOUND;
  return getInNode(parsed.node, path);
}

function getInNode(node: JsonNode, path: string): GjsonResult {
  const step = node.kind === 'object' ? objectStep(node, path) : node.kind === 'array' ? arrayStep(node, path) : undefined;
  if (step === undefined || !step.result.exists) return NOT_FOUND;
  if (step.pipe !== undefined) return getInNode(step.result.node, step.pipe);
  return step.result;
}

interface Step {
  readonly result: GjsonResult;
  readonly pipe?: string | undefined;
}

/** gjson's parseObjectPath: the first component (unescaped), whether it has wildcards, and what follows. */
function splitObjectPath(path: string): { part: string; wild: boolean; more?: string; pipe?: string } {
  let part = '';
  let wild = false;
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '|') return { part, wild, pipe: path.slice(i + 1) };
    if (c === '.') return { part, wild, more: path.slice(i + 1) };
    if (c === '*' || c === '?') wild = true;
    if (c === '\\') {
      i++;
      if (i < path.length) part += path[i];
      continue;
    }
    part += c;
  }
  return { part, wild };
}

function objectStep(node: Extract<JsonNode, { kind: 'object' }>, path: string): Step | undefined {
  const { part, wild, more, pipe } = splitObjectPath(path);
  for (const [key, value] of node.entries) {
    if (!(wild ? wildcardMatch(key, part) : key === part)) continue;
    if (more === undefined) return { result: { exists: true, node: value }, pipe };
    // A matching key whose value does not hold the rest of the path: gjson goes on to later keys.
    if (value.kind === 'object' || value.kind === 'array') {
      const deeper = getInNode(value, more);
      if (deeper.exists) return { result: deeper };
    }
  }
  return undefined;
}

interface ArrayPath {
  readonly part: string;
  readonly arrayChar: boolean;
  readonly more?: string | undefined;
  readonly pipe?: string | undefined;
  readonly eachKey?: string | undefined;
  readonly query?: { readonly path: string; readonly op: string; readonly value: string; readonly all: boolean } | undefined;
}

/** gjson's parseArrayPath. */
function splitArrayPath(path: string): ArrayPath | undefined {
  let arrayChar = false;
  let eachKey: string | undefined;
  let query: ArrayPath['query'];
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '|') return { part: path.slice(0, i), arrayChar, eachKey, query, pipe: path.slice(i + 1) };
    if (c === '.') return { part: path.slice(0, i), arrayChar, eachKey, query, more: path.slice(i + 1) };
    if (c === '#') {
      arrayChar = true;
      if (i === 0 && path.length > 1) {
        if (path[1] === '.') {
          // `#.key|rest`: the key of every element, then the rest on the array of results (gjson ends the key at a pipe).
          const keyPath = path.slice(2);
          const pipeAt = topLevelPipe(keyPath);
          if (pipeAt >= 0) return { part: '#', arrayChar, eachKey: keyPath.slice(0, pipeAt), pipe: keyPath.slice(pipeAt + 1) };
          eachKey = keyPath;
        } else if (path[1] === '(' || path[1] === '[') {
          const parsed = parseQuery(path);
          if (parsed === undefined) return undefined;
          i = parsed.end - 1;
          const all = path[i + 1] === '#';
          query = { path: parsed.path, op: parsed.op, value: parsed.value, all };
        }
      }
    }
  }
  return { part: path, arrayChar, eachKey, query };
}

/** Index of the first `|` outside escapes, quotes and query brackets, or -1. */
function topLevelPipe(path: string): number {
  let depth = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '\\') i++;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '"') {
      for (i++; i < path.length && path[i] !== '"'; i++) if (path[i] === '\\') i++;
    } else if (c === '|' && depth === 0) return i;
  }
  return -1;
}

function parseQuery(query: string): { path: string; op: string; value: string; end: number } | undefined {
  let i = 2;
  let valueStart = 0;
  let depth = 1;
  let escapedValue = false;
  for (; i < query.length; i++) {
    const c = query[i];
    if (depth === 1 && valueStart === 0 && (c === '!' || c === '=' || c === '<' || c === '>' || c === '%')) {
      valueStart = i;
      continue;
    }
    if (c === '\\') i++;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth === 0) break;
    } else if (c === '"') {
      for (i++; i < query.length; i++) {
        if (query[i] === '\\') {
          escapedValue = true;
          i++;
        } else if (query[i] === '"') break;
      }
    }
  }
  if (depth > 0) return undefined;
  const trim = (s: string) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  let path: string;
  let op = '';
  let value = '';
  if (valueStart > 0) {
    path = trim(query.slice(2, valueStart));
    value = trim(query.slice(valueStart, i));
    let size = 0;
    if (value.length === 1) size = 1;
    else if (/^(!=|!%|<=|>=)/.test(value)) size = 2;
    else if (value.startsWith('==')) {
      value = value.slice(1);
      size = 1;
    } else if (/^[<>=%]/.test(value)) size = 1;
    op = value.slice(0, size);
    value = trim(value.slice(size));
  } else {
    path = trim(query.slice(2, i));
  }
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1);
    if (escapedValue) value = unescapeJsonString(value);
  }
  return { path, op, value, end: i + 1 };
}

function unescapeJsonString(inner: string): string {
  try {
    return JSON.parse(`"${inner}"`) as string;
  } catch {
    return inner;
  }
}

function arrayStep(node: Extract<JsonNode, { kind: 'array' }>, path: string): Step | undefined {
  const rp = splitArrayPath(path);
  if (rp === undefined) return undefined;
  if (!rp.arrayChar) {
    if (!/^[0-9]+$/.test(rp.part)) return undefined;
    const item = node.items[Number(rp.part)];
    if (item === undefined || !/^[0-9]{1,15}$/.test(rp.part)) return undefined;
    if (rp.more !== undefined) {
      const deeper = getInNode(item, rp.more);
      return deeper.exists ? { result: deeper } : undefined;
    }
    return { result: { exists: true, node: item }, pipe: rp.pipe };
  }
  if (rp.eachKey !== undefined) {
    const raws = node.items.map((item) => getInNode(item, rp.eachKey!)).filter((r) => r.exists).map((r) => (r as { node: JsonNode }).node.raw);
    return { result: built(`[${raws.join(',')}]`), pipe: rp.pipe };
  }
  if (rp.query !== undefined) {
    const query = rp.query;
    const matches = node.items.filter((item) => queryMatches(item, query));
    if (query.all) {
      const results = rp.more === undefined ? matches.map((m) => m.raw) : matches.map((m) => getInNode(m, rp.more!)).filter((r) => r.exists).map((r) => (r as { node: JsonNode }).node.raw);
      return { result: built(`[${results.join(',')}]`), pipe: rp.pipe };
    }
    const first = matches[0];
    if (first === undefined) return undefined;
    if (rp.more !== undefined) {
      const deeper = getInNode(first, rp.more);
      return deeper.exists ? { result: deeper } : undefined;
    }
    return { result: { exists: true, node: first }, pipe: rp.pipe };
  }
  // A plain "#": the number of elements, when it ends the path (or a pipe follows).
  if (rp.more !== undefined) return undefined;
  return { result: { exists: true, node: { kind: 'number', raw: String(node.items.length) } }, pipe: rp.pipe };
}

function built(raw: string): GjsonResult {
  const node = parseJsonDocument(raw);
  return node === undefined ? NOT_FOUND : { exists: true, node };
}

function queryMatches(item: JsonNode, query: NonNullable<ArrayPath['query']>): boolean {
  let target: GjsonResult;
  if (item.kind === 'object' || item.kind === 'array') target = query.path === '' ? NOT_FOUND : getInNode(item, query.path);
  else target = query.path === '' ? { exists: true, node: item } : NOT_FOUND;
  if (!target.exists) return false;
  if (query.op === '') return true;
  const value = query.value;
  const node = target.node;
  switch (node.kind) {
    case 'string': {
      const s = node.value;
      switch (query.op) {
        case '=': return s === value;
        case '!=': return s !== value;
        case '<': return compareBytes(s, value) < 0;
        case '<=': return compareBytes(s, value) <= 0;
        case '>': return compareBytes(s, value) > 0;
        case '>=': return compareBytes(s, value) >= 0;
        case '%': return wildcardMatch(s, value);
        case '!%': return !wildcardMatch(s, value);
      }
      return false;
    }
    case 'number': {
      const n = Number(node.raw);
      const v = goParseFloat(value);
      switch (query.op) {
        case '=': return n === v;
        case '!=': return n !== v;
        case '<': return n < v;
        case '<=': return n <= v;
        case '>': return n > v;
        case '>=': return n >= v;
      }
      return false;
    }
    case 'true':
      return query.op === '=' ? value === 'true' : query.op === '!=' ? value !== 'true' : query.op === '>' ? value === 'false' : query.op === '>=';
    case 'false':
      return query.op === '=' ? value === 'false' : query.op === '!=' ? value !== 'false' : query.op === '<' ? value === 'true' : query.op === '<=';
    default:
      return false;
  }
}

/** strconv.ParseFloat, which gives 0 for text that is not a number (gjson ignores the error). */
function goParseFloat(text: string): number {
  const n = /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : /^[-+]?inf(inity)?$/i.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : 0;
  return Number.isNaN(n) ? 0 : n;
}

/** Go compares strings by bytes (UTF-8); JavaScript by UTF-16 units. They differ only above the BMP. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * gjson's complexity cap for wildcard matching (gjson.go `matchLimit`: `match.MatchLimit(str, pattern, 10000)`):
 * a match gives up, answering "no match", after more than 10,000 steps per byte of the text.
 */
export const GJSON_MATCH_LIMIT = 10_000;

const STAR = 0x2a;
const QUESTION = 0x3f;
const BACKSLASH = 0x5c;

/** Outcome of tidwall/match's `match`. */
const Outcome = { noMatch: 0, match: 1, stop: 2 } as const;
type MatchOutcome = (typeof Outcome)[keyof typeof Outcome];

function codePoints(text: string): number[] {
  const out: number[] = [];
  for (const c of text) out.push(c.codePointAt(0)!);
  return out;
}

/**
 * tidwall/match v1.1.1 `MatchLimit` (what gjson v1.18 calls): `*` any run of characters, `?` one character, `\`
 * makes the next literal. `stopped` is true when the pattern needed more than `maxcomp` steps per byte of `text`;
 * `matched` is then false, as in Go. The same algorithm, step for step (a step is one call of Go's recursive
 * `match`), so answers and the point where it stops agree with Go; its recursion is an explicit stack here, so a
 * pattern of many stars cannot overflow the call stack. Time is bounded by the cap, memory by the pattern.
 */
export function wildcardMatchLimit(text: string, pattern: string, maxcomp = GJSON_MATCH_LIMIT): { matched: boolean; stopped: boolean } {
  if (pattern === '*') return { matched: true, stopped: false };
  const s = codePoints(text);
  const p = codePoints(pattern);
  // Go counts the string's length in bytes.
  const limit = Buffer.byteLength(text, 'utf8') * maxcomp;
  let counter = 0;
  // One frame per active Go call: [strStart, strEnd, patStart, patEnd] of its (locally trimmed) slices.
  const frames: number[] = [];
  let result: MatchOutcome | undefined;
  /** Go's entry check of `match`: false when the call stops at once. */
  const enter = (ss: number, se: number, ps: number, pe: number): boolean => {
    if (maxcomp > -1) {
      if (counter > limit) return false;
      counter++;
    }
    frames.push(ss, se, ps, pe);
    return true;
  };
  if (!enter(0, s.length, 0, p.length)) return { matched: false, stopped: true };
  // `resumed`: the outcome of the child call the top frame waits on (undefined when it starts or loops on).
  let resumed: MatchOutcome | undefined;
  outer: while (frames.length > 0) {
    const f = frames.length - 4;
    let ss = frames[f]!;
    let se = frames[f + 1]!;
    let ps = frames[f + 2]!;
    let pe = frames[f + 3]!;
    const leave = (r: MatchOutcome) => {
      frames.length = f;
      resumed = r;
      result = r;
    };
    if (resumed !== undefined) {
      // Back from the recursive search after a '*'.
      const r = resumed;
      resumed = undefined;
      if (r !== Outcome.noMatch) {
        leave(r);
        continue;
      }
      if (ss === se) {
        leave(Outcome.noMatch);
        continue;
      }
      ss++; // str = str[ss:]; the star stays (wild)
    }
    while (ps < pe) {
      const pc = p[ps]!;
      const haveChar = ss < se;
      if (pc === QUESTION) {
        if (!haveChar) {
          leave(Outcome.noMatch);
          continue outer;
        }
      } else if (pc === STAR) {
        while (pe - ps > 1 && p[ps + 1] === STAR) ps++;
        if (pe - ps === 1) {
          leave(Outcome.match);
          continue outer;
        }
        // matchTrimSuffix: match and trim the non-wildcard suffix, reading escapes backwards.
        let trimmed = true;
        while (se > ss && pe - ps > 1) {
          const last = p[pe - 1]!;
          let width = 1;
          let escaped = false;
          for (let i = 0; ; i++) {
            if (p[pe - 1 - 1 - i] !== BACKSLASH) {
              if ((i & 1) === 1) {
                escaped = true;
                width++;
              }
              break;
            }
          }
          if (last === STAR && !escaped) break;
          if (!((last === QUESTION && !escaped) || last === s[se - 1])) {
            trimmed = false;
            break;
          }
          se--;
          pe -= width;
        }
        if (!trimmed) {
          leave(Outcome.noMatch);
          continue outer;
        }
        if (pe - ps === 1) {
          leave(Outcome.match);
          continue outer;
        }
        // Recursive wildcard search: this frame waits on match(str, pat[1:]).
        frames[f] = ss;
        frames[f + 1] = se;
        frames[f + 2] = ps;
        frames[f + 3] = pe;
        if (!enter(ss, se, ps + 1, pe)) resumed = Outcome.stop;
        continue outer;
      } else {
        if (!haveChar) {
          leave(Outcome.noMatch);
          continue outer;
        }
        let want = pc;
        if (pc === BACKSLASH) {
          ps++;
          if (ps >= pe) {
            leave(Outcome.noMatch);
            continue outer;
          }
          want = p[ps]!;
        }
        if (s[ss] !== want) {
          leave(Outcome.noMatch);
          continue outer;
        }
      }
      ss++;
      ps++;
    }
    leave(ss === se ? Outcome.match : Outcome.noMatch);
  }
  return result === Outcome.stop ? { matched: false, stopped: true } : { matched: result === Outcome.match, stopped: false };
}

/** gjson's `matchLimit`: tidwall/match with gjson's cap; a match that hits the cap is no match, as in Go. */
export function wildcardMatch(text: string, pattern: string): boolean {
  return wildcardMatchLimit(text, pattern).matched;
}

/** Result.String(): strings unquoted, integers as written, other numbers as Go's FormatFloat(f, 'f', -1, 64), true/false, null → "", objects and arrays as stored. */
export function gjsonString(node: JsonNode): string {
  switch (node.kind) {
    case 'string': return node.value;
    case 'number': return /^-?[0-9]+$/.test(node.raw) ? node.raw : formatGoFloat(Number(node.raw));
    case 'true': return 'true';
    case 'false': return 'false';
    case 'null': return '';
    default: return node.raw;
  }
}

/** strconv.FormatFloat(x, 'f', -1, 64): the shortest digits that read back as x, never an exponent. */
export function formatGoFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const [mantissa, exponentText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (digits === '0') return `${sign}0`;
  const pointAt = exponent + 1; // digits before the decimal point
  if (pointAt <= 0) return `${sign}0.${'0'.repeat(-pointAt)}${digits}`;
  if (pointAt >= digits.length) return `${sign}${digits}${'0'.repeat(pointAt - digits.length)}`;
  return `${sign}${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
}
