/**
 * The names mySecu's messages use: standard ones (SOAP, WS-Security 1.1,
 * WS-Trust 1.3, SAML 2.0) and the syncexchange contract, whose schema is
 * served in the service's WSDL (`CCSS_SYNC_URL?wsdl`; in the sandbox,
 * src/sandbox/lu-mysecu/wsdl.ts). The client keeps its own copy, as a
 * generated stub would: a test checks it against the WSDL the simulator serves.
 */
export const SOAP11_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/";
export const SOAP12_NAMESPACE = "http://www.w3.org/2003/05/soap-envelope";
export const WSSE_NAMESPACE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
export const WSU_NAMESPACE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
export const WST_NAMESPACE = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
/** WS-Trust 1.3 §2.3: wsp:AppliesTo is WS-Policy 1.2's. */
export const WSP_NAMESPACE = "http://schemas.xmlsoap.org/ws/2004/09/policy";
export const WSA_NAMESPACE = "http://www.w3.org/2005/08/addressing";
export const SAML2_NAMESPACE = "urn:oasis:names:tc:SAML:2.0:assertion";
export const DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#";

export const X509V3_VALUE_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3";
export const BASE64_ENCODING_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
export const SAML2_TOKEN_TYPE = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";
export const WST_ISSUE_REQUEST = `${WST_NAMESPACE}/Issue`;
export const WST_BEARER_KEY = `${WST_NAMESPACE}/Bearer`;
export const WST_ISSUE_ACTION = `${WST_NAMESPACE}/RST/Issue`;

export const SYNCEXCHANGE_NAMESPACE = "http://ws.mysecu.lu/espinst/syncexchange/v1";
export const DEPOSIT_DOCUMENT_ACTION = `${SYNCEXCHANGE_NAMESPACE}/DepositDocument`;
