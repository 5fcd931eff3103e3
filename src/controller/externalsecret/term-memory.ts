// Memory that lasts one leadership term. The manager builds a fresh set of controllers (queues, workers) each term
// but the reconcile functions — and what their closures remember — are built once, at start-up. What a reconciler
// remembers only makes up for a cache lagging behind its own writes; in a new term another leader may have written
// since, and the apiserver is the truth: each term starts with empty memory.
import { currentTerm, type LeadershipTerm } from '../../k8s/term.ts';

/** `make()`'s value for the term of the calling code (src/k8s/term.ts), made anew when the term changes. */
export function perTerm<T>(make: () => T): () => T {
  let term: LeadershipTerm | undefined;
  let value = make();
  return () => {
    const now = currentTerm();
    if (now !== term) {
      term = now;
      value = make();
    }
    return value;
  };
}
