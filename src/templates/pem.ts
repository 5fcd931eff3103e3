// PEM bundles: pick blocks of one type (certificates, the private key) out of a bundle.
import { FilterError } from './errors.ts';

export interface PemBlock {
  readonly type: string;
  /** The whole block, BEGIN to END line, with a trailing newline. */
  readonly text: string;
}

// The closing dashes are looked at, not consumed: they may open the next marker ("-----END B-----END A-----").
const MARKER = /-----(BEGIN|END) ([A-Z0-9 ]+)(?=-----)/g;

/**
 * Every well-formed PEM block, in order; text between blocks (comments, "Bag Attributes") is skipped. A block is a
 * `-----BEGIN X-----` line and the first `-----END X-----` after it, as the regex
 * `/-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g` finds them — but in one pass over the markers:
 * that regex scans to the end of the text for every BEGIN without an END, so a value of unterminated BEGIN lines
 * took seconds per 100 KiB (test/unit/templates/pem-scan.test.ts).
 */
export function pemBlocks(text: string): PemBlock[] {
  const begins: { type: string; at: number; body: number }[] = [];
  const ends = new Map<string, { at: number; end: number }[]>();
  for (const marker of text.matchAll(MARKER)) {
    const at = marker.index;
    const type = marker[2]!;
    const after = at + marker[0].length + 5;
    if (marker[1] === 'BEGIN') {
      const body = text.startsWith('\n', after) ? after + 1 : text.startsWith('\r\n', after) ? after + 2 : -1;
      if (body >= 0) begins.push({ type, at, body });
    } else {
      let list = ends.get(type);
      if (list === undefined) ends.set(type, (list = []));
      list.push({ at, end: after });
    }
  }
  const nextEnd = new Map<string, number>();
  const blocks: PemBlock[] = [];
  let cursor = 0;
  for (const begin of begins) {
    if (begin.at < cursor) continue;
    const list = ends.get(begin.type);
    if (list === undefined) continue;
    let index = nextEnd.get(begin.type) ?? 0;
    while (index < list.length && list[index]!.at < begin.body) index++;
    nextEnd.set(begin.type, index);
    const end = list[index];
    if (end === undefined) continue;
    blocks.push({ type: begin.type, text: `${text.slice(begin.at, end.end).replace(/\r\n/g, '\n')}\n` });
    cursor = end.end;
  }
  return blocks;
}

/** The blocks of one type, joined; refuses an input without any. */
export function pemOfType(text: string, type: string, filter: string): string {
  const blocks = pemBlocks(text).filter((block) => block.type === type);
  if (blocks.length === 0) throw new FilterError(`${filter}: the input holds no PEM block of type "${type}"`);
  return blocks.map((block) => block.text).join('');
}

const PRIVATE_KEY_TYPES = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'];

/** The one private key of a bundle; refuses none or several (which one would be meant is not known). */
export function pemPrivateKey(text: string, filter: string): string {
  const keys = pemBlocks(text).filter((block) => PRIVATE_KEY_TYPES.includes(block.type));
  if (keys.length !== 1) {
    throw new FilterError(`${filter}: the input holds ${keys.length} private keys; it needs exactly one`);
  }
  return keys[0]!.text;
}

