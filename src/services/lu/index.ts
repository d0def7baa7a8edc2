/**
 * Luxembourg: CNS documents from templates signed in the practitioner's name
 * through the remote signature service (KMS), mySecu deposits, iHub template
 * updates — the CNS eConnector SaaS's functions, configured with its
 * environment variables (./settings.ts).
 */
export { LU_MODULE, luModule, type LuModule, type LuModuleOptions } from "./module.js";
export { AES_PROVIDER, LuService, type CreateDocumentInput, type CreatedDocument, type DepositInput, type DocumentMetadata, type LuCallContext, type LuServiceOptions, type PractitionerCredential } from "./service.js";
export { luRoutes } from "./routes.js";
export { luMaterialFromSandbox, luMaterialFromSettings, type IhubMaterial, type KmsMaterial, type LuMaterial, type MySecuMaterial } from "./config.js";
export { luSettingSpecs, type LuSettingParsers } from "./settings.js";
