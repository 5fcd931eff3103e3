// spec.dataTo[].rewrite renders on the controller's thread (small templates over key names, never values), so one
// reconcile of a PushSecret — all its dataTo rules, the stores each applies to, every step — shares one render
// budget, and a rule's renaming is computed once for all its stores. With a budget per step, one PushSecret could
// take 32 rules × 16 steps × 16 stores of 100 ms each of the thread that renews the leader Lease and serves
// everyone else (a loop that stops just short of the budget in each step).
import { createTemplateEngine, DEFAULT_TEMPLATE_LIMITS, type TemplateEngine } from '../../templates/engine.ts';
import { rewriteKeys } from '../externalsecret/data-from.ts';
import type { KeyRenamer } from './plan.ts';

/**
 * Render time of one PushSecret reconcile's rewrites. A rename renders in about 12 µs, so 250 ms is some 20,000
 * renames — far more than the keys a PushSecret pushes — while a hostile template costs the thread at most this plus
 * one filter call (liquid checks the budget between calls).
 */
export const RENAME_RENDER_MS = 250;

/** The engine rewrites render with; its session budget is RENAME_RENDER_MS. */
export function createRenameEngine(): TemplateEngine {
  return createTemplateEngine({ ...DEFAULT_TEMPLATE_LIMITS, renderMs: RENAME_RENDER_MS });
}

/** A renamer for one reconcile: one render session for all its calls; the same steps over the same keys rename once. */
export function createKeyRenamer(engine: TemplateEngine): KeyRenamer {
  const session = engine.session();
  const done = new Map<string, Map<string, string>>();
  return (steps, keys, where) => {
    const memo = JSON.stringify([where, steps, keys]);
    const known = done.get(memo);
    if (known !== undefined) return new Map(known);
    const placeholder = new Map(keys.map((key) => [key, new TextEncoder().encode(key)]));
    const renamed = rewriteKeys(steps, placeholder, engine, where, session);
    const result = new Map([...renamed].map(([remoteKey, original]) => [new TextDecoder().decode(original), remoteKey]));
    done.set(memo, result);
    return new Map(result);
  };
}
