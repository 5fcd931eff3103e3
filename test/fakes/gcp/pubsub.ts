// A faithful fake of google.pubsub.v1 (Publisher and Subscriber) over gRPC, built from the .proto files the official
// npm client (@google-cloud/pubsub) ships, so every message is the real one. No Pub/Sub emulator can be installed
// here. Semantics as documented: topics, pull subscriptions attached to a topic (a message published before a
// subscription exists is not delivered to it), Pull and bidirectional StreamingPull, leases with the ack deadline
// (the subscription's, or the stream's stream_ack_deadline_seconds), ModifyAckDeadline (0 = nack), Acknowledge,
// redelivery of what is not acknowledged in time (at-least-once: the same message id, a new ack id), ordering keys
// accepted and ignored. Every call carries a bearer token of the identity fake (iam.ts) for a principal granted the
// permission on the resource or its project; codes and messages are Pub/Sub's. Deleting a subscription ends its
// open streams with NOT_FOUND, as the service does.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { GoogleIdentity, Principal } from './iam.ts';

const require = createRequire(import.meta.url);
const protosOf = (pkg: string): string => join(dirname(require.resolve(pkg)), '../protos');

export const PubSubRole = {
  publisher: 'roles/pubsub.publisher',
  subscriber: 'roles/pubsub.subscriber',
  admin: 'roles/pubsub.admin',
} as const;
export type PubSubRoleName = (typeof PubSubRole)[keyof typeof PubSubRole];

const PERMISSIONS: Record<PubSubRoleName, readonly string[]> = {
  [PubSubRole.publisher]: ['pubsub.topics.publish'],
  [PubSubRole.subscriber]: ['pubsub.subscriptions.consume'],
  [PubSubRole.admin]: ['pubsub.topics.publish', 'pubsub.subscriptions.consume', 'pubsub.topics.create', 'pubsub.topics.get', 'pubsub.topics.delete', 'pubsub.topics.attachSubscription', 'pubsub.subscriptions.create', 'pubsub.subscriptions.get', 'pubsub.subscriptions.delete'],
};

/** The shortest and longest ack deadline Pub/Sub accepts (seconds); 10 is the default. */
const MIN_ACK_DEADLINE = 10;
const MAX_ACK_DEADLINE = 600;

interface StoredMessage {
  readonly messageId: string;
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
  readonly publishTime: number;
  readonly orderingKey: string;
}

interface Lease {
  readonly message: StoredMessage;
  deadline: number;
  readonly attempt: number;
  /** The stream it went out on, if any: a closed stream's leases run out like any other. */
  readonly stream: Stream | undefined;
}

interface Stream {
  readonly call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>;
  readonly ackDeadlineSeconds: number;
}

interface StoredSubscription {
  readonly name: string;
  readonly topic: string;
  readonly ackDeadlineSeconds: number;
  /** Messages to deliver, oldest first, with how often each went out before. */
  readonly backlog: { message: StoredMessage; attempts: number }[];
  readonly leases: Map<string, Lease>;
  readonly streams: Set<Stream>;
  readonly grants: Map<string, Set<PubSubRoleName>>;
}

export interface PubSubCall {
  readonly method: string;
  readonly resource: string;
  readonly principal: string | undefined;
  readonly code: grpc.status;
}

export interface FakePubSub {
  /** host:port (plain gRPC on loopback). */
  readonly address: string;
  readonly calls: PubSubCall[];
  count(method: string): number;
  createTopic(name: string): void;
  createSubscription(name: string, topic: string, options?: { ackDeadlineSeconds?: number }): void;
  deleteSubscription(name: string): void;
  /** What a Google service publishes with its own service agent (Secret Manager's notifications): no caller IAM. */
  publishAsService(topic: string, message: { data: Buffer; attributes: Record<string, string> }): string | undefined;
  grant(member: string, role: PubSubRoleName, resource: string): void;
  /** Messages of a subscription not yet acknowledged (waiting or leased). */
  outstanding(subscription: string): number;
  /** Open StreamingPull streams of a subscription. */
  streams(subscription: string): number;
  /** Ends the open StreamingPull streams of a subscription with `code`, as Pub/Sub closes streams from time to time (UNAVAILABLE). */
  closeStreams(subscription: string, code?: grpc.status): number;
  stop(): Promise<void>;
}