export function derToPem(type: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

export interface DecodedPemBlock {
  readonly type: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly bytes: Uint8Array;
}

export interface DecodedPem {
  readonly blocks: DecodedPemBlock[];
  /** The text after the last block decoded (all of it when none was): Go's pem.Decode `rest` when it stops. */
  readonly rest: string;
}

const PEM_START = '\n-----BEGIN ';
const PEM_END = '\n-----END ';
const PEM_END_OF_LINE = '-----';

/**
 * Go's pem getLine: up to the next \n (excluded), one \r before it and trailing spaces and tabs trimmed. Trimmed by
 * a backward loop: a /[ \t]+$/ regex tries every start of a run of spaces, quadratic in its length.
 */
function getLine(text: string, at: number): { line: string; next: number } {
  const newline = text.indexOf('\n', at);
  let end = newline < 0 ? text.length : newline > at && text[newline - 1] === '\r' ? newline - 1 : newline;
  while (end > at && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  return { line: text.slice(at, end), next: newline < 0 ? text.length : newline + 1 };
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The PEM blocks of a text, decoded, exactly as a loop over Go's encoding/pem.Decode finds them (ESO's filterPEM
 * and filterCertChain read their input so): text before, between and after blocks is skipped, a BEGIN whose block
 * is malformed (no matching END, bad base64) is skipped too; headers (`Proc-Type: …`) are kept. Where Go looks for
 * the END line with a scan to the end of the text for every BEGIN, the END lines are listed once here, so a text of
 * unterminated BEGIN lines costs one pass. More than `maxBlocks` BEGIN markers are refused before anything is decoded.
 */
export function decodePemBlocks(text: string, maxBlocks: number, filter: string): DecodedPem {
  let begins = 0;
  for (let at = text.indexOf('-----BEGIN '); at >= 0; at = text.indexOf('-----BEGIN ', at + 1)) {
    if (++begins > maxBlocks) throw new FilterError(`${filter}: the input holds more than ${maxBlocks} PEM blocks (the limit)`);
  }
  const endLines: number[] = [];
  for (let at = text.indexOf(PEM_END); at >= 0; at = text.indexOf(PEM_END, at + 1)) endLines.push(at);
  let nextEndLine = 0;
  const firstEndLineFrom = (from: number): number => {
    while (nextEndLine < endLines.length && endLines[nextEndLine]! < from) nextEndLine++;
    return nextEndLine < endLines.length ? endLines[nextEndLine]! : -1;
  };
  // Header lines (those with a colon) run from a BEGIN line to the first line without one. A BEGIN line may itself
  // hold a colon, so the run after one BEGIN can hold the next ones: the last run is remembered, and a BEGIN inside
  // it ends where it ends, without reading the lines again (else 1024 such BEGINs read the text 1024 times).
  let run = { from: -1, to: -1 };
  const headerLinesEnd = (from: number): number => {
    if (from >= run.from && from < run.to) return run.to;
    let at = from;
    while (at < text.length) {
      const line = getLine(text, at);
      if (!line.line.includes(':')) break;
      at = line.next;
    }
    run = { from, to: at };
    return at;
  };
  const blocks: DecodedPemBlock[] = [];
  let done = 0;
  let rest = 0;
  for (;;) {
    // Find the next BEGIN: at the very start, or after a newline.
    if (text.startsWith(PEM_START.slice(1), rest)) rest += PEM_START.length - 1;
    else {
      const found = text.indexOf(PEM_START, rest);
      if (found < 0) return { blocks, rest: text.slice(done) };
      rest = found + PEM_START.length;
    }
    const typeLine = getLine(text, rest);
    rest = typeLine.next;
    if (!typeLine.line.endsWith(PEM_END_OF_LINE)) continue;
    const type = typeLine.line.slice(0, -PEM_END_OF_LINE.length);
    const bodyStart = headerLinesEnd(rest);
    if (bodyStart >= text.length) return { blocks, rest: text.slice(done) };
    let endIndex: number;
    let endTrailer: number;
    if (bodyStart === rest && text.startsWith(PEM_END.slice(1), bodyStart)) {
      endIndex = bodyStart;
      endTrailer = bodyStart + PEM_END.length - 1;
    } else {
      endIndex = firstEndLineFrom(bodyStart);
      endTrailer = endIndex + PEM_END.length;
    }
    if (endIndex < 0) continue;
    const trailer = `${type}${PEM_END_OF_LINE}`;
    if (!text.startsWith(trailer, endTrailer)) continue;
    const afterEnd = getLine(text, endTrailer + trailer.length);
    if (afterEnd.line.length !== 0) continue;
    const base64 = text.slice(bodyStart, endIndex).replace(/[ \t\r\n]/g, '');
    if (!STRICT_BASE64.test(base64)) continue;
    blocks.push({ type, headers: readHeaders(text, rest, bodyStart), bytes: new Uint8Array(Buffer.from(base64, 'base64')) });
    rest = afterEnd.next;
    done = rest;
  }
}

/** The `Key: value` header lines of a block, from its BEGIN line's end to its body. */
function readHeaders(text: string, from: number, to: number): Map<string, string> {
  const headers = new Map<string, string>();
  for (let at = from; at < to; ) {
    const header = getLine(text, at);
    const colon = header.line.indexOf(':');
    headers.set(header.line.slice(0, colon).trim(), header.line.slice(colon + 1).trim());
    at = header.next;
  }
  return headers;
}

/** Go's pem.Encode: Proc-Type first, the other headers sorted, a blank line, base64 in lines of 64. */
export function encodePem(block: DecodedPemBlock): string {
  let out = `-----BEGIN ${block.type}-----\n`;
  if (block.headers.size > 0) {
    const procType = block.headers.get('Proc-Type');
    if (procType !== undefined) out += `Proc-Type: ${procType}\n`;
    for (const key of [...block.headers.keys()].filter((k) => k !== 'Proc-Type').sort()) out += `${key}: ${block.headers.get(key)!}\n`;
    out += '\n';
  }
  for (const line of Buffer.from(block.bytes).toString('base64').match(/.{1,64}/g) ?? []) out += `${line}\n`;
  return `${out}-----END ${block.type}-----\n`;
}

/**
 * ESO's filterPEM: the blocks whose type matches (ignoring case), re-encoded as Go writes them; '' when none
 * matches, unless text other than blocks is left over — then ESO's "found junk" refusal.
 */
export function filterPem(text: string, type: string, maxBlocks: number, filter: string): string {
  const begin = text.indexOf('-----BEGIN');
  const { blocks, rest } = decodePemBlocks(begin < 0 ? text : text.slice(begin), maxBlocks, filter);
  const wanted = type.toUpperCase();
  const matching = blocks.filter((block) => block.type.toUpperCase() === wanted);
  if (matching.length === 0 && rest.length !== 0) throw new FilterError(`${filter}: found junk (no block of the type asked for, and text that is not PEM)`);
  return matching.map(encodePem).join('');
}
