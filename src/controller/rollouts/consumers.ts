// How a pod template reads a Secret — pure. Environment variables (env[].valueFrom.secretKeyRef,
// envFrom[].secretRef) are read once when the container starts, and the kubelet never updates a subPath mount:
// those consumers see a new value only in a new pod. A whole-volume mount (volumes[].secret, or a projected
// volume's secret source) gets new files from the kubelet within its sync period, so it need not restart.

/** The parts of a pod spec that can name a Secret; the k8s V1PodSpec fits. */
export interface PodSpecView {
  readonly containers?: readonly ContainerView[] | undefined;
  readonly initContainers?: readonly ContainerView[] | undefined;
  readonly volumes?: readonly VolumeView[] | undefined;
}

export interface ContainerView {
  readonly name: string;
  readonly env?: readonly { readonly name: string; readonly valueFrom?: { readonly secretKeyRef?: { readonly name?: string | undefined } | undefined } | undefined }[] | undefined;
  readonly envFrom?: readonly { readonly secretRef?: { readonly name?: string | undefined } | undefined }[] | undefined;
  readonly volumeMounts?: readonly { readonly name: string; readonly subPath?: string | undefined; readonly subPathExpr?: string | undefined }[] | undefined;
}

export interface VolumeView {
  readonly name: string;
  readonly secret?: { readonly secretName?: string | undefined } | undefined;
  readonly projected?: { readonly sources?: readonly { readonly secret?: { readonly name?: string | undefined } | undefined }[] | undefined } | undefined;
}

/** One way a container reads the Secret. `volume` is a whole-volume mount; the others need a new pod. */
export type SecretUse =
  | { readonly how: 'env'; readonly container: string; readonly variable: string }
  | { readonly how: 'envFrom'; readonly container: string }
  | { readonly how: 'subPath'; readonly container: string; readonly volume: string }
  | { readonly how: 'volume'; readonly container: string; readonly volume: string };

/** Every use of Secret `secretName` in a pod template, containers then init containers, in spec order. */
export function secretUses(spec: PodSpecView | undefined, secretName: string): SecretUse[] {
  if (!spec) return [];
  const volumes = new Set(
    (spec.volumes ?? [])
      .filter((v) => v.secret?.secretName === secretName || (v.projected?.sources ?? []).some((s) => s.secret?.name === secretName))
      .map((v) => v.name),
  );
  const uses: SecretUse[] = [];
  for (const container of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const env of container.env ?? []) {
      if (env.valueFrom?.secretKeyRef?.name === secretName) uses.push({ how: 'env', container: container.name, variable: env.name });
    }
    for (const from of container.envFrom ?? []) {
      if (from.secretRef?.name === secretName) uses.push({ how: 'envFrom', container: container.name });
    }
    for (const mount of container.volumeMounts ?? []) {
      if (!volumes.has(mount.name)) continue;
      const subPath = (mount.subPath ?? '') !== '' || (mount.subPathExpr ?? '') !== '';
      uses.push({ how: subPath ? 'subPath' : 'volume', container: container.name, volume: mount.name });
    }
  }
  return uses;
}

/** Does any use need a new pod to see a change (env, envFrom, subPath)? */
export function needsNewPod(uses: readonly SecretUse[]): boolean {
  return uses.some((u) => u.how !== 'volume');
}

/** A short description for Events: `env DB_PASSWORD in app`, `subPath mount of creds in app` … */
export function describeUse(use: SecretUse): string {
  switch (use.how) {
    case 'env':
      return `env ${use.variable} in ${use.container}`;
    case 'envFrom':
      return `envFrom in ${use.container}`;
    case 'subPath':
      return `subPath mount of volume ${use.volume} in ${use.container}`;
    case 'volume':
      return `volume ${use.volume} in ${use.container}`;
  }
}
