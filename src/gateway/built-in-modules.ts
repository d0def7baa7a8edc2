/**
 * The service modules a gateway starts by default. Each national service
 * adds its module here (see modules.ts for the contract).
 */
import { identityModule } from "../services/identity/module.js";
import { luModule } from "../services/lu/index.js";
import { trustModule } from "../services/trust/index.js";
import type { ServiceModule } from "./modules.js";

export function builtInModules(): ServiceModule[] {
  // lu uses identity's service (AeS tokens and sessions): it comes after it.
  return [identityModule(), trustModule(), luModule()];
}
