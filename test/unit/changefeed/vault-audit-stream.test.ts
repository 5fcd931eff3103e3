// The audit listener with several replicas: a Vault / OpenBao socket audit device keeps one TCP connection, which a
// Service may route to a replica that does not lead (no feed subscribes there). That replica must not keep it, so
// the server reconnects and the Service picks again until the connection lands on the leader, which keeps it.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { createAuditStream, type AuditStream } from '../../../src/providers/vault/audit-stream.ts';
import { createLogger } from '../../../src/log.ts';
import { freePort } from '../../support/server-process.ts';

const logger = createLogger({ level: 'silent' });
const streams: AuditStream[] = [];
after(() => streams.forEach((s) => s.close()));

async function listening(): Promise<{ stream: AuditStream; port: number }> {
  const port = await freePort();
  const stream = createAuditStream({ host: '127.0.0.1', port, logger });
  streams.push(stream);
  await stream.listen();
  return { stream, port };
}

const entry = (id: string) => JSON.stringify({ time: '2026-12-06T05:16:04Z', type: 'response', request: { id, operation: 'update', mount_point: 'secret/', mount_type: 'kv', namespace: { id: 'root' }, path: 'secret/data/team/app' }, response: {} });

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** OpenBao's socket audit device (SocketSink): one connection, opened on the first write and again after it broke. */
function socketAuditDevice(route: () => number) {
  let socket: Socket | undefined;
  let open = false;
  const ports: number[] = [];
  after(() => socket?.destroy());
  return {
    ports,
    isOpen: () => open,
    async write(line: string): Promise<void> {
      if (!open) {
        const port = route();
        ports.push(port);
        socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => resolve(s)).once('error', reject);
        });
        open = true;
        socket.on('error', () => {});
        socket.on('close', () => (open = false));
      }
      socket!.write(`${line}\n`);
    },
  };
}

test('a connection routed to a replica that does not lead is reset; the server reconnects and the leader keeps it', async () => {
  const follower = await listening();
  const leader = await listening();
  const atLeader: string[] = [];
  await leader.stream.subscribe((change) => atLeader.push(change.id));
  let next = 0;
  const device = socketAuditDevice(() => [follower.port, leader.port][next++ % 2]!);

  await device.write(entry('r-1'));
  await waitFor('the replica that does not lead closed the connection', () => !device.isOpen());
  await device.write(entry('r-2'));
  await device.write(entry('r-3'));
  await waitFor('the leader received the entries written after the reconnect', () => atLeader.includes('r-3'));
  assert.deepEqual(atLeader, ['r-2', 'r-3']);
  assert.deepEqual(device.ports, [follower.port, leader.port], 'one reconnect, then the leader keeps the connection');
  assert.ok(device.isOpen());
});

test('the end of a leadership term resets the connection; the listener stays up and the next term receives entries', async () => {
  const replica = await listening();
  const received: string[] = [];
  const unsubscribe = await replica.stream.subscribe((change) => received.push(change.id));
  const device = socketAuditDevice(() => replica.port);
  await device.write(entry('t-1'));
  await waitFor('the first term received the entry', () => received.includes('t-1'));

  unsubscribe();
  await waitFor('the connection was reset when the term ended', () => !device.isOpen());

  await replica.stream.subscribe((change) => received.push(change.id));
  await device.write(entry('t-2'));
  await waitFor('the next term received the entry', () => received.includes('t-2'));
  assert.deepEqual(device.ports, [replica.port, replica.port]);
});
