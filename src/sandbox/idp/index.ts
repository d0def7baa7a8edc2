/**
 * The sandbox identity providers — Pro Santé Connect (`fr-psc`), Agence
 * eSanté (`lu-aes`), Belgian eHealth (`be-idp`) — and the OAuth clients
 * registered at them, which the gateway's sandbox profile uses too.
 */
import type { SimulatorDefinition } from "../simulator.js";
import { beIdpSimulator } from "./be-idp.js";
import { frPscSimulator } from "./fr-psc.js";
import { luAesSimulator } from "./lu-aes.js";

export { BE_IDP_SIMULATOR_ID, beIdpSimulator } from "./be-idp.js";
export { FR_PSC_SIMULATOR_ID, frPscSimulator } from "./fr-psc.js";
export { LU_AES_SIMULATOR_ID, luAesSimulator } from "./lu-aes.js";
export { CIBA_APPROVAL_PATH } from "./ciba-approvals.js";
export { SandboxLoginError, loginThroughSandboxPage, type SandboxLoginOptions } from "./login-driver.js";
export { OPENID_CONNECT_PATH, REALMS_PATH } from "./identity-realm.js";
export {
  CIBA_GRANT_TYPE,
  SANDBOX_REDIRECT_URI,
  sandboxOidcClients,
  type SandboxIdentityProviderId,
  type SandboxOidcClient,
} from "./sandbox-clients.js";

/** The three identity provider simulators, in the order fr, lu, be. */
export function sandboxIdentitySimulators(): SimulatorDefinition[] {
  return [frPscSimulator(), luAesSimulator(), beIdpSimulator()];
}
