// `dataFrom[].find.name.regexp`, the same for every provider: Go's RE2 syntax and an unanchored match, as ESO
// (so a pattern written for ESO selects the same secrets), refused with one clear message when Go would refuse it.
import { TerminalError } from '../../util/errors.ts';
import { compileGoRegexp } from '../../util/go-regexp.ts';
import type { FindRef } from '../provider.ts';

/** A predicate on remote names; every name passes when the find has no `name`. */
export function compileFindName(find: Pick<FindRef, 'name'>): (name: string) => boolean {
  if (find.name === undefined) return () => true;
  const source = find.name.regexp;
  try {
    const pattern = compileGoRegexp(source);
    return (name) => pattern.test(name);
  } catch (err) {
    throw new TerminalError(`dataFrom.find.name.regexp "${source}" is not a valid Go regular expression (${err instanceof Error ? err.message : String(err)}); fix the pattern`);
  }
}
