// ESO's filterCertChain and certSANs (runtime/template/v2/pem.go, pem_chain.go), with the same results: the chain
// is ordered leaf → intermediates → root by matching each certificate's AuthorityKeyId to another's SubjectKeyId
// (no signature or trust check, as in ESO), and the SANs come grouped as Go lists them: DNS names, IP addresses,
// emails, URIs.
import { FilterError } from './errors.ts';
import { decodePemBlocks, derToPem } from './pem.ts';
import { parseCertificate, type CertificateInfo } from './x509.ts';

/**
 * Certificates one filter input may hold. Real chains have 2–5 (ACM exports leaf, intermediates and root);
 * ordering is quadratic in the count and each certificate is parsed, so a hostile bundle of thousands would take the
 * worker's time from the other templates of its namespace. 64 is well above any chain and costs about a millisecond.
 */
export const MAX_CHAIN_CERTIFICATES = 64;

const EMPTY = new Uint8Array(0);

/** Go's bytes.Equal, where an absent key id (nil) equals an empty one. */
function sameKeyId(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return Buffer.from(a ?? EMPTY).equals(b ?? EMPTY);
}

function certificates(input: string, filter: string): CertificateInfo[] {
  return decodePemBlocks(input, MAX_CHAIN_CERTIFICATES, filter).blocks.map((block) => parseCertificate(block.bytes, filter));
}

/** fetchX509CertChains: the certificates ordered leaf first; refuses disjunct certificates, no leaf, a cycle. */
function orderedChain(input: string, filter: string): CertificateInfo[] {
  const certs = certificates(input, filter);
  const parent = new Array<number | undefined>(certs.length).fill(undefined);
  const isParent = new Array<boolean>(certs.length).fill(false);
  certs.forEach((cert, i) => {
    const j = certs.findIndex((other, index) => index !== i && sameKeyId(cert.authorityKeyId, other.subjectKeyId));
    if (j >= 0) {
      isParent[j] = true;
      parent[i] = j;
    }
  });
  const leaves = certs.map((_, i) => i).filter((i) => !isParent[i]);
  if (leaves.length > 1) throw new FilterError(`${filter}: found multiple leaf or disjunct certificates`);
  if (leaves.length === 0) throw new FilterError(`${filter}: no leaf certificate found`);
  const chain: CertificateInfo[] = [];
  for (let at: number | undefined = leaves[0]; at !== undefined; at = parent[at]) {
    if (chain.length >= certs.length) throw new FilterError(`${filter}: constructing the chain resulted in a cycle`);
    chain.push(certs[at]!);
  }
  return chain;
}

function isRoot(cert: CertificateInfo): boolean {
  return cert.authorityKeyId === undefined || sameKeyId(cert.authorityKeyId, cert.subjectKeyId);
}

/**
 * `leaf`, `intermediate` or `root` of a PEM chain, as PEM; '' when the chain has none (a self-signed leaf is a
 * root, not a leaf), and '' for any other type name, as in ESO.
 */
export function certChain(input: string, type: string): string {
  const filter = 'cert_chain';
  const chain = orderedChain(input, filter);
  if (type === 'leaf') {
    const leaf = chain[0]!;
    return leaf.authorityKeyId !== undefined && !sameKeyId(leaf.authorityKeyId, leaf.subjectKeyId) ? derToPem('CERTIFICATE', leaf.raw) : '';
  }
  if (type === 'intermediate') {
    let out = '';
    for (const cert of chain.slice(1)) {
      if (isRoot(cert)) break;
      out += derToPem('CERTIFICATE', cert.raw);
    }
    return out;
  }
  if (type === 'root') {
    const root = chain[chain.length - 1]!;
    return isRoot(root) ? derToPem('CERTIFICATE', root.raw) : '';
  }
  return '';
}

/** The SANs of the first certificate of a PEM text. */
export function certSans(input: string): string[] {
  const filter = 'cert_sans';
  // certSANs first drops the text before the first BEGIN (even on the same line), then decodes one block; the
  // count limit still bounds the scan.
  const begin = input.indexOf('-----BEGIN');
  const first = decodePemBlocks(begin < 0 ? input : input.slice(begin), MAX_CHAIN_CERTIFICATES, filter).blocks[0];
  if (first === undefined) throw new FilterError(`${filter}: the input holds no PEM block`);
  const cert = parseCertificate(first.bytes, filter);
  return [...cert.dnsNames, ...cert.ipAddresses, ...cert.emailAddresses, ...cert.uris];
}
