/** The sandbox: simulators of the national services over HTTPS, with their test PKI. */
export {
  SandboxStartError,
  startSandbox,
  type RunningSandbox,
  type SandboxEndpoints,
  type StartSandboxOptions,
} from "./start-sandbox.js";
export type {
  RunningSimulator,
  SimulatorContext,
  SimulatorCountry,
  SimulatorDefinition,
  SimulatorEndpoint,
  SimulatorFastifyApp,
  SimulatorInstance,
  SimulatorRequestHandler,
  TestUser,
} from "./simulator.js";
export { builtInSimulators } from "./registry.js";
export { clientCertificateOf } from "./client-certificate.js";
export { SANDBOX_CA_SIMULATOR_ID, buildSandboxCaApp, sandboxCaSimulator } from "./sandbox-ca/simulator.js";
export {
  SANDBOX_CHILD_ENV,
  SandboxProcessError,
  reportFailureToParent,
  reportListeningToParent,
  reportToParent,
  startSandboxProcess,
  type SandboxChildMessage,
  type SandboxProcess,
  type SandboxProcessOptions,
} from "./child-process.js";
