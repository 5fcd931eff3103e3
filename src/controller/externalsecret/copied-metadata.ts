// The ExternalSecret's labels and annotations that go to its Secret when there is no template (ESO's setMetadata
// copies them all). Two kinds are never copied: kubectl's last-applied-configuration (it would put the whole
// ExternalSecret manifest on the Secret and make `kubectl apply` of the Secret misbehave) and our own
// secret-relay.dev/ keys (they steer the operator; on the Secret they would read as our bookkeeping).
// Annotations under kubernetes.io/service-account. are copied like any other, so that buildDesiredSecret
// refuses them (Ready=False naming the rule) rather than the Secret silently differing from what was asked.

const NEVER_COPIED = new Set(['kubectl.kubernetes.io/last-applied-configuration']);
const OWN_PREFIX = 'secret-relay.dev/';

function copyable(map: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) {
    if (NEVER_COPIED.has(key) || key.startsWith(OWN_PREFIX)) continue;
    out[key] = value;
  }
  return out;
}

export function copiedMetadata(metadata: {
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}): { labels: Record<string, string>; annotations: Record<string, string> } {
  return { labels: copyable(metadata.labels), annotations: copyable(metadata.annotations) };
}
