// The contract of a provider's test bed: a real server or a faithful fake started on free loopback ports, seeded
// with a sample secret, that a user can point a SecretStore at without a cloud account. `npm run testbed -- NAME`
// (scripts/testbed.ts) loads test/testbeds/NAME.ts and calls its `startTestbed`.

export interface TestbedOptions {
  /** The cluster whose ServiceAccount tokens the token fakes trust (its /openid/v1/jwks and issuer): $KUBECONFIG. */
  readonly kubeconfigPath: string | undefined;
  /** The namespace the printed manifests use. Default `default`. */
  readonly namespace: string;
  readonly log: (line: string) => void;
}

export interface RunningTestbed {
  /** Name → URL or host:port, printed one per line. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** A ready-to-apply YAML stream: the SecretStore (workload identity where the provider has it), an ExternalSecret reading the sample, and what they need. */
  readonly manifests: string;
  /** How to add or change secrets while it runs (commands a user can paste). */
  readonly howToAddSecrets: string;
  /** The command that runs the operator against it, when the default (trust loopback endpoints) is not enough. */
  readonly runOperator?: string;
  stop(): Promise<void>;
}

export type StartTestbed = (options: TestbedOptions) => Promise<RunningTestbed>;

export const MANIFESTS_BEGIN = '--- testbed manifests begin';
export const MANIFESTS_END = '--- testbed manifests end';
