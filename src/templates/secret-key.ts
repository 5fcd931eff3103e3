// What a Secret key may be (the apiserver's rule), without the API schemas: the sandbox's worker threads check
// keys too, and importing src/api (zod and every schema) would cost each worker ~25 MiB of RSS. A unit test keeps
// this equal to the CRD's SECRET_KEY_PATTERN.
export const SECRET_KEY_CHARACTERS = '^[-._a-zA-Z0-9]+$';
export const SECRET_KEY = new RegExp(SECRET_KEY_CHARACTERS);