class RpcError extends Error {
  readonly code: grpc.status;
  constructor(code: grpc.status, message: string) {
    super(message);
    this.code = code;
  }
}

const timestamp = (ms: number) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });
const notFound = (resource: string) => new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${resource.split('/').pop()}).`);
const denied = () => new RpcError(grpc.status.PERMISSION_DENIED, 'User not authorized to perform this action.');
const TOPIC = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
const SUBSCRIPTION = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/subscriptions\/[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

export async function startFakePubSub(identity: GoogleIdentity, options: { clock?: () => number } = {}): Promise<FakePubSub> {
  const now = options.clock ?? Date.now;
  const definition = await protoLoader.load('google/pubsub/v1/pubsub.proto', {
    includeDirs: [protosOf('@google-cloud/pubsub'), protosOf('google-gax')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { pubsub: { v1: { Publisher: { service: grpc.ServiceDefinition }; Subscriber: { service: grpc.ServiceDefinition } } } };
  };
  const topics = new Map<string, { name: string; subscriptions: Set<string>; grants: Map<string, Set<PubSubRoleName>> }>();
  const subscriptions = new Map<string, StoredSubscription>();
  const projectGrants = new Map<string, Map<string, Set<PubSubRoleName>>>();
  const calls: PubSubCall[] = [];
  let nextMessageId = 1_000_000;

  const projectOf = (name: string) => name.split('/')[1] ?? '';
  const allowed = (principal: Principal, permission: string, resource: string, grants: Map<string, Set<PubSubRoleName>> | undefined) => {
    const has = (g: Map<string, Set<PubSubRoleName>> | undefined) => principal.members.some((m) => [...(g?.get(m) ?? [])].some((role) => PERMISSIONS[role].includes(permission)));
    return has(projectGrants.get(projectOf(resource))) || has(grants);
  };
  const subscriptionFor = (principal: Principal, name: string, permission = 'pubsub.subscriptions.consume'): StoredSubscription => {
    if (!SUBSCRIPTION.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource name given (name=${name}). Refer to https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names for more information.`);
    const sub = subscriptions.get(name);
    // Pub/Sub checks IAM on the resource, and a missing resource has no policy but the project's.
    if (!allowed(principal, permission, name, sub?.grants)) throw denied();
    if (!sub) throw notFound(name);
    return sub;
  };

  /** Returns expired leases to the backlog (redelivery): checked whenever the subscription is touched and by a timer. */
  const expire = (sub: StoredSubscription) => {
    const t = now();
    for (const [ackId, lease] of sub.leases) {
      if (lease.deadline > t) continue;
      sub.leases.delete(ackId);
      sub.backlog.push({ message: lease.message, attempts: lease.attempt });
    }
  };
  const lease = (sub: StoredSubscription, max: number, deadlineSeconds: number, stream: Stream | undefined) => {
    expire(sub);
    const out: { ackId: string; message: unknown; deliveryAttempt: number }[] = [];
    while (out.length < max && sub.backlog.length > 0) {
      const { message, attempts } = sub.backlog.shift()!;
      const ackId = randomUUID();
      sub.leases.set(ackId, { message, deadline: now() + deadlineSeconds * 1000, attempt: attempts + 1, stream });
      out.push({
        ackId,
        message: { data: message.data, attributes: message.attributes, messageId: message.messageId, publishTime: timestamp(message.publishTime), orderingKey: message.orderingKey },
        // Set only with a dead-letter policy; none here.
        deliveryAttempt: 0,
      });
    }
    return out;
  };
  const pump = (sub: StoredSubscription) => {
    for (const stream of sub.streams) {
      const received = lease(sub, 1000, stream.ackDeadlineSeconds, stream);
      if (received.length === 0) return;
      stream.call.write({ receivedMessages: received, subscriptionProperties: { exactlyOnceDeliveryEnabled: false, messageOrderingEnabled: false } });
    }
  };
  const ack = (sub: StoredSubscription, ackIds: readonly string[]) => {
    for (const id of ackIds) sub.leases.delete(id);
  };
  const modify = (sub: StoredSubscription, ackIds: readonly string[], seconds: number) => {
    for (const id of ackIds) {
      const held = sub.leases.get(id);
      if (!held) continue;
      held.deadline = now() + seconds * 1000;
    }
    expire(sub);
  };
  const publish = (topicName: string, messages: readonly { data?: Buffer; attributes?: Record<string, string>; orderingKey?: string }[]): string[] => {
    const topic = topics.get(topicName)!;
    const ids: string[] = [];
    for (const m of messages) {
      const message: StoredMessage = { messageId: String(nextMessageId++), data: Buffer.from(m.data ?? Buffer.alloc(0)), attributes: { ...m.attributes }, publishTime: now(), orderingKey: m.orderingKey ?? '' };
      ids.push(message.messageId);
      for (const subName of topic.subscriptions) subscriptions.get(subName)?.backlog.push({ message, attempts: 0 });
    }
    for (const subName of topic.subscriptions) {
      const sub = subscriptions.get(subName);
      if (sub) pump(sub);
    }
    return ids;
  };
  const timer = setInterval(() => {
    for (const sub of subscriptions.values()) {
      const before = sub.backlog.length;
      expire(sub);
      if (sub.backlog.length > 0 && (sub.backlog.length !== before || sub.streams.size > 0)) pump(sub);
    }
  }, 200);
  timer.unref();

  const createSubscription = (name: string, topicName: string, ackDeadlineSeconds: number) => {
    const topic = topics.get(topicName);
    if (!topic) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${topicName.split('/').pop()}).`);
    if (subscriptions.has(name)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name.split('/').pop()}).`);
    subscriptions.set(name, { name, topic: topicName, ackDeadlineSeconds, backlog: [], leases: new Map(), streams: new Set(), grants: new Map() });
    topic.subscriptions.add(name);
  };
  const deleteSubscription = (name: string) => {
    const sub = subscriptions.get(name);
    if (!sub) return;
    subscriptions.delete(name);
    topics.get(sub.topic)?.subscriptions.delete(name);
    // grpc-js ends a server stream with an error status on its 'error' event.
    for (const stream of sub.streams) stream.call.emit('error', Object.assign(new Error(`Resource not found (resource=${name.split('/').pop()}).`), { code: grpc.status.NOT_FOUND, details: `Resource not found (resource=${name.split('/').pop()}).` }));
    sub.streams.clear();
  };
  const subscriptionMessage = (sub: StoredSubscription) => ({ name: sub.name, topic: sub.topic, ackDeadlineSeconds: sub.ackDeadlineSeconds, messageRetentionDuration: { seconds: '604800', nanos: 0 }, state: 'ACTIVE' });

  type Handler = (request: Record<string, unknown>, principal: Principal) => unknown;
  const unary: Record<string, { resource: (r: Record<string, unknown>) => string; run: Handler }> = {
    CreateTopic: {
      resource: (r) => String(r['name']),
      run(request, principal) {
        const name = String(request['name']);
        if (!TOPIC.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource name given (name=${name}). Refer to https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names for more information.`);
        if (!allowed(principal, 'pubsub.topics.create', name, undefined)) throw denied();
        if (topics.has(name)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name.split('/').pop()}).`);
        topics.set(name, { name, subscriptions: new Set(), grants: new Map() });
        return { name, labels: {} };
      },
    },
    GetTopic: {
      resource: (r) => String(r['topic']),
      run(request, principal) {
        const name = String(request['topic']);
        if (!allowed(principal, 'pubsub.topics.get', name, topics.get(name)?.grants)) throw denied();
        if (!topics.has(name)) throw notFound(name);
        return { name, labels: {} };
      },
    },
    DeleteTopic: {
      resource: (r) => String(r['topic']),
      run(request, principal) {
        const name = String(request['topic']);
        if (!allowed(principal, 'pubsub.topics.delete', name, topics.get(name)?.grants)) throw denied();
        if (!topics.delete(name)) throw notFound(name);
        // Its subscriptions stay, detached from any topic ("_deleted-topic_"), and receive nothing more.
        return {};
      },
    },
    Publish: {
      resource: (r) => String(r['topic']),
      run(request, principal) {
        const name = String(request['topic']);
        const topic = topics.get(name);
        if (!allowed(principal, 'pubsub.topics.publish', name, topic?.grants)) throw denied();
        if (!topic) throw notFound(name);
        const messages = (request['messages'] ?? []) as { data?: Buffer; attributes?: Record<string, string>; orderingKey?: string }[];
        if (messages.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'The value for message_count is too small. You passed 0 in the request, but the minimum value is 1.');
        if (messages.some((m) => (m.data?.length ?? 0) === 0 && Object.keys(m.attributes ?? {}).length === 0)) {
          throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Some messages are empty: a message needs data or at least one attribute.');
        }
        return { messageIds: publish(name, messages) };
      },
    },
    CreateSubscription: {
      resource: (r) => String(r['name']),
      run(request, principal) {
        const name = String(request['name']);
        const topic = String(request['topic']);
        if (!SUBSCRIPTION.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource name given (name=${name}). Refer to https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names for more information.`);
        if (!allowed(principal, 'pubsub.subscriptions.create', name, undefined) || !allowed(principal, 'pubsub.topics.attachSubscription', topic, topics.get(topic)?.grants)) throw denied();
        const requested = Number(request['ackDeadlineSeconds'] ?? 0);
        if (requested !== 0 && (requested < MIN_ACK_DEADLINE || requested > MAX_ACK_DEADLINE)) {
          throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid ack deadline given: ${requested}. The minimum is ${MIN_ACK_DEADLINE} and the maximum is ${MAX_ACK_DEADLINE}.`);
        }
        createSubscription(name, topic, requested === 0 ? MIN_ACK_DEADLINE : requested);
        return subscriptionMessage(subscriptions.get(name)!);
      },
    },
    GetSubscription: {
      resource: (r) => String(r['subscription']),
      run: (request, principal) => subscriptionMessage(subscriptionFor(principal, String(request['subscription']), 'pubsub.subscriptions.get')),
    },
    DeleteSubscription: {
      resource: (r) => String(r['subscription']),
      run(request, principal) {
        deleteSubscription(subscriptionFor(principal, String(request['subscription']), 'pubsub.subscriptions.delete').name);
        return {};
      },
    },
    Pull: {
      resource: (r) => String(r['subscription']),
      run(request, principal) {
        const sub = subscriptionFor(principal, String(request['subscription']));
        const max = Number(request['maxMessages'] ?? 0);
        if (max <= 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'The value for max_messages is too small. You passed 0 in the request, but the minimum value is 1.');
        return { receivedMessages: lease(sub, max, sub.ackDeadlineSeconds, undefined) };
      },
    },
    Acknowledge: {
      resource: (r) => String(r['subscription']),
      run(request, principal) {
        ack(subscriptionFor(principal, String(request['subscription'])), (request['ackIds'] ?? []) as string[]);
        return {};
      },
    },
    ModifyAckDeadline: {
      resource: (r) => String(r['subscription']),
      run(request, principal) {
        const seconds = Number(request['ackDeadlineSeconds'] ?? 0);
        if (seconds < 0 || seconds > MAX_ACK_DEADLINE) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid ack deadline given: ${seconds}. The minimum is 0 and the maximum is ${MAX_ACK_DEADLINE}.`);
        const sub = subscriptionFor(principal, String(request['subscription']));
        modify(sub, (request['ackIds'] ?? []) as string[], seconds);
        pump(sub);
        return {};
      },
    },
  };

  const authenticate = (metadata: grpc.Metadata) => {
    const authorization = metadata.get('authorization')[0];
    return identity.authenticate(typeof authorization === 'string' ? authorization : undefined);
  };
  const implementation = (service: grpc.ServiceDefinition): grpc.UntypedServiceImplementation => {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [method, def] of Object.entries(service)) {
      const name = def.originalName ?? method;
      const rpc = def.path.split('/').pop() ?? method;
      if (rpc === 'StreamingPull') {
        impl[name] = streamingPull;
        continue;
      }
      impl[name] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const handler = unary[rpc];
        const resource = handler?.resource(call.request) ?? '';
        const fail = (code: grpc.status, message: string, principal?: Principal) => {
          calls.push({ method: rpc, resource, principal: principal?.label, code });
          callback({ code, details: message, message, metadata: new grpc.Metadata() } as grpc.ServiceError);
        };
        const who = authenticate(call.metadata);
        if ('refused' in who) return fail(grpc.status.UNAUTHENTICATED, who.refused);
        if (!handler) return fail(grpc.status.UNIMPLEMENTED, `Method ${rpc} is not implemented by the fake.`, who.principal);
        try {
          const result = handler.run(call.request, who.principal);
          calls.push({ method: rpc, resource, principal: who.principal.label, code: grpc.status.OK });
          callback(null, result);
        } catch (err) {
          if (err instanceof RpcError) return fail(err.code, err.message, who.principal);
          return fail(grpc.status.INTERNAL, err instanceof Error ? err.message : String(err), who.principal);
        }
      };
    }
    return impl;
  };

  function streamingPull(call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>): void {
    let stream: Stream | undefined;
    let sub: StoredSubscription | undefined;
    const end = (code: grpc.status, message: string) => {
      calls.push({ method: 'StreamingPull', resource: sub?.name ?? '', principal: undefined, code });
      call.emit('error', Object.assign(new Error(message), { code, details: message }));
    };
    const who = authenticate(call.metadata);
    if ('refused' in who) return end(grpc.status.UNAUTHENTICATED, who.refused);
    call.on('data', (request: Record<string, unknown>) => {
      try {
        if (!stream) {
          // The first request names the subscription and the stream's ack deadline.
          const deadline = Number(request['streamAckDeadlineSeconds'] ?? 0);
          if (deadline < MIN_ACK_DEADLINE || deadline > MAX_ACK_DEADLINE) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid stream_ack_deadline_seconds: ${deadline}.`);
          sub = subscriptionFor(who.principal, String(request['subscription']));
          stream = { call, ackDeadlineSeconds: deadline };
          sub.streams.add(stream);
          calls.push({ method: 'StreamingPull', resource: sub.name, principal: who.principal.label, code: grpc.status.OK });
        } else if (request['subscription']) {
          throw new RpcError(grpc.status.INVALID_ARGUMENT, 'subscription must only be specified in the initial request.');
        }
        const open = sub!;
        if (subscriptions.get(open.name) !== open) throw notFound(open.name);
        ack(open, (request['ackIds'] ?? []) as string[]);
        const modifyIds = (request['modifyDeadlineAckIds'] ?? []) as string[];
        const modifySeconds = (request['modifyDeadlineSeconds'] ?? []) as number[];
        if (modifyIds.length !== modifySeconds.length) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'modify_deadline_ack_ids and modify_deadline_seconds must have the same length.');
        modifyIds.forEach((id, i) => modify(open, [id], Number(modifySeconds[i])));
        pump(open);
      } catch (err) {
        if (err instanceof RpcError) return end(err.code, err.message);
        end(grpc.status.INTERNAL, String(err));
      }
    });
    const close = () => {
      if (stream && sub) sub.streams.delete(stream);
    };
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('close', close);
  }

  const server = new grpc.Server();
  server.addService(loaded.google.pubsub.v1.Publisher.service, implementation(loaded.google.pubsub.v1.Publisher.service));
  server.addService(loaded.google.pubsub.v1.Subscriber.service, implementation(loaded.google.pubsub.v1.Subscriber.service));
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));

  return {
    address: `127.0.0.1:${port}`,
    calls,
    count: (method) => calls.filter((c) => c.method === method && c.code === grpc.status.OK).length,
    createTopic(name) {
      if (!topics.has(name)) topics.set(name, { name, subscriptions: new Set(), grants: new Map() });
    },
    createSubscription: (name, topic, opts) => createSubscription(name, topic, opts?.ackDeadlineSeconds ?? MIN_ACK_DEADLINE),
    deleteSubscription,
    publishAsService: (topic, message) => (topics.has(topic) ? publish(topic, [message])[0] : undefined),
    grant(member, role, resource) {
      const grants = /^projects\/[^/]+$/.test(resource)
        ? (projectGrants.get(resource.split('/')[1]!) ?? projectGrants.set(resource.split('/')[1]!, new Map()).get(resource.split('/')[1]!)!)
        : (subscriptions.get(resource)?.grants ?? topics.get(resource)?.grants);
      if (!grants) throw new Error(`fake: no resource ${resource}`);
      (grants.get(member) ?? grants.set(member, new Set()).get(member)!).add(role);
    },
    outstanding: (name) => {
      const sub = subscriptions.get(name);
      return sub ? sub.backlog.length + sub.leases.size : 0;
    },
    streams: (name) => subscriptions.get(name)?.streams.size ?? 0,
    closeStreams(name, code = grpc.status.UNAVAILABLE) {
      const open = [...(subscriptions.get(name)?.streams ?? [])];
      for (const { call } of open) call.emit('error', Object.assign(new Error('The service was unable to fulfill your request.'), { code, details: 'The service was unable to fulfill your request.' }));
      return open.length;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000).unref();
      }),
  };
}
