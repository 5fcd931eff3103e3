// The operator's listener for Vault / OpenBao socket audit devices (--vault-audit-listen): the server connects to
// it and streams one JSON audit entry per line. One listener serves every vault store with a change feed; it runs
// while at least one feed subscribes. The address is the operator's (a flag), never a store's: a tenant cannot make
// the operator listen anywhere. Lines are bounded, and only paths, mounts and operations are read (./audit-events.ts).
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../log.ts';
import { kvChangeFromAuditLine, type KvChange } from './audit-events.ts';

/** An audit line longer than this (a huge response) is skipped: a KV write's entry is a few KiB. */
export const MAX_AUDIT_LINE_BYTES = 1024 * 1024;

export interface AuditStream {
  /** Where it listens (host:port), for status. */
  readonly address: string;
  /** Listens (if not yet) and calls `listener` for each KV change; rejects when it cannot listen. */
  subscribe(listener: (change: KvChange) => void): Promise<() => void>;
  /**
   * Listens from now on, whether or not a feed subscribes: Vault and OpenBao test a socket audit device when they
   * create it (at start, from their configuration) and refuse to start when nothing answers.
   */
  listen(): Promise<void>;
  close(): void;
}

export function createAuditStream(options: { readonly host: string; readonly port: number; readonly logger: Pick<Logger, 'warn' | 'info'> }): AuditStream {
  const listeners = new Set<(change: KvChange) => void>();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listening: Promise<void> | undefined;
  let pinned = false;

  function accept(socket: Socket): void {
    sockets.add(socket);
    let buffered = '';
    let skipping = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (listeners.size === 0) {
        socket.resetAndDestroy();
        return;
      }
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (skipping) {
          skipping = false;
          continue;
        }
        const change = kvChangeFromAuditLine(line);
        if (change) for (const listener of listeners) listener(change);
      }
      if (buffered.length > MAX_AUDIT_LINE_BYTES) {
        buffered = '';
        skipping = true;
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  }

  function start(): Promise<void> {
    listening ??= new Promise<void>((resolve, reject) => {
      const s = createServer(accept);
      s.once('error', (err) => {
        listening = undefined;
        reject(err);
      });
      s.listen(options.port, options.host, () => {
        server = s;
        options.logger.info({ address: `${options.host}:${options.port}` }, 'listening for Vault audit entries');
        resolve();
      });
    });
    return listening;
  }

  function stop(): void {
    server?.close();
    for (const socket of sockets) socket.destroy();
    server = undefined;
    listening = undefined;
  }

  return {
    address: `${options.host}:${options.port}`,
    async subscribe(listener) {
      await start();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0) return;
        if (pinned) for (const socket of sockets) socket.resetAndDestroy();
        else stop();
      };
    },
    async listen() {
      pinned = true;
      await start();
    },
    close() {
      pinned = false;
      listeners.clear();
      stop();
    },
  };
}
