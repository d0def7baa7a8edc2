/**
 * The simulators `passerelle sandbox` and the sandbox profile start by
 * default. Each national-service simulator adds an entry here: its info (from
 * ./simulator-ids.ts) and how to load its factory.
 *
 * The definitions are lazy: `create` imports the simulator's code. The
 * sandbox binds every port, from the infos alone, before any simulator is
 * loaded, so that the gateway knows the URLs and starts its own modules while
 * the simulators load (see child-process.ts).
 */
import type { SimulatorDefinition } from "./simulator.js";
import {
  BE_IDP_SIMULATOR,
  FR_PSC_SIMULATOR,
  LU_AES_SIMULATOR,
  LU_IHUB_SIMULATOR,
  LU_KMS_SIMULATOR,
  LU_MYSECU_SIMULATOR,
  SANDBOX_CA_SIMULATOR,
  SANDBOX_TSA_SIMULATOR,
  type SimulatorInfo,
} from "./simulator-ids.js";

/** A built-in simulator: its info, and its factory, loaded on demand. */
export interface BuiltInSimulator {
  info: SimulatorInfo;
  load(): Promise<SimulatorDefinition>;
}

export const BUILT_IN_SIMULATORS: readonly BuiltInSimulator[] = [
  { info: SANDBOX_CA_SIMULATOR, load: async () => (await import("./sandbox-ca/simulator.js")).sandboxCaSimulator() },
  { info: SANDBOX_TSA_SIMULATOR, load: async () => (await import("./tsa/simulator.js")).sandboxTsaSimulator() },
  { info: FR_PSC_SIMULATOR, load: async () => (await import("./idp/fr-psc.js")).frPscSimulator() },
  { info: LU_AES_SIMULATOR, load: async () => (await import("./idp/lu-aes.js")).luAesSimulator() },
  { info: BE_IDP_SIMULATOR, load: async () => (await import("./idp/be-idp.js")).beIdpSimulator() },
  // lu-kms validates AeS tokens: it comes after lu-aes.
  { info: LU_KMS_SIMULATOR, load: async () => (await import("./lu-kms/simulator.js")).luKmsSimulator() },
  { info: LU_MYSECU_SIMULATOR, load: async () => (await import("./lu-mysecu/simulator.js")).luMySecuSimulator() },
  { info: LU_IHUB_SIMULATOR, load: async () => (await import("./lu-ihub/simulator.js")).luIhubSimulator() },
];

export function builtInSimulators(): SimulatorDefinition[] {
  return BUILT_IN_SIMULATORS.map(({ info, load }) => ({
    ...info,
    async create(ctx) {
      const definition = await load();
      if (!sameInfo(info, definition)) throw new TypeError(`Simulator "${info.id}" does not match its entry in simulator-ids.ts`);
      return definition.create(ctx);
    },
  }));
}

/** The loaded definition says what the info says (registry.test.ts checks every built-in). */
export function sameInfo(info: SimulatorInfo, definition: SimulatorDefinition): boolean {
  return (
    definition.id === info.id &&
    definition.title === info.title &&
    definition.country === info.country &&
    (definition.tls?.requestClientCertificate === true) === (info.tls?.requestClientCertificate === true)
  );
}
