// The worker side of the sandbox (sandbox.ts): one thread of the pool, running one piece of an ExternalSecret's
// work at a time. liquidjs and node-forge load here with the first template that needs them, as on the main
// thread before; the main thread never loads them.
import { parentPort } from 'node:worker_threads';
import { createTemplateEngine } from '../../templates/engine.ts';
import { serveTasks } from '../../util/worker-pool.ts';
import { runTask, serialiseSandboxError, type SandboxTask } from './sandbox.ts';

if (parentPort === null) throw new Error('sandbox-worker.ts runs as a worker thread of the sandbox pool');
const engine = createTemplateEngine();
serveTasks(parentPort, (task) => runTask(engine, task as SandboxTask), serialiseSandboxError);
