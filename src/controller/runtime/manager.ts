// The manager controllers plug into, after controller-runtime's manager and builder: it owns one shared
// informer per kind (started once, handed to every controller that asks), the work queues and their metrics,
// the leadership term (controllers run only while this replica leads, a fresh set each term), the probes and
// the metrics server. A controller declares its primary kind, the kinds it watches with a function from a
// changed object to the primary keys it concerns (and an optional fingerprint that filters updates), and its
// reconcile; event handlers only enqueue keys, reconciles read the caches (level-based).
import type { Registry } from 'prom-client';
import type { Clock } from '../../util/clock.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { startHttpServer, type HttpServer } from '../../http/server.ts';
import type { KubeClient } from '../../k8s/kube-client.ts';
import { createKindInformer, kindKey, type InformerEvent, type KindDescriptor, type KubernetesObject, type SupervisedInformer } from '../../k8s/informer.ts';
import { checkKindsReadable } from '../../k8s/preflight.ts';
import { createLeaseStore } from '../../k8s/leases.ts';
import type { LeaseStore } from '../../k8s/lease-record.ts';
import { runInTerm, TermEndedError } from '../../k8s/term.ts';
import type { BackoffOptions } from '../../util/backoff.ts';
import { ChangeFilter } from '../change-filter.ts';
import { Controller, type Reconcile } from './controller.ts';
import { LeaderElector } from './leader-election.ts';
import { WorkQueue } from './work-queue.ts';

