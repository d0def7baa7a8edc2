/**
 * The simulators `passerelle sandbox` and the sandbox profile start by
 * default. Each national-service simulator adds its factory here.
 */
import { sandboxIdentitySimulators } from "./idp/index.js";
import { luIhubSimulator } from "./lu-ihub/index.js";
import { luKmsSimulator } from "./lu-kms/simulator.js";
import { luMySecuSimulator } from "./lu-mysecu/index.js";
import { sandboxCaSimulator } from "./sandbox-ca/simulator.js";
import type { SimulatorDefinition } from "./simulator.js";
import { sandboxTsaSimulator } from "./tsa/simulator.js";

export function builtInSimulators(): SimulatorDefinition[] {
  // lu-kms validates AeS tokens: it comes after lu-aes.
  return [sandboxCaSimulator(), sandboxTsaSimulator(), ...sandboxIdentitySimulators(), luKmsSimulator(), luMySecuSimulator(), luIhubSimulator()];
}
