// PKCS#12 (.p12/.pfx) bundles into PEM. node:crypto cannot read PKCS#12, so node-forge (pure JavaScript)
// decrypts the bags; keys and certificates leave it as DER and are re-encoded here, so EC keys and
// certificates (which forge itself cannot model) work too. Keys come out as PKCS#8 ("PRIVATE KEY").
import { createRequire } from 'node:module';
import { FilterError } from './errors.ts';
import { derToPem } from './pem.ts';
import { checkPkcs12Iterations, guardForgeDerivations, IterationLimitError } from './pkcs12-limits.ts';

/** The slice of node-forge used here (it ships no types). */
interface ForgeAsn1 {
  readonly __forgeAsn1: true;
}
interface ForgeBag {
  readonly key?: unknown;
  readonly cert?: unknown;
  readonly asn1?: ForgeAsn1;
}
interface Forge {
  asn1: {
    fromDer(bytes: string, options?: { strict?: boolean; parseAllBytes?: boolean }): ForgeAsn1;
    toDer(asn1: ForgeAsn1): { getBytes(): string };
  };
  pkcs12: {
    generateKey: (...args: unknown[]) => unknown;
    pkcs12FromAsn1(asn1: ForgeAsn1, strict: boolean, password: string): {
      getBags(filter: { bagType: string }): Record<string, ForgeBag[] | undefined>;
    };
  };
  pkcs5: { pbkdf2: (...args: unknown[]) => unknown };
  pki: {
    pbe: { generatePkcs12Key: (...args: unknown[]) => unknown };
    oids: Record<string, string>;
    certificateToAsn1(cert: unknown): ForgeAsn1;
    privateKeyToAsn1(key: unknown): ForgeAsn1;
    wrapRsaPrivateKey(asn1: ForgeAsn1): ForgeAsn1;
  };
}

const requireFromHere = createRequire(import.meta.url);
/** node-forge on first use (Node's require cache keeps it): +10 MiB RSS that only a pkcs12 filter needs. */
const loadForge = (): Forge => {
  const forge = requireFromHere('node-forge') as Forge;
  guardForgeDerivations(forge);
  return forge;
};

export interface Pkcs12Contents {
  /** PEM of each certificate, in the bundle's order. */
  readonly certificates: string[];
  /** PEM (PKCS#8) of each private key. */
  readonly keys: string[];
}

function derOf(forge: Forge, asn1: ForgeAsn1): Uint8Array {
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** Opens a PKCS#12 bundle. Errors say what is wrong (not a bundle, wrong password) and never quote the input. */
export function readPkcs12(bytes: Uint8Array, password: string, filter: string): Pkcs12Contents {
  // The counts the bundle shows are read before forge is even loaded: a bomb costs a DER walk, not hours.
  checkPkcs12Iterations(bytes, filter);
  const forge = loadForge();
  let asn1: ForgeAsn1;
  try {
    asn1 = forge.asn1.fromDer(Buffer.from(bytes).toString('binary'));
  } catch {
    throw new FilterError(`${filter}: the input is not a PKCS#12 bundle (not DER); if it is base64 text, pipe it through base64_decode first`);
  }
  let p12: ReturnType<Forge['pkcs12']['pkcs12FromAsn1']>;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  } catch (err) {
    if (err instanceof IterationLimitError) throw new IterationLimitError(`${filter}: ${err.message}`);
    const wrongPassword = err instanceof Error && /password|mac/i.test(err.message);
    throw new FilterError(
      wrongPassword
        ? `${filter}: the PKCS#12 bundle cannot be opened with this password`
        : `${filter}: the input is not a PKCS#12 bundle this filter can read`,
    );
  }
  const { oids } = forge.pki;
  const certificates = (p12.getBags({ bagType: oids['certBag']! })[oids['certBag']!] ?? []).map((bag) =>
    derToPem('CERTIFICATE', derOf(forge, bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1!)),
  );
  const keyBags = [
    ...(p12.getBags({ bagType: oids['pkcs8ShroudedKeyBag']! })[oids['pkcs8ShroudedKeyBag']!] ?? []),
    ...(p12.getBags({ bagType: oids['keyBag']! })[oids['keyBag']!] ?? []),
  ];
  const keys = keyBags.map((bag) =>
    derToPem('PRIVATE KEY', derOf(forge, bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1!)),
  );
  return { certificates, keys };
}
