// Errors of templates. Messages name the template (which field, which line) and the reason; they never
// quote a rendered value, so they can go into conditions, Events and logs.

/** Thrown by our filters; its message is written without any value, so it is safe to show as it is. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
}

/**
 * A template could not be rendered (syntax, unknown filter or variable, a limit, a filter's refusal) or
 * rendered something unusable (an invalid key, the same key twice). The Secret is left as it was.
 */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  /** Which template, e.g. `spec.target.template.data["url"]`. */
  readonly where: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly reason: string;

  constructor(where: string, reason: string, line?: number, column?: number) {
    super(`${where}${line === undefined ? '' : ` (line ${line}${column === undefined ? '' : `, column ${column}`})`}: ${reason}`);
    this.where = where;
    this.reason = reason;
    this.line = line;
    this.column = column;
  }
}
