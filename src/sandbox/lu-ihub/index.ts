/** The CNS iHub simulator: signed template packages, and damaged ones on demand. */
export { LU_IHUB_BASE_PATH, LU_IHUB_SIMULATOR_ID, buildLuIhubApp, luIhubSimulator, type LuIhubApp, type LuIhubOptions } from "./simulator.js";
export { PACKAGE_FAULT_MODES, type PackageFaultMode } from "./faults.js";
export { LU_IHUB_SIGNER_NAME, luIhubSigner } from "./signing-identities.js";
export { buildCatalogue, ecitVersion110, type PublishedPackage } from "./catalogue.js";