/** `namespace/name`, or `name` for a cluster-scoped object: the key a queue holds. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The key of an object as its informer hands it out. */
export function keyOf(obj: KubernetesObject): string {
  return objectKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

/** A kind a controller watches besides its primary one. */
export interface Watch<T extends KubernetesObject = KubernetesObject> {
  readonly kind: KindDescriptor<T>;
  /** Which events concern the primary objects; default all three. */
  readonly events?: readonly InformerEvent[] | undefined;
  /** Keeps an index of the controller current; called for every event, before `map`. */
  readonly observe?: ((event: InformerEvent, obj: T) => void) | undefined;
  /** The keys of the primary objects this changed object concerns. */
  readonly map: (obj: T, event: InformerEvent) => Iterable<string>;
  /** An add or update whose fingerprint equals the last one seen for this object is ignored; deletes always pass. */
  readonly fingerprint?: ((obj: T) => string) | undefined;
  /** Enqueue the keys after this long (ms): a burst of changes within it gives one reconcile per key. */
  readonly delayMs?: number | undefined;
}

/** Erases a watch's object type so watches of different kinds fit one list. */
export function watch<T extends KubernetesObject>(spec: Watch<T>): Watch {
  return spec as unknown as Watch;
}

export interface ControllerSpec<T extends KubernetesObject = KubernetesObject> {
  /** For logs and metric labels; unique per manager. */
  readonly name: string;
  /** Its objects are the keys of the queue: every change enqueues the object's own key (after `fingerprint`). */
  readonly primary: Omit<Watch<T>, 'map' | 'events'>;
  readonly watches?: readonly Watch[] | undefined;
  readonly reconcile: Reconcile;
  /**
   * Whether this installation serves the object of a key (its controller class); a key it does not serve is never
   * reconciled: no status, finalizer or write. Asked at each reconcile, so a change of class takes effect.
   */
  readonly serves?: ((key: string) => boolean) | undefined;
}

/** What a controller module gets to build its spec: the shared caches. */
export interface Caches {
  informer<T extends KubernetesObject>(kind: KindDescriptor<T>): SupervisedInformer<T>;
  /**
   * The work queue of a controller, for a reconcile that fans its work out into more keys of its own (a
   * ClusterExternalSecret: one key per namespace). Bound to the current term; adds while not leading are dropped.
   */
  queue(controller: string): QueueHandle;
}

export interface QueueHandle {
  /** Queues `key` (after `afterMs` when given), through the queue's rate limit like any other key. */
  add(key: string, afterMs?: number): void;
  /** How many reconciles of `key` have failed in a row (0 after a success). */
  retries(key: string): number;
}

export type ManagerMetrics = Pick<Metrics, 'reconcile' | 'setQueueDepth' | 'queueAdded' | 'queueWaited' | 'queueRetried' | 'setLeader'> & Partial<Pick<Metrics, 'setQueueNamespaces'>>;

export interface ManagerOptions {
  readonly kube: KubeClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ManagerMetrics;
  /** Namespaced kinds are watched in these namespaces only; empty: all. */
  readonly watchNamespaces: readonly string[];
  readonly workers: number;
  readonly queueRateLimit: { readonly qps: number; readonly burst: number };
  readonly http: { readonly port: number; readonly host: string; readonly registry: Registry };
  /** Absent: lead at once (a single replica). */
  readonly leaderElection?:
    | { readonly namespace: string; readonly name: string; readonly identity: string; readonly leaseDurationMs: number; readonly renewDeadlineMs: number; readonly retryPeriodMs: number }
    | undefined;
  readonly informerBackoff?: BackoffOptions | undefined;
  /** For tests: where the leader-election Lease is kept. Default: the cluster, over the client's leader-election lane. */
  readonly leaseStore?: LeaseStore | undefined;
  /** For tests: builds the informer of a kind. Default: a supervised list-watch (src/k8s/informer.ts). */
  readonly makeInformer?: (<T extends KubernetesObject>(kind: KindDescriptor<T>) => SupervisedInformer<T>) | undefined;
  /** Run before the caches start; default: every kind can be listed (src/k8s/preflight.ts). */
  readonly checkAccess?: ((kinds: readonly KindDescriptor[]) => Promise<void>) | undefined;
}

export class Manager implements Caches {
  readonly #options: ManagerOptions;
  readonly #informers = new Map<string, { kind: KindDescriptor; informer: SupervisedInformer<KubernetesObject> }>();
  readonly #specs: ControllerSpec[] = [];
  /** The current term's controllers; undefined while not leading. */
  #controllers: Map<string, Controller> | undefined;
  /** Aborted when the current term ends: every request made in the term carries it (src/k8s/term.ts). */
  #term: AbortController | undefined;
  #http: HttpServer | undefined;
  #elector: LeaderElector | undefined;
  #started = false;
  #stopping = false;

  constructor(options: ManagerOptions) {
    this.#options = options;
  }

  /** The shared informer of a kind; created on first ask, started by `start()`. */
  informer<T extends KubernetesObject>(kind: KindDescriptor<T>): SupervisedInformer<T> {
    const key = kindKey(kind);
    let entry = this.#informers.get(key);
    if (!entry) {
      if (this.#started) throw new Error(`informer for ${key} asked for after the manager started; ask while building the controllers`);
      const { kube, logger, watchNamespaces, informerBackoff, makeInformer } = this.#options;
      const informer = makeInformer ? makeInformer(kind) : createKindInformer(kind, { kube, logger, backoff: informerBackoff, namespaces: watchNamespaces });
      entry = { kind: kind as KindDescriptor, informer: informer as unknown as SupervisedInformer<KubernetesObject> };
      this.#informers.set(key, entry);
    }
    return entry.informer as unknown as SupervisedInformer<T>;
  }

  queue(controller: string): QueueHandle {
    return {
      add: (key, afterMs) => {
        const queue = this.#controllers?.get(controller)?.queue;
        if (afterMs !== undefined && afterMs > 0) queue?.addAfter(key, afterMs);
        else queue?.add(key);
      },
      retries: (key) => this.#controllers?.get(controller)?.queue.retries(key) ?? 0,
    };
  }

  /** Adds a controller; its handlers are registered now, so the first list's events are seen. */
  add(spec: ControllerSpec): void {
    if (this.#started) throw new Error(`controller ${spec.name} added after the manager started`);
    if (this.#specs.some((s) => s.name === spec.name)) throw new Error(`controller ${spec.name} is added twice`);
    this.#specs.push(spec);
    const queue = this.queue(spec.name);
    this.#handle({ ...spec.primary, map: (obj) => [keyOf(obj)] }, queue);
    for (const w of spec.watches ?? []) this.#handle(w, queue);
  }

  #handle(w: Watch, queue: QueueHandle): void {
    const informer = this.informer(w.kind);
    const seen = w.fingerprint ? new ChangeFilter() : undefined;
    for (const event of w.events ?? (['add', 'update', 'delete'] as const)) {
      informer.on(event, (obj) => {
        w.observe?.(event, obj);
        if (seen && w.fingerprint) {
          if (event === 'delete') seen.forget(keyOf(obj));
          else if (!seen.changed(keyOf(obj), w.fingerprint(obj))) return;
        }
        for (const key of w.map(obj, event)) queue.add(key, w.delayMs);
      });
    }
  }

  isLeader(): boolean {
    return this.#controllers !== undefined;
  }

  hasSynced(): boolean {
    return [...this.#informers.values()].every((e) => e.informer.hasSynced());
  }

  /**
   * Checks that every cached kind can be listed (one clear error naming the kind and the fix when not), serves
   * the probes and metrics, syncs the caches, then leads (or campaigns). Resolves with the metrics port.
   */
  async start(): Promise<{ metricsPort: number }> {
    if (this.#started) throw new Error('manager already started');
    this.#started = true;
    const { kube, logger, http, watchNamespaces } = this.#options;
    const kinds = [...this.#informers.values()].map((e) => e.kind);
    await (this.#options.checkAccess ?? ((all) => checkKindsReadable(kube, all, watchNamespaces)))(kinds);
    this.#http = await startHttpServer({
      port: http.port,
      host: http.host,
      registry: http.registry,
      isHealthy: () => !this.#stopping,
      isReady: () => (this.hasSynced() ? true : { ok: false, reason: 'caches are not synced yet' }),
      logger,
    });
    try {
      await Promise.all([...this.#informers.values()].map((e) => e.informer.start()));
    } catch (err) {
      await this.#http.close();
      throw err;
    }
    logger.info({ caches: [...this.#informers.keys()] }, 'caches synced');
    const election = this.#options.leaderElection;
    if (election) {
      const elector: LeaderElector = new LeaderElector({
        store: this.#options.leaseStore ?? createLeaseStore(kube.leaderElection),
        ...election,
        onStartedLeading: (signal): void => this.#startTerm(signal, () => this.#options.clock.now() >= elector.leadingUntil()),
        onStoppedLeading: () => this.#endTerm(),
        clock: this.#options.clock,
        logger,
      });
      this.#elector = elector;
      elector.start();
    } else {
      this.#startTerm(undefined, () => false);
    }
    return { metricsPort: this.#http.port };
  }

  /**
   * Controllers exist only while this replica leads; a new set each term (a Controller runs once). They run in
   * the term's context (src/k8s/term.ts): every Kubernetes request they make, however deep, carries the term's
   * signal and is refused once the term is over by the elector's signal (`leading`) or by the clock (`ended`:
   * the renew deadline passed). That is how a leader that cannot renew stops writing before its Lease can pass
   * to a standby, rather than exiting as controller-runtime does: the caches stay warm for the next term.
   */
  #startTerm(leading: AbortSignal | undefined, ended: () => boolean): void {
    const { clock, logger, metrics, workers, queueRateLimit } = this.#options;
    const term = new AbortController();
    this.#term = term;
    // Leadership lost (renewals failed, the Lease taken): the term ends at once. A graceful stop instead lets
    // the reconciles finish within the budget, and ends the term before the Lease is released (#endTerm).
    leading?.addEventListener(
      'abort',
      () => {
        if (!this.#stopping) term.abort(new TermEndedError(`this replica no longer leads (${describeReason(leading.reason)}); its requests are refused`));
      },
      { once: true },
    );
    const stopBudget = this.#stopBudget();
    const controllers = new Map<string, Controller>();
    for (const spec of this.#specs) {
      const name = spec.name;
      const queue = new WorkQueue({
        clock,
        rateLimit: queueRateLimit,
        observer: {
          added: () => metrics.queueAdded(name),
          depth: (n) => metrics.setQueueDepth(name, n),
          waited: (s) => metrics.queueWaited(name, s),
          retried: () => metrics.queueRetried(name),
          namespaces: (n, busiest) => metrics.setQueueNamespaces?.(name, n, busiest),
        },
      });
      const observer = { onResult: (_key: string, outcome: Parameters<ManagerMetrics['reconcile']>[1], seconds: number) => metrics.reconcile(name, outcome, seconds) };
      const serves = spec.serves;
      const reconcile: Reconcile = serves ? async (key, signal) => (serves(key) ? spec.reconcile(key, signal) : undefined) : spec.reconcile;
      controllers.set(name, new Controller({ name, queue, reconcile, workers, clock, logger, observer, ...stopBudget }));
    }
    this.#controllers = controllers;
    metrics.setLeader(true);
    runInTerm({ signal: term.signal, ended }, () => {
      for (const c of controllers.values()) c.start();
    });
    for (const spec of this.#specs) {
      const queue = controllers.get(spec.name)!.queue;
      for (const obj of this.informer(spec.primary.kind).list()) queue.add(keyOf(obj));
    }
    logger.info({ controllers: [...controllers.keys()] }, 'leading: controllers started');
  }

  /**
   * How long a term's end waits for its in-flight reconciles (then aborts them, then gives up on them): with
   * leader election, all of it within the time between the renew deadline and the Lease's expiry (5 s with the
   * defaults), so the old leader is done before a standby can lead; its requests are refused from the renew
   * deadline on anyway. Without: the Controller's defaults.
   */
  #stopBudget(): { stopTimeoutMs?: number; abortGraceMs?: number } {
    const election = this.#options.leaderElection;
    if (!election) return {};
    const window = election.leaseDurationMs - election.renewDeadlineMs;
    return { stopTimeoutMs: Math.floor(window * 0.5), abortGraceMs: Math.floor(window * 0.25) };
  }

  async #endTerm(): Promise<void> {
    const running = this.#controllers;
    if (!running) return;
    this.#controllers = undefined;
    const term = this.#term;
    this.#term = undefined;
    if (!this.#stopping) term?.abort(new TermEndedError('this replica no longer leads; its requests are refused'));
    this.#options.metrics.setLeader(false);
    await Promise.all([...running.values()].map((c) => c.stop()));
    // Whatever a reconcile left behind (it ignored its abort) can no longer reach the apiserver once the Lease is released.
    term?.abort(new TermEndedError('this replica stopped leading; its requests are refused'));
    this.#options.logger.info({}, 'no longer leading: controllers stopped');
  }

  /** Steps down (releasing the lease), stops the caches and the HTTP server. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#elector) await this.#elector.stop();
    else await this.#endTerm();
    await Promise.all([...this.#informers.values()].map((e) => e.informer.stop()));
    await this.#http?.close();
  }
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
