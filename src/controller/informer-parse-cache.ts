// An informer's cache keeps the same object until the object changes (a change replaces it), so a parse of
// that object can be kept beside it: the event handler's parse serves every later lookup (the reconcile,
// each ExternalSecret resolving the same store) until the next change. Weakly held: it goes with the object.

type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * `parse`, remembered per object and resourceVersion. Callers must not mutate what it returns: the same
 * result is handed to every caller until the object changes.
 */
export function memoizeParse<T>(parse: (obj: unknown) => ParseResult<T>): (obj: unknown) => ParseResult<T> {
  const results = new WeakMap<object, { readonly resourceVersion: unknown; readonly result: ParseResult<T> }>();
  return (obj) => {
    if (typeof obj !== 'object' || obj === null) return parse(obj);
    // The resourceVersion guards against an object changed in place rather than replaced.
    const resourceVersion = (obj as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
    const known = results.get(obj);
    if (known !== undefined && known.resourceVersion === resourceVersion) return known.result;
    const result = parse(obj);
    results.set(obj, { resourceVersion, result });
    return result;
  };
}
