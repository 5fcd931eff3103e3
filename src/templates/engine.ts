// The liquid engine, sandboxed for templates written by anyone who may create an ExternalSecret:
// no file access (include/render/layout refuse at parse time, and the file system refuses too), only own
// properties of the values (no prototypes, constructors, process), unknown filters and variables are errors,
// and parse length, memory and render time are bounded. Errors are turned into TemplateErrors whose
// messages never carry a rendered value.
import { createRequire } from 'node:module';
import type { FS, Liquid } from 'liquidjs';
import { FILTERS } from './filters.ts';
import { FilterError, TemplateError } from './errors.ts';

export interface TemplateLimits {
  /** Characters of one template. */
  readonly parseLength: number;
  /** liquid's allocation count for one template (string and array sizes it builds). */
  readonly memory: number;
  /** Wall-clock milliseconds for all templates of one render session (one ExternalSecret). */
  readonly renderMs: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = {
  parseLength: 512 * 1024,
  memory: 16 * 1024 * 1024,
  renderMs: 2000,
};

const DISABLED_TAGS = ['include', 'render', 'layout'];

function refuseFiles(): never {
  throw new FilterError('templates cannot read files');
}

/** A file system that has no files: include/render/layout are refused before they get here anyway. */
const NO_FILES: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => refuseFiles(),
  readFileSync: () => refuseFiles(),
  resolve: (_root: string, file: string) => file,
  contains: async () => false,
  sep: '/',
};

/** liquid's own messages for its limits; these say nothing about values. */
const LIMIT_MESSAGE = /^(parse length|memory alloc|template render) limit exceeded$/;

export interface RenderSession {
  /** Renders one template against `context`; `where` names it in errors. */
  render(source: string, context: Record<string, unknown>, where: string): string;
}

export interface TemplateEngine {
  /** A session shares one render-time budget across all the templates of one ExternalSecret. */
  session(): RenderSession;
  /** Parses without rendering: throws the TemplateError of a syntax error or unknown filter. */
  checkSyntax(source: string, where: string): void;
}

const requireFromHere = createRequire(import.meta.url);

export function createTemplateEngine(
  limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS,
  now: () => number = () => performance.now(),
): TemplateEngine {
  // liquidjs loads with the first template (Node's require cache keeps it): +8 MiB RSS an operator whose
  // ExternalSecrets have no templates never needs.
  let built: Liquid | undefined;
  const liquid = (): Liquid => (built ??= buildLiquid(limits));
  return {
    checkSyntax(source, where) {
      try {
        liquid().parse(source);
      } catch (err) {
        throw toTemplateError(err, where);
      }
    },
    session() {
      const deadline = now() + limits.renderMs;
      return {
        render(source, context, where) {
          const remaining = deadline - now();
          if (remaining <= 0) throw new TemplateError(where, 'template render limit exceeded (all templates of this ExternalSecret share it)');
          try {
            const engine = liquid();
            return engine.renderSync(engine.parse(source), context, { renderLimit: remaining });
          } catch (err) {
            throw toTemplateError(err, where);
          }
        },
      };
    },
  };
}

function buildLiquid(limits: TemplateLimits): Liquid {
  const { Liquid: LiquidEngine } = requireFromHere('liquidjs') as typeof import('liquidjs');
  const liquid = new LiquidEngine({
    fs: NO_FILES,
    root: [],
    partials: [],
    layouts: [],
    relativeReference: false,
    dynamicPartials: false,
    strictFilters: true,
    strictVariables: true,
    // `{% if optional %}` and `| default:` still work on a key that is absent.
    lenientIf: true,
    ownPropertyOnly: true,
    jsTruthy: false,
    parseLimit: limits.parseLength,
    memoryLimit: limits.memory,
    renderLimit: limits.renderMs,
    cache: false,
    // `date` (and `"now" | date: …`) renders in UTC whatever the host's time zone, so a Secret does not depend on
    // where the operator runs.
    timezoneOffset: 0,
  });
  for (const tag of DISABLED_TAGS) {
    liquid.registerTag(tag, {
      parse() {
        throw new FilterError(`the ${tag} tag is disabled: templates cannot read other templates or files`);
      },
      render() {
        return '';
      },
    });
  }
  for (const [name, filter] of Object.entries(FILTERS)) liquid.registerFilter(name, filter);
  return liquid;
}

interface LiquidErrorShape {
  readonly name: string;
  readonly message: string;
  readonly originalError?: unknown;
  readonly token?: { getPosition(): [number, number]; getText(): string };
}

function isLiquidError(err: unknown): err is LiquidErrorShape {
  return err instanceof Error && ['TokenizationError', 'ParseError', 'RenderError', 'UndefinedVariableError', 'LiquidErrors'].includes(err.name);
}

/** liquid appends ", line:1, col:4"; we report the position separately. */
function withoutPosition(message: string): string {
  return message.replace(/, line:\d+, col:\d+$/, '');
}

/**
 * The reason to show for a liquid error. Parse-time messages quote only template text. At render time only
 * messages we know to be value-free pass: our filters', liquid's limits' and undefined variables' (which name
 * the expression as written); anything else (a built-in filter's TypeError, say) is replaced by its kind.
 */
export function safeReason(err: LiquidErrorShape): string {
  const original = err.originalError;
  if (err.name === 'LiquidErrors') return 'several errors';
  if (original instanceof FilterError) return original.message;
  if (original instanceof TemplateError) return original.reason;
  if (original instanceof Error && LIMIT_MESSAGE.test(original.message)) return original.message;
  if (err.name === 'UndefinedVariableError') {
    // liquid's message names the path with bracketed keys already resolved (`obj[password]` becomes
    // `obj.<value>`), so the expression is quoted as written instead.
    return `undefined variable in ${quoteTemplate(err.token?.getText() ?? '')}: no fetched key or property of that name`;
  }
  if (err.name === 'TokenizationError' || err.name === 'ParseError') return withoutPosition(err.message);
  return `a filter or tag failed while rendering (${original instanceof Error ? original.name : 'error'})`;
}

/** Template text (never values) for a message, shortened. */
function quoteTemplate(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

export function toTemplateError(err: unknown, where: string): TemplateError {
  if (err instanceof TemplateError) return err;
  if (err instanceof FilterError) return new TemplateError(where, err.message);
  // The parse-length check throws liquid's bare AssertionError, before any token exists.
  if (err instanceof Error && err.name === 'AssertionError' && LIMIT_MESSAGE.test(err.message)) return new TemplateError(where, err.message);
  if (isLiquidError(err)) {
    const position = err.token?.getPosition();
    return new TemplateError(where, safeReason(err), position?.[0], position?.[1]);
  }
  return new TemplateError(where, `rendering failed (${err instanceof Error ? err.name : 'error'})`);
}
