/**
 * What the mySecu client builds and reads — the WS-Trust and syncexchange
 * messages, their WS-Security signature, the SOAP answers — with the XML
 * stack under them (src/protocols/xml, xmldsig), loaded by the client's
 * first call to mySecu rather than with the gateway (src/lazily.ts).
 */
import { lazily } from "../../../lazily.js";

async function load() {
  const [xml, deposit, soap, sts, wsSecurity] = await Promise.all([
    import("../../../protocols/xml/index.js"),
    import("./deposit-message.js"),
    import("./soap-message.js"),
    import("./sts-request.js"),
    import("./ws-security.js"),
  ]);
  return {
    parseXml: xml.parseXml,
    buildDepositRequest: deposit.buildDepositRequest,
    readDepositResponse: deposit.readDepositResponse,
    readSoapAnswer: soap.readSoapAnswer,
    buildIssueRequest: sts.buildIssueRequest,
    readIssueResponse: sts.readIssueResponse,
    signSoapRequest: wsSecurity.signSoapRequest,
  };
}

export type MySecuMessages = Awaited<ReturnType<typeof load>>;

export const loadMessages: () => Promise<MySecuMessages> = lazily(load);
