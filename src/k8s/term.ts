// The leadership term a request belongs to. The manager runs each term's controllers inside runInTerm (an
// AsyncLocalStorage context, which follows every await, timer and callback started from there), and the client
// (./kube-client.ts) gives every request made in that context the term's signal: once the term ends, a request
// of it still in flight is cut and a new one is refused, whichever code path made it. So a leader that cannot
// renew stops writing at its renew deadline, before the Lease can pass to a standby, without every reconciler,
// writer and provider helper having to thread a signal through (and without one forgetting to). Requests made
// outside any term (start-up, the informers, the elector's own Lease requests) are not fenced.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LeadershipTerm {
  /** Aborts when the term ends; its reason is what the refused requests reject with. */
  readonly signal: AbortSignal;
  /**
   * True once the term is over by the clock (the renew deadline passed), checked right before each request is
   * sent: a timer that fires late (a blocked event loop) must not let a write through.
   */
  readonly ended: () => boolean;
}

const current = new AsyncLocalStorage<LeadershipTerm>();

/** Runs `fn` (and everything it starts) as part of `term`. */
export function runInTerm<T>(term: LeadershipTerm, fn: () => T): T {
  return current.run(term, fn);
}

/** The term of the code running now, if any. */
export function currentTerm(): LeadershipTerm | undefined {
  return current.getStore();
}

/** A request of a term that is over. */
export class TermEndedError extends Error {
  override readonly name = 'TermEndedError';
}

/** Throws if `term` is over: its signal's reason, or a TermEndedError when only the clock says so yet. */
export function checkTerm(term: LeadershipTerm | undefined): void {
  if (!term) return;
  if (term.signal.aborted) throw term.signal.reason instanceof Error ? term.signal.reason : new TermEndedError('the leadership term ended');
  if (term.ended()) throw new TermEndedError('the leadership term ended (renew deadline passed); this replica no longer writes');
}
