/**
 * What the built-in simulators are, apart from what they do: ids, titles,
 * countries, whether they ask for client certificates, and the paths the
 * gateway's sandbox configuration needs. Nothing here loads simulator code, so
 *
 * - the gateway's process (which runs the simulators in a child process, see
 *   child-process.ts) learns a constant without loading an OpenID Provider or
 *   the KMS's key ring;
 * - the sandbox process binds every simulator's port, and tells the gateway,
 *   before it loads the simulators themselves (registry.ts).
 *
 * Each simulator's factory builds its definition from its entry here.
 */
import type { SimulatorCountry } from "./simulator.js";

/** A simulator's identity card: the fields of its `SimulatorDefinition` other than `create`. */
export interface SimulatorInfo {
  readonly id: string;
  readonly title: string;
  readonly country: SimulatorCountry;
  /** Mutual TLS (see SimulatorDefinition.tls). */
  readonly tls?: { readonly requestClientCertificate?: boolean };
}

export const SANDBOX_CA_SIMULATOR = { id: "sandbox-ca", title: "Sandbox certificate authority", country: "EU" } as const satisfies SimulatorInfo;
export const SANDBOX_TSA_SIMULATOR = { id: "sandbox-tsa", title: "Sandbox time-stamping authority (RFC 3161)", country: "EU" } as const satisfies SimulatorInfo;
/** RFC 8705 §2: PSC authenticates clients with tls_client_auth, which needs the certificate during the handshake. */
export const FR_PSC_SIMULATOR = {
  id: "fr-psc",
  title: "Pro Santé Connect identity provider (France)",
  country: "FR",
  tls: { requestClientCertificate: true },
} as const satisfies SimulatorInfo;
export const LU_AES_SIMULATOR = { id: "lu-aes", title: "Agence eSanté identity provider (Luxembourg)", country: "LU" } as const satisfies SimulatorInfo;
export const BE_IDP_SIMULATOR = { id: "be-idp", title: "eHealth identity provider (Belgium)", country: "BE" } as const satisfies SimulatorInfo;
export const LU_KMS_SIMULATOR = {
  id: "lu-kms",
  title: "Remote signature service, KMS (Luxembourg)",
  country: "LU",
  tls: { requestClientCertificate: true },
} as const satisfies SimulatorInfo;
export const LU_MYSECU_SIMULATOR = {
  id: "lu-mysecu",
  title: "mySecu: WS-Trust STS and syncexchange deposit (Luxembourg CCSS)",
  country: "LU",
} as const satisfies SimulatorInfo;
export const LU_IHUB_SIMULATOR = { id: "lu-ihub", title: "CNS iHub — template updates (simulated)", country: "LU" } as const satisfies SimulatorInfo;

export const SANDBOX_TSA_SIMULATOR_ID = SANDBOX_TSA_SIMULATOR.id;

export const LU_KMS_SIMULATOR_ID = LU_KMS_SIMULATOR.id;

/** Paths below the lu-kms base URL, as in the eConnector's KMS_* settings. */
export const LU_KMS_PATHS = {
  signData: "/api/v3/sign-data",
  getCertificate: "/api/v3/get-certificate",
  signTimestamp: "/api/v3/sign-timestamp",
} as const;
