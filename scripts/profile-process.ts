// A CPU profile of a Node process that is already running — a test file that lingers after its tests, an operator
// that spins — without restarting it with --cpu-prof (which writes only when the process exits, so never for one
// that hangs). SIGUSR1 opens the process's inspector on loopback (Node's documented behaviour); the profiler runs
// on V8 interrupts, so it samples a main thread that never returns to its event loop too. Prints the functions
// with the most self time and the process's active resources, and writes the .cpuprofile (Chrome DevTools opens it).
// The inspector's port is found among the ports the process listens on (/proc), so one started with
// --inspect-port=0, or while 9229 is taken by another, is found too.
//
//   node scripts/profile-process.ts PID [seconds=10] [out=.cache/profiles/PID-<time>.cpuprofile]
//
// Only for processes of your own on this machine: the inspector lets whoever connects run code in the process.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where Node's inspector listens unless told otherwise (--inspect-port). */
const DEFAULT_INSPECTOR_PORTS = [9229, 9230, 9231, 9232, 9233];

/** The loopback TCP ports `pid` listens on, from /proc (Linux); [] elsewhere. */
function listeningPorts(pid: number): number[] {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      })();
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    }
    const ports: number[] = [];
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address (hex ip:port) … st (0A = LISTEN) … inode
        if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) ports.push(parseInt(fields[1]!.split(':')[1]!, 16));
      }
    }
    return ports;
  } catch {
    return [];
  }
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node scripts/profile-process.ts PID [seconds=10] [out.cpuprofile]\n`);
  process.exit(2);
}

/** One DevTools protocol connection: call(method, params) → result. */
async function connect(url: string): Promise<{ call(method: string, params?: object): Promise<Record<string, unknown>>; close(): void }> {
  const socket = new WebSocket(url);
  const waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  let next = 0;
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : waiting.get(message.id);
    if (!waiter) return;
    waiting.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result ?? {});
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        waiting.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** The inspector of `pid`: SIGUSR1 opens it on the first free port from 9229; each candidate is asked its pid. */
async function inspectorOf(pid: number): Promise<Awaited<ReturnType<typeof connect>>> {
  // SIGUSR1 ends a process that is not Node (its default action): refuse anything else where /proc tells.
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync(cmdline) && basename(readFileSync(cmdline, 'utf8').split('\0')[0] ?? '') !== 'node') {
    throw new Error(`process ${pid} is not node (${readFileSync(cmdline, 'utf8').split('\0').join(' ').slice(0, 120)}); SIGUSR1 would end it`);
  }
  process.kill(pid, 'SIGUSR1');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const port of new Set([...listeningPorts(pid), ...DEFAULT_INSPECTOR_PORTS])) {
      let targets: Array<{ webSocketDebuggerUrl?: string }>;
      try {
        targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(1000) })).json()) as typeof targets;
      } catch {
        continue;
      }
      for (const target of targets) {
        if (!target.webSocketDebuggerUrl) continue;
        const session = await connect(target.webSocketDebuggerUrl).catch(() => undefined);
        if (!session) continue;
        const answer: Record<string, unknown> = await session.call('Runtime.evaluate', { expression: 'process.pid' }).catch(() => ({}));
        if ((answer['result'] as { value?: unknown } | undefined)?.value === pid) return session;
        session.close();
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`process ${pid} opened no inspector within 10 s (its ports: ${listeningPorts(pid).join(', ') || 'none found'})`);
}

/** Self time per function, most first. */
export function selfTimes(profile: Profile): Array<{ readonly ms: number; readonly where: string }> {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = `${functionName || '(anonymous)'} ${url.replace(/^file:\/\/.*?\/(src|test|node_modules|scripts)\//, '$1/')}${lineNumber >= 0 ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(where, (byFunction.get(where) ?? 0) + (byNode.get(node.id) ?? 0) / 1000);
  }
  return [...byFunction].map(([where, ms]) => ({ ms, where })).sort((a, b) => b.ms - a.ms);
}

async function main(): Promise<void> {
  const [pidText, secondsText = '10', outArg] = process.argv.slice(2);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) usage(`not a process id: ${pidText ?? '(none)'}`);
  const seconds = Number(secondsText);
  if (!(seconds > 0)) usage(`not a number of seconds: ${secondsText}`);
  const out = outArg ?? join('.cache', 'profiles', `${pid}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  const session = await inspectorOf(pid);
  try {
    await session.call('Profiler.enable');
    await session.call('Profiler.start');
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = (await session.call('Profiler.stop')) as { profile: Profile };
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(profile));
    const resources = await session.call('Runtime.evaluate', { expression: 'JSON.stringify(process.getActiveResourcesInfo())' });
    const times = selfTimes(profile);
    const total = times.reduce((sum, t) => sum + t.ms, 0);
    process.stdout.write(`process ${pid}: ${total.toFixed(0)} ms sampled over ${seconds} s; self time by function:\n`);
    for (const { ms, where } of times.slice(0, 25)) process.stdout.write(`${ms.toFixed(0).padStart(8)} ms  ${where}\n`);
    process.stdout.write(`active resources: ${String((resources['result'] as { value?: unknown } | undefined)?.value ?? '(unknown)')}\nprofile: ${out}\n`);
  } finally {
    session.close();
  }
}

if (import.meta.main) await main();
