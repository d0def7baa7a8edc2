/**
 * Ids and paths of simulators that the gateway's own sandbox configuration
 * needs to know. They live here, apart from the simulators, so that the
 * gateway's process (which runs the simulators in a child process, see
 * child-process.ts) does not load simulator code — an OpenID Provider, the
 * KMS's key ring — to learn a constant.
 */

export const SANDBOX_TSA_SIMULATOR_ID = "sandbox-tsa";

export const LU_KMS_SIMULATOR_ID = "lu-kms";

/** Paths below the lu-kms base URL, as in the eConnector's KMS_* settings. */
export const LU_KMS_PATHS = {
  signData: "/api/v3/sign-data",
  getCertificate: "/api/v3/get-certificate",
  signTimestamp: "/api/v3/sign-timestamp",
} as const;
