// Which informer updates are worth a reconcile. Our own status writes come back as update events; reacting
// to them would retry a failing object at once, bypassing its backoff, and double the work of every sync.
// So a key is enqueued only when the fingerprint of what matters for that controller changes.

export class ChangeFilter {
  readonly #seen = new Map<string, string>();

  /** True when the fingerprint differs from the last one seen for this key (or the key is new). */
  changed(key: string, fingerprint: string): boolean {
    if (this.#seen.get(key) === fingerprint) return false;
    this.#seen.set(key, fingerprint);
    return true;
  }

  forget(key: string): void {
    this.#seen.delete(key);
  }
}
