// Kubernetes Events (events.k8s.io/v1) about our objects. Identical events for one object are folded into an
// event series instead of a new object per retry, so a failing ExternalSecret does not flood etcd.
import type { KubeClient } from './kube-client.ts';
import type { Clock } from '../util/clock.ts';
import { createObject, microTime, patchObject, PatchType, type ResourceLocation } from './resources.ts';

export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
  readonly uid: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Never throws: an Event that cannot be written is logged, it must not fail a reconcile. */
  record(target: EventTarget, type: EventType, reason: string, note: string): Promise<void>;
}

export interface EventRecorderOptions {
  readonly kube: Pick<KubeClient, 'events'>;
  readonly clock: Clock;
  readonly controller: string;
  readonly instance: string;
  /** Namespace for events about cluster-scoped objects. */
  readonly clusterEventNamespace: string;
  readonly onError?: (err: unknown) => void;
  /** How long an identical event is folded into a series instead of created anew. */
  readonly seriesWindowMs?: number;
  /** Bound on the number of remembered series, so memory stays flat. */
  readonly maxSeries?: number;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const windowMs = options.seriesWindowMs ?? 10 * 60_000;
  const maxSeries = options.maxSeries ?? 4096;
  const series = new Map<string, Series>();
  let sequence = 0;
  const note = (text: string) => (text.length > 1024 ? `${text.slice(0, 1021)}...` : text);
  const events = (namespace: string, name?: string): ResourceLocation => ({ group: 'events.k8s.io', version: 'v1', plural: 'events', namespace, name });

  return {
    async record(target, type, reason, text) {
      const namespace = target.namespace ?? options.clusterEventNamespace;
      const key = `${target.uid}\u0000${type}\u0000${reason}\u0000${text}`;
      const now = options.clock.now();
      try {
        const known = series.get(key);
        if (known && now - known.lastSeen < windowMs) {
          known.count += 1;
          known.lastSeen = now;
          await patchObject(options.kube.events, events(known.namespace, known.name), PatchType.Merge, { series: { count: known.count, lastObservedTime: microTime(now) } });
          return;
        }
        const created = await createObject<{ metadata?: { name?: string } }>(options.kube.events, events(namespace), {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            // Named like client-go's recorder (<object>.<time in hex>): generateName cannot end in '.'.
            metadata: { name: `${target.name.slice(0, 200)}.${(now * 1e6 + (sequence++ % 1e6)).toString(16)}`, namespace },
            eventTime: microTime(now),
            type,
            reason,
            action: reason,
            note: note(text),
            reportingController: options.controller,
            reportingInstance: options.instance,
            regarding: {
              apiVersion: target.apiVersion,
              kind: target.kind,
              name: target.name,
              uid: target.uid,
              ...(target.namespace ? { namespace: target.namespace } : {}),
            },
        });
        if (series.size >= maxSeries) series.delete(series.keys().next().value!);
        series.set(key, { name: created.metadata!.name!, namespace, count: 1, firstSeen: now, lastSeen: now });
      } catch (err) {
        series.delete(key);
        options.onError?.(err);
      }
    },
  };
}
