// Go text/template (with sprig and ESO's functions) → the liquid of src/templates, for the constructs ESO users
// write. It never guesses: a construct whose liquid would not render byte-identical output (checked against Go's
// own engine by test/unit/migrate/go-template-reference.test.ts) is refused with the line and the reason.
// Pure: text in, text or refusal out.

export type Translation =
  | { readonly ok: true; readonly liquid: string; readonly notes: readonly string[] }
  | { readonly ok: false; readonly line: number; readonly construct: string; readonly reason: string };

class Refusal extends Error {
  readonly line: number;
  readonly construct: string;
  readonly reason: string;
  constructor(line: number, construct: string, reason: string) {
    super(reason);
    this.line = line;
    this.construct = construct;
    this.reason = reason;
  }
}

interface TextPiece {
  readonly kind: 'text';
  text: string;
}
interface ActionPiece {
  readonly kind: 'action';
  readonly body: string;
  readonly line: number;
  readonly trimLeft: boolean;
  readonly trimRight: boolean;
}
type Piece = TextPiece | ActionPiece;

const GO_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/** Splits into text and `{{ }}` actions, applying Go's `{{-`/`-}}` trimming to the text (so liquid needs none). */
function lex(source: string): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open < 0) {
      pieces.push({ kind: 'text', text: source.slice(at) });
      break;
    }
    if (open > at) pieces.push({ kind: 'text', text: source.slice(at, open) });
    const line = source.slice(0, open).split('\n').length;
    const trimLeft = /^\{\{- /.test(source.slice(open, open + 4)) || /^\{\{-[\t\r\n]/.test(source.slice(open, open + 4));
    let bodyStart = open + (trimLeft ? 3 : 2);
    // Find the closing `}}` outside string literals.
    let i = bodyStart;
    let quote: string | undefined;
    for (; i < source.length; i++) {
      const c = source[i]!;
      if (quote !== undefined) {
        if (c === '\\' && quote !== '`') i++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === '`' || c === "'") quote = c;
      else if (c === '}' && source[i + 1] === '}') break;
    }
    if (i >= source.length) throw new Refusal(line, source.slice(open, open + 20), 'the action is not closed with }}');
    const trimRight = i - 2 >= bodyStart && source[i - 1] === '-' && /[ \t\r\n]/.test(source[i - 2] ?? '');
    const body = source.slice(bodyStart, trimRight ? i - 1 : i).trim();
    bodyStart = 0;
    if (trimLeft) {
      const previous = pieces[pieces.length - 1];
      if (previous?.kind === 'text') previous.text = previous.text.replace(/[ \t\r\n]+$/, '');
    }
    pieces.push({ kind: 'action', body, line, trimLeft, trimRight });
    at = i + 2;
    if (trimRight) {
      const rest = source.slice(at).match(/^[ \t\r\n]*/)![0];
      at += rest.length;
    }
  }
  return pieces;
}

// ---- pipelines -------------------------------------------------------------------------------------------------

type Token = { readonly t: 'field'; readonly path: string[] } | { readonly t: 'dot' } | { readonly t: 'var'; readonly name: string; readonly path: string[] }
  | { readonly t: 'string'; readonly value: string } | { readonly t: 'number'; readonly text: string } | { readonly t: 'ident'; readonly name: string }
  | { readonly t: 'pipe' } | { readonly t: 'open' } | { readonly t: 'close' } | { readonly t: 'assign' } | { readonly t: 'comma' };

function tokenize(body: string, line: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    const rest = body.slice(i);
    let m: RegExpMatchArray | null;
    if ((m = rest.match(/^\s+/))) i += m[0].length;
    else if (rest[0] === '|') { tokens.push({ t: 'pipe' }); i++; }
    else if (rest[0] === '(') { tokens.push({ t: 'open' }); i++; }
    else if (rest[0] === ')') { tokens.push({ t: 'close' }); i++; }
    else if (rest[0] === ',') { tokens.push({ t: 'comma' }); i++; }
    else if (rest.startsWith(':=')) { tokens.push({ t: 'assign' }); i += 2; }
    else if ((m = rest.match(/^"((?:[^"\\]|\\.)*)"/))) {
      let value: string;
      try {
        value = JSON.parse(`"${m[1]!}"`) as string;
      } catch {
        throw new Refusal(line, m[0], 'the string uses a Go escape JSON does not share');
      }
      tokens.push({ t: 'string', value });
      i += m[0].length;
    } else if ((m = rest.match(/^`([^`]*)`/))) { tokens.push({ t: 'string', value: m[1]! }); i += m[0].length; }
    else if ((m = rest.match(/^-?\d+(?![\w.])/))) { tokens.push({ t: 'number', text: m[0] }); i += m[0].length; }
    else if ((m = rest.match(/^\$([A-Za-z_]\w*)?((?:\.[A-Za-z_]\w*)*)/))) {
      tokens.push({ t: 'var', name: m[1] ?? '', path: m[2] ? m[2].slice(1).split('.') : [] });
      i += m[0].length;
    } else if ((m = rest.match(/^(?:\.[A-Za-z_]\w*)+/))) { tokens.push({ t: 'field', path: m[0].slice(1).split('.') }); i += m[0].length; }
    else if (rest[0] === '.' ) { tokens.push({ t: 'dot' }); i++; }
    else if ((m = rest.match(/^[A-Za-z_]\w*/))) { tokens.push({ t: 'ident', name: m[0] }); i += m[0].length; }
    else throw new Refusal(line, body, `cannot read "${rest.slice(0, 10)}"`);
  }
  return tokens;
}

/** What `.` and `$` stand for in liquid at this point of the template. */
interface Scope {
  /** liquid expression for `.`; '' at the root (the fetched data). */
  readonly dot: string;
  readonly vars: ReadonlyMap<string, string>;
}

const LIQUID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function member(base: string, key: string): string {
  if (base === '') return LIQUID_NAME.test(key) && !['empty', 'blank', 'nil', 'null', 'true', 'false', 'forloop'].includes(key) ? key : `[${JSON.stringify(key)}]`;
  return LIQUID_NAME.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

interface Operand {
  readonly liquid: string;
  /** A plain liquid expression (variable or literal), usable as a filter argument. */
  readonly simple: boolean;
}

interface FunctionMapping {
  readonly filter: string;
  /** How many arguments come before the piped value (the function takes args + 1). */
  readonly args: number;
  /** Which argument is the filter's input, when not the last (rsaDecrypt's ciphertext is the third of four). */
  readonly input?: number;
  /** The result is a list of strings (so join, index and toJson of it translate). */
  readonly list?: true;
  readonly note?: string;
}

/** Function → liquid filter. */
const FUNCTIONS: Readonly<Record<string, FunctionMapping>> = {
  b64enc: { filter: 'base64_encode', args: 0 },
  b64dec: { filter: 'base64_decode', args: 0, note: 'b64dec: sprig prints its error text for input that is not base64; secret-relay fails the template instead' },
  upper: { filter: 'upper', args: 0, note: 'upper: Go maps each character on its own, liquid uses full Unicode case mapping: they differ for ß and ligatures such as ﬁ (ASCII and most letters are the same)' },
  lower: { filter: 'lower', args: 0, note: 'lower: Go maps each character on its own, liquid uses full Unicode case mapping: they differ for İ and for Σ at the end of a word (ς in liquid) (ASCII and most letters are the same)' },
  trim: { filter: 'strip', args: 0, note: 'trim: Go also strips U+0085 (next line) and liquid also strips U+FEFF; other whitespace is the same' },
  fromJson: { filter: 'parse_json', args: 0 },
  sha256sum: { filter: 'sha256', args: 0 },
  pkcs12key: { filter: 'pkcs12_private_key', args: 0 },
  pkcs12cert: { filter: 'pkcs12_certificates', args: 0 },
  pkcs12keyPass: { filter: 'pkcs12_private_key', args: 1 },
  pkcs12certPass: { filter: 'pkcs12_certificates', args: 1 },
  filterPEM: { filter: 'filter_pem', args: 1 },
  default: { filter: 'default', args: 1 },
  replace: { filter: 'replace', args: 2 },
  filterCertChain: { filter: 'cert_chain', args: 1 },
  certSANs: { filter: 'cert_sans', args: 0, list: true, note: 'certSANs: URI SANs are written as stored in the certificate, where Go re-serialises them (they differ only for URIs Go would re-escape)' },
  jwkPublicKeyPem: { filter: 'jwk_public_key_pem', args: 0 },
  jwkPrivateKeyPem: { filter: 'jwk_private_key_pem', args: 0 },
  rsaDecrypt: { filter: 'rsa_decrypt', args: 3, input: 2 },
  hasPrefix: { filter: 'has_prefix', args: 1 },
  hasSuffix: { filter: 'has_suffix', args: 1 },
};

/** What Go's encoding/json escapes in strings beyond JSON.stringify: the character and its \u escape (without the backslash). */
const JSON_ESCAPES: readonly (readonly [string, string])[] = [['<', 'u003c'], ['>', 'u003e'], ['&', 'u0026'], ['\\u2028', 'u2028'], ['\\u2029', 'u2029']];

/** Functions whose input must be a list of strings (what certSANs gives): liquid's filter then does the same. */
const LIST_FUNCTIONS: Readonly<Record<string, { readonly args: number; readonly liquid: (list: string, params: string[]) => string }>> = {
  join: { args: 1, liquid: (list, [separator]) => `${list} | join: ${separator!}` },
  // Go's encoding/json escapes <, > and & (and U+2028/U+2029) in strings; for a list of strings that is the only
  // difference from to_json.
  toJson: {
    args: 0,
    liquid: (list) => `${list} | to_json${JSON_ESCAPES.map(([from, to]) => ` | replace: "${from}", "\\\\${to}"`).join('')}`,
  },
};

/** Go's time.Time String() layout, without the monotonic clock reading ("m=+…") Go appends to time.Now(). */
const NOW_LIQUID = '"now" | date: "%Y-%m-%d %H:%M:%S.%L +0000 UTC"';
const NOW_NOTE =
  'now: the time of rendering, in UTC with milliseconds (2026-01-02 03:04:05.678 +0000 UTC); Go prints nanoseconds, the local zone and a monotonic reading (m=+…), so the text differs from ESO\'s — and as in ESO the Secret changes at every refresh';

const REFUSED_FUNCTIONS: Readonly<Record<string, string>> = {
  toYaml: "Go's YAML and liquid's to_yaml lay out documents differently",
  fromYaml: 'secret-relay has no YAML parsing filter',
  toJson: 'Go escapes <, > and & as \\u003c… and sorts map keys; to_json does neither, so the output could differ',
  quote: "Go's %q escapes control and non-printable characters differently from JSON",
  tpl: 'nested template evaluation has no liquid equivalent',
  template: 'named templates have no liquid equivalent',
  include: 'named templates have no liquid equivalent',
  env: 'reading the environment is not allowed in secret-relay templates',
  expandenv: 'reading the environment is not allowed in secret-relay templates',
  getHostByName: 'network lookups are not allowed in secret-relay templates',
  list: 'liquid has no list literal; build the text with append or split instead',
  htpasswd: 'htpasswd salts bcrypt at random; secret-relay has no htpasswd filter',
  pkcs12certPassSecret: 'not an ESO function',
};

class Translator {
  readonly notes = new Set<string>();
  /** Liquid expressions (and variables bound to them) known to be lists of strings. */
  private readonly lists = new Set<string>();
  private counter = 0;
  /** `{% assign %}` statements needed before the current output. */
  private pre: string[] = [];

  private readonly line: number;
  private readonly body: string;

  constructor(line: number, body: string) {
    this.line = line;
    this.body = body;
  }

  refuse(construct: string, reason: string): never {
    throw new Refusal(this.line, construct, reason);
  }

  operand(token: Token, scope: Scope): Operand {
    switch (token.t) {
      case 'string':
        return { liquid: JSON.stringify(token.value), simple: true };
      case 'number':
        return { liquid: token.text, simple: true };
      case 'dot':
        if (scope.dot === '') this.refuse('.', 'the whole data map cannot be printed or passed in liquid');
        return { liquid: scope.dot, simple: true };
      case 'field':
        if (scope.dot === '' && token.path[0]!.startsWith(RESERVED_PREFIX)) this.refuse(`.${token.path[0]}`, `keys starting with ${RESERVED_PREFIX} would clash with the variables of the translation`);
        return { liquid: token.path.reduce((base, key) => member(base, key), scope.dot), simple: true };
      case 'var': {
        const base = token.name === '' ? '' : scope.vars.get(token.name);
        if (base === undefined) this.refuse(`$${token.name}`, 'the variable is not declared');
        if (base === '' && token.path.length === 0) this.refuse('$', 'the whole data map cannot be printed or passed in liquid');
        return { liquid: token.path.reduce((b, key) => member(b, key), base), simple: true };
      }
      default:
        this.refuse(this.body, 'an operand was expected');
    }
  }

  /** A command: a function call with arguments, or one operand; `piped` is the value from the left. */
  command(tokens: Token[], scope: Scope, piped: string | undefined): string {
    const head = tokens[0];
    if (head === undefined) this.refuse(this.body, 'an empty command');
    if (head.t === 'open') {
      const close = this.matching(tokens, 0);
      if (close !== tokens.length - 1 || piped !== undefined) this.refuse(this.body, 'a parenthesised call used as a function');
      return this.pipeline(tokens.slice(1, close), scope);
    }
    if (head.t !== 'ident') {
      if (tokens.length !== 1 || piped !== undefined) this.refuse(this.body, 'a value cannot take arguments');
      return this.operand(head, scope).liquid;
    }
    const name = head.name;
    const args = this.args(tokens.slice(1), scope);
    if (piped !== undefined) args.push(piped);
    if (name === 'index') {
      if (args.length !== 2) this.refuse('index', 'only index with one key is translated');
      const [base, key] = args as [string, string];
      if (/^\d+$/.test(key) && this.lists.has(base)) return `${base}[${key}]`;
      const keyLiteral = key.startsWith('"') ? (JSON.parse(key) as string) : undefined;
      if (keyLiteral === undefined) this.refuse('index', 'only index with a literal key, or a list of strings with a literal position, is translated');
      return member(base === ROOT ? '' : base, keyLiteral);
    }
    if (name === 'now') {
      if (args.length !== 0) this.refuse('now', 'now takes no arguments');
      this.notes.add(NOW_NOTE);
      return NOW_LIQUID;
    }
    const listFunction = Object.hasOwn(LIST_FUNCTIONS, name) ? LIST_FUNCTIONS[name] : undefined;
    if (listFunction !== undefined) {
      if (args.length !== listFunction.args + 1) this.refuse(name, `${name} takes ${listFunction.args + 1} argument(s) here`);
      const list = args[listFunction.args]!;
      if (!this.lists.has(list)) {
        this.refuse(name, REFUSED_FUNCTIONS[name] ?? `${name} is translated over a list of strings (certSANs) only`);
      }
      return listFunction.liquid(list, args.slice(0, listFunction.args));
    }
    if (args.some((arg) => this.lists.has(arg))) this.refuse(name, `${name} of a list is not translated (join, index and toJson of certSANs are)`);
    if (name === 'printf') return this.printf(args);
    if (name === 'replace' && args[0] === '""') this.refuse('replace', 'replacing the empty string inserts at every position in Go, between characters only in liquid');
    if (name === 'toString') {
      if (args.length !== 1) this.refuse('toString', 'toString takes one value');
      this.notes.add('toString: dropped (the fetched values are already text)');
      return args[0]!;
    }
    const refusal = Object.hasOwn(REFUSED_FUNCTIONS, name) ? REFUSED_FUNCTIONS[name] : undefined;
    if (refusal !== undefined) this.refuse(name, refusal);
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (fn === undefined) this.refuse(name, `${name} has no exact liquid equivalent in secret-relay`);
    if (args.length !== fn.args + 1) this.refuse(name, `${name} takes ${fn.args + 1} argument(s) here`);
    if (fn.note) this.notes.add(fn.note);
    const at = fn.input ?? fn.args;
    const input = args[at]!;
    if (args.includes(ROOT)) this.refuse(name, 'the whole data map cannot be passed in liquid');
    const params = args.filter((_, i) => i !== at).map((param) => this.bind(param));
    const expr = `${this.atom(input)} | ${fn.filter}${params.length ? `: ${params.join(', ')}` : ''}`;
    if (fn.list) this.lists.add(expr);
    return expr;
  }

  /** printf with %s and %% only (the values are text, so %s prints them as they are): a chain of appends. */
  private printf(args: string[]): string {
    const format = args[0];
    if (format === undefined || !format.startsWith('"')) this.refuse('printf', 'printf is translated with a literal format only');
    const text = JSON.parse(format) as string;
    const parts = text.split(/(%.)/);
    const values = args.slice(1);
    if (values.includes(ROOT)) this.refuse('printf', 'the whole data map cannot be printed in liquid');
    let chain: string[] = [];
    let literal = '';
    let used = 0;
    for (const part of parts) {
      if (part === '%%') literal += '%';
      else if (part === '%s') {
        if (used >= values.length) this.refuse('printf', 'printf has fewer values than %s verbs');
        if (literal !== '' || chain.length === 0) chain.push(JSON.stringify(literal));
        literal = '';
        chain.push(values[used++]!);
      } else if (/^%.$/.test(part)) this.refuse('printf', `the ${part} verb has no liquid equivalent (only %s and %% are translated)`);
      else literal += part;
    }
    if (used !== values.length) this.refuse('printf', 'printf has more values than %s verbs');
    if (literal !== '') chain.push(JSON.stringify(literal));
    if (chain.length > 1 && chain[0] === '""') chain = chain.slice(1);
    const [head, ...rest] = chain;
    return [head!, ...rest.map((x) => `append: ${x}`)].join(' | ');
  }

  /** A filter chain as an input needs no parentheses in liquid (filters apply left to right). */
  private atom(expr: string): string {
    return expr;
  }

  private args(tokens: Token[], scope: Scope): string[] {
    const out: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.t === 'open') {
        const close = this.matching(tokens, i);
        out.push(this.bind(this.pipeline(tokens.slice(i + 1, close), scope)));
        i = close;
      } else if (token.t === 'dot' && scope.dot === '') out.push(ROOT);
      else if (token.t === 'var' && token.name === '' && token.path.length === 0) out.push(ROOT);
      else out.push(this.operand(token, scope).liquid);
    }
    return out;
  }

  /** A filter chain used as an argument is assigned to a variable first (liquid arguments are plain values). */
  bind(expr: string): string {
    if (!expr.includes('|')) return expr;
    const name = `migrate_${++this.counter}`;
    this.pre.push(`{% assign ${name} = ${expr} %}`);
    if (this.lists.has(expr)) this.lists.add(name);
    return name;
  }

  /** Refuses a list where text is printed, assigned or tested: Go writes [a b], liquid joins without separators. */
  text(expr: string): string {
    if (this.lists.has(expr)) this.refuse('certSANs', 'a list of strings is translated only through join, index or toJson (Go prints [a b], liquid joins without separators)');
    return expr;
  }

  takePre(): string {
    const out = this.pre.join('');
    this.pre = [];
    return out;
  }

  matching(tokens: Token[], open: number): number {
    let depth = 0;
    for (let i = open; i < tokens.length; i++) {
      if (tokens[i]!.t === 'open') depth++;
      else if (tokens[i]!.t === 'close' && --depth === 0) return i;
    }
    this.refuse(this.body, 'unbalanced parentheses');
  }

  pipeline(tokens: Token[], scope: Scope): string {
    const commands: Token[][] = [[]];
    let depth = 0;
    for (const token of tokens) {
      if (token.t === 'open') depth++;
      if (token.t === 'close') depth--;
      if (token.t === 'pipe' && depth === 0) commands.push([]);
      else commands[commands.length - 1]!.push(token);
    }
    let value: string | undefined;
    for (const command of commands) value = this.command(command, scope, value);
    return value!;
  }
}

const ROOT = '\u0000root';
/** Every liquid variable the translation introduces starts with this. */
const RESERVED_PREFIX = 'migrate_';

// ---- control structure -----------------------------------------------------------------------------------------

interface Frame {
  readonly kind: 'if' | 'with' | 'range';
  readonly line: number;
  readonly close: string;
  readonly scope: Scope;
  hasElse: boolean;
  /** `{% endif %}` count for `else if` chains. */
  extraEnds: number;
}

function rawText(text: string, line: number): string {
  if (text === '') return '';
  if (/\{%-?\s*endraw/.test(text)) throw new Refusal(line, 'endraw', 'the text holds liquid\'s {% endraw %}, which cannot be quoted in liquid');
  return text.includes('{{') || text.includes('{%') ? `{% raw %}${text}{% endraw %}` : text;
}

/** Go truthiness of a string (non-empty) in liquid, where '' is truthy. */
function truthy(expr: string): string {
  return `${expr} != empty`;
}

export function translateGoTemplate(source: string): Translation {
  const notes = new Set<string>();
  try {
    const pieces = lex(source);
    const root: Scope = { dot: '', vars: new Map() };
    const stack: Frame[] = [];
    let scope = root;
    let out = '';
    let loops = 0;
    for (const piece of pieces) {
      if (piece.kind === 'text') {
        out += rawText(piece.text, source.slice(0, source.indexOf(piece.text)).split('\n').length);
        continue;
      }
      const { body, line } = piece;
      const t: Translator = new Translator(line, body);
      const finish = (text: string) => {
        out += t.takePre() + text;
        for (const n of t.notes) notes.add(n);
      };
      if (body.startsWith('/*')) {
        if (!body.endsWith('*/')) t.refuse(body, 'the comment is not closed');
        continue;
      }
      const tokens = tokenize(body, line);
      const first = tokens[0];
      const keyword = first?.t === 'ident' ? first.name : undefined;
      if (keyword === 'end') {
        const frame = stack.pop();
        if (frame === undefined) t.refuse('end', 'end without if, with or range');
        finish(frame.close + '{% endif %}'.repeat(frame.extraEnds));
        scope = frame.scope;
        continue;
      }
      if (keyword === 'else') {
        const frame = stack[stack.length - 1];
        if (frame === undefined) t.refuse('else', 'else without if, with or range');
        scope = frame.scope;
        if (tokens.length === 1) {
          frame.hasElse = true;
          finish('{% else %}');
          continue;
        }
        const second = tokens[1];
        if (frame.kind !== 'if' || second?.t !== 'ident' || second.name !== 'if') t.refuse(body, 'only else and else if are translated');
        finish(`{% elsif ${condition(t, tokens.slice(2), scope, true)} %}`);
        continue;
      }
      if (keyword === 'if') {
        finish(`{% if ${condition(t, tokens.slice(1), scope)} %}`);
        stack.push({ kind: 'if', line, close: '{% endif %}', scope, hasElse: false, extraEnds: 0 });
        continue;
      }
      if (keyword === 'with') {
        const rest = tokens.slice(1);
        if (rest.some((x) => x.t === 'assign')) t.refuse('with $x :=', 'with that declares a variable is not translated');
        const value = t.bind(t.text(t.pipeline(rest, scope)));
        const name = `migrate_with_${++loops}`;
        finish(`{% assign ${name} = ${value} %}{% if ${truthy(name)} %}`);
        stack.push({ kind: 'with', line, close: '{% endif %}', scope, hasElse: false, extraEnds: 0 });
        scope = { dot: name, vars: scope.vars };
        continue;
      }
      if (keyword === 'range') {
        let rest = tokens.slice(1);
        let indexVar: string | undefined;
        let valueVar: string | undefined;
        const assign = rest.findIndex((x) => x.t === 'assign');
        if (assign >= 0) {
          const declared = rest.slice(0, assign).filter((x) => x.t !== 'comma');
          if (!declared.every((x) => x.t === 'var' && x.name !== '' && x.path.length === 0) || declared.length > 2) t.refuse(body, 'range declares one or two $variables');
          const names = declared.map((x) => (x as { name: string }).name);
          if (names.length === 2) [indexVar, valueVar] = names;
          else valueVar = names[0];
          rest = rest.slice(assign + 1);
        }
        const fromJson = rest.some((x) => x.t === 'ident' && x.name === 'fromJson');
        if (!fromJson) {
          t.refuse('range', 'range is translated over a list parsed with fromJson only: the fetched values are text, and Go ranges maps in key order where liquid keeps insertion order');
        }
        const collection = t.bind(t.pipeline(rest, scope));
        const item = `migrate_item_${++loops}`;
        const vars = new Map(scope.vars);
        if (valueVar !== undefined) vars.set(valueVar, item);
        if (stack.some((f) => f.kind === 'range')) t.refuse('range', 'a range inside a range is not translated (liquid\'s forloop names only the innermost loop)');
        if (indexVar !== undefined) vars.set(indexVar, 'forloop.index0');
        // A map parsed from JSON would iterate in insertion order in liquid where Go sorts keys: noted, not checkable here.
        t.notes.add('range over fromJson: exact for a JSON list; over a JSON object liquid keeps the stored key order where Go sorts the keys');
        finish(`{% for ${item} in ${collection} %}`);
        stack.push({ kind: 'range', line, close: '{% endfor %}', scope, hasElse: false, extraEnds: 0 });
        scope = { dot: item, vars };
        continue;
      }
      if (keyword === 'define' || keyword === 'template' || keyword === 'block' || keyword === 'break' || keyword === 'continue') {
        t.refuse(keyword, `${keyword} has no liquid equivalent in secret-relay`);
      }
      const assign = tokens.findIndex((x) => x.t === 'assign');
      if (assign >= 0) {
        const target = tokens[0];
        if (assign !== 1 || target?.t !== 'var' || target.name === '' || target.path.length > 0) t.refuse(body, 'only $name := pipeline is translated');
        if (stack.length > 0) t.refuse(body, 'a variable declared inside if, with or range is not translated (liquid variables are not scoped to the block)');
        const name = `migrate_var_${target.name}`;
        finish(`{% assign ${name} = ${t.text(t.pipeline(tokens.slice(2), scope))} %}`);
        scope = { dot: scope.dot, vars: new Map(scope.vars).set(target.name, name) };
        continue;
      }
      if (tokens.some((x) => x.t === 'ident' && x.name === 'fromJson') && !tokens.some((x) => x.t === 'ident' && FUNCTIONS[x.name]?.filter !== 'parse_json' && x.name !== 'fromJson')) {
        t.refuse('fromJson', 'printing a parsed JSON value: Go prints maps and lists as map[…] and […], liquid differently');
      }
      finish(`{{ ${t.text(t.pipeline(tokens, scope))} }}`);
    }
    const open = stack[stack.length - 1];
    if (open !== undefined) throw new Refusal(open.line, open.kind, `${open.kind} is not closed with end`);
    return { ok: true, liquid: out, notes: [...notes] };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, line: err.line, construct: err.construct, reason: err.reason };
    throw err;
  }
}

function condition(t: Translator, tokens: Token[], scope: Scope, elsif = false): string {
  const head = tokens[0];
  if (head?.t === 'ident' && (head.name === 'hasPrefix' || head.name === 'hasSuffix')) {
    // The test is a filter, computed by an assign before the tag: before an elsif that assign would sit in the
    // previous branch and not run when that branch is skipped.
    if (elsif) t.refuse(head.name, `${head.name} in else if is not translated (write it as a nested if)`);
    return t.bind(t.pipeline(tokens, scope));
  }
  if (head?.t === 'ident' && head.name === 'contains') {
    const parts = tokens.slice(1);
    if (parts.length !== 2 || parts.some((x) => x.t === 'open' || x.t === 'pipe' || x.t === 'ident')) t.refuse('contains', 'contains is translated with two plain values');
    const [substring, text] = parts.map((x) => t.operand(x, scope).liquid) as [string, string];
    return `${text} contains ${substring}`;
  }
  if (head?.t === 'ident' && (head.name === 'eq' || head.name === 'ne')) {
    const parts = tokens.slice(1);
    if (parts.length !== 2 || parts.some((x) => x.t === 'open' || x.t === 'pipe')) t.refuse(head.name, `${head.name} is translated with two plain values`);
    const [a, b] = parts.map((x) => t.operand(x, scope).liquid) as [string, string];
    return `${a} ${head.name === 'eq' ? '==' : '!='} ${b}`;
  }
  if (head?.t === 'ident' && head.name === 'not') {
    if (tokens.length !== 2) t.refuse('not', 'not is translated with one plain value');
    return `${t.operand(tokens[1]!, scope).liquid} == empty`;
  }
  if (head?.t === 'ident' && (head.name === 'and' || head.name === 'or')) {
    const parts = tokens.slice(1);
    if (parts.length < 2 || parts.some((x) => x.t === 'open' || x.t === 'pipe' || x.t === 'ident')) t.refuse(head.name, `${head.name} is translated over plain values`);
    return parts.map((x) => truthy(t.operand(x, scope).liquid)).join(head.name === 'and' ? ' and ' : ' or ');
  }
  if (tokens.length === 1) return truthy(t.operand(tokens[0]!, scope).liquid);
  t.refuse(tokens.map((x) => ('name' in x ? x.name : x.t)).join(' '), 'only a value, not, and, or, eq, ne, contains, hasPrefix and hasSuffix are translated as conditions');
}
