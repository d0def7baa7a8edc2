/**
 * @peculiar/x509, loaded on first use.
 *
 * The library (with its ASN.1 schemas, reflect-metadata and tsyringe) is
 * about 3 MB of heap once evaluated. The gateway needs it only to validate a
 * certificate chain, read a CRL or issue a sandbox certificate, none of which
 * happens while it starts (a restart reads the sandbox PKI from its cache
 * with Node's own X509Certificate). Modules reachable from the gateway's
 * start therefore import its types only, and take its values from
 * `loadX509()` inside the asynchronous operations that need them; the
 * constants they compare with are the RFC's own numbers (certificate-constants.ts).
 *
 * @example
 * ```ts
 * const { X509Crl } = await loadX509();
 * const crl = new X509Crl(der);
 * ```
 */
import type * as Library from "@peculiar/x509";
import { lazily } from "../lazily.js";

/** The package's exports (its CommonJS `module.exports`). */
export type X509Library = (typeof Library)["default"];

/** The library, evaluated once (tsyringe needs the Reflect metadata polyfill first). */
export const loadX509: () => Promise<X509Library> = lazily(async () => {
  await import("reflect-metadata");
  // A CommonJS package: its exports are the namespace's `default`, under Node's import() (which also
  // copies the names it detects) as in the bundle's (scripts/bundle.mjs, which gives `default` only).
  return (await import("@peculiar/x509")).default;
});
