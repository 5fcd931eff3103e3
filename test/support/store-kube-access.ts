// A StoreKubeAccess whose every method fails: test doubles spread it and replace only what their test uses, so a
// provider reaching for something else fails loudly instead of getting undefined.
import type { StoreKubeAccess } from '../../src/providers/provider.ts';

const unused = (what: string) => async (): Promise<never> => {
  throw new Error(`StoreKubeAccess.${what} is not used by this test`);
};

export const unusedKubeAccess: StoreKubeAccess = {
  readSecretKey: unused('readSecretKey'),
  readConfigMapKey: unused('readConfigMapKey'),
  readServiceAccountAnnotations: unused('readServiceAccountAnnotations'),
  createServiceAccountToken: unused('createServiceAccountToken'),
};
