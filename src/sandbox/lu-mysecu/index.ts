/** The mySecu simulator (`lu-mysecu`): WS-Trust STS and syncexchange deposit service. */
export {
  LU_MYSECU_PATHS,
  LU_MYSECU_SIMULATOR_ID,
  LU_MYSECU_STS_IDENTITY,
  buildLuMySecuApp,
  luMySecuSimulator,
  sandboxMySecuStsSigner,
  type LuMySecuApp,
  type LuMySecuAppOptions,
  type LuMySecuSimulatorOptions,
  type LuMySecuState,
} from "./simulator.js";
export { EnrolmentRegistry, SANDBOX_NOT_ENROLLED_PROVIDER_CODES, sandboxMySecuPractitioners, type MySecuPractitioner } from "./enrolment.js";
export { MYSECU_FAULT_CODES, type FaultCodeInfo, type MySecuFaultName } from "./soap-faults.js";
export { MYSECU_FAULT_MODES, type MySecuFaultMode, type MySecuService } from "./faults.js";
export type { DepositRecord } from "./deposit-store.js";
export { isValidMatricule, matriculeFor } from "./matricule.js";
export * as mySecuNamespaces from "./namespaces.js";
