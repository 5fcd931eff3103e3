// Reading the test operator's Prometheus endpoint, shared by the suites that assert on its metrics.
import type { TestOperator } from './operator.ts';

/** The operator's whole metrics page (for the leak scans). */
export async function operatorMetricsText(op: TestOperator): Promise<string> {
  return (await fetch(`http://127.0.0.1:${op.operator.metricsPort}/metrics`)).text();
}

/** The sum of every sample of `name` (any label set, or none) whose labels include all of `labels`. */
export async function operatorMetric(op: TestOperator, name: string, labels: Record<string, string>): Promise<number> {
  const text = await operatorMetricsText(op);
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** Nearest-rank percentile `p` (0–100) of an ascending, non-empty list. */
export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
