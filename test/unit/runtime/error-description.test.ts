// Errors the runtime logs are described by status code, reason and the server's message only: never the rest of
// the answer's body (a Status's details may quote a request's values, as an admission webhook's do, and a body that
// is not a Status may be anything), which would bypass the logger's redaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Controller } from '../../../src/controller/runtime/controller.ts';
import { WorkQueue } from '../../../src/controller/runtime/work-queue.ts';
import { LeaderElector } from '../../../src/controller/runtime/leader-election.ts';
import type { LeaseStore } from '../../../src/controller/runtime/leader-election.ts';
import { describeKubeError } from '../../../src/k8s/describe-error.ts';
import { KubeApiError } from '../../../src/k8s/kube-client.ts';
import { FakeTime, settle } from './fake-time.ts';

const leaked = 'hunter2-secret-value';

/** An admission denial whose Status details quote a value, as a webhook's may. */
function admissionDenial(): KubeApiError {
  return new KubeApiError(403, {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message: 'admission webhook "policy.example.com" denied the request',
    reason: 'Forbidden',
    details: { causes: [{ message: `value ${leaked} is not allowed` }] },
    code: 403,
  });
}

class RecordingLogger {
  readonly lines: string[] = [];
  info(obj: object, msg: string): void {
    this.lines.push(`${msg} ${JSON.stringify(obj)}`);
  }
  warn(obj: object, msg: string): void {
    this.lines.push(`${msg} ${JSON.stringify(obj)}`);
  }
}

test('describeKubeError: status code, reason and the server message; never the rest of the body', () => {
  const text = describeKubeError(admissionDenial());
  assert.equal(text, 'Kubernetes API 403 Forbidden: admission webhook "policy.example.com" denied the request');
  // A body that is not a Status (a proxy's page): the code and a short message, never the page.
  const notStatus = describeKubeError(new KubeApiError(502, `<html>${leaked}</html>`));
  assert.equal(notStatus, 'Kubernetes API 502: Bad Gateway');
  assert.doesNotMatch(notStatus, new RegExp(`${leaked}|<html>`));
  assert.equal(describeKubeError(new TypeError('fetch failed')), 'TypeError: fetch failed');
});

test('a failed reconcile is logged without the API error body', async () => {
  const time = new FakeTime();
  const logger = new RecordingLogger();
  const queue = new WorkQueue({ clock: time, timers: time, random: () => 0, rateLimit: { qps: Infinity, burst: 1 } });
  const controller = new Controller({ name: 'test', queue, clock: time, timers: time, logger, reconcile: async () => Promise.reject(admissionDenial()) });
  controller.start();
  queue.add('ns/a');
  await settle();
  await controller.stop();
  const failure = logger.lines.find((l) => l.startsWith('reconcile failed'));
  assert.ok(failure, logger.lines.join('\n'));
  assert.match(failure, /403 Forbidden: admission webhook/);
  assert.doesNotMatch(failure, new RegExp(leaked));
});

test('a failed lease write is logged without the API error body', async () => {
  const time = new FakeTime();
  const logger = new RecordingLogger();
  const store: LeaseStore = {
    get: async () => Promise.reject(admissionDenial()),
    create: async () => Promise.reject(admissionDenial()),
    replace: async () => Promise.reject(admissionDenial()),
  };
  const elector = new LeaderElector({
    store, namespace: 'ns', name: 'lease', identity: 'me', clock: time, timers: time, random: () => 0, logger,
    onStartedLeading: () => {}, onStoppedLeading: () => {},
  });
  elector.start();
  await settle();
  await elector.stop();
  const failure = logger.lines.find((l) => l.startsWith('could not read or write the lease'));
  assert.ok(failure, logger.lines.join('\n'));
  assert.match(failure, /403 Forbidden: admission webhook/);
  assert.doesNotMatch(failure, new RegExp(leaked));
});
