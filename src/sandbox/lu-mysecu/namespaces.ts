/**
 * The vocabulary of the mySecu simulator: the standard namespaces it speaks
 * (SOAP 1.1/1.2, WS-Security 1.1, WS-Trust 1.3, SAML 2.0) and the
 * namespace of the syncexchange business messages, which is **Passerelle's
 * design**: the CCSS does not publish its schemas, so the sandbox defines a
 * plausible contract and serves it in its WSDLs (./wsdl.ts).
 */

/** SOAP 1.1 §4.1.2. */
export const SOAP11_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/";
/** SOAP 1.2 Part 1 §5.1. */
export const SOAP12_NAMESPACE = "http://www.w3.org/2003/05/soap-envelope";
/** WS-Security 1.0/1.1 secext (the 1.1 specification keeps the 1.0 namespace for its core elements). */
export const WSSE_NAMESPACE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/** WS-Security utility: wsu:Id, wsu:Timestamp. */
export const WSU_NAMESPACE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/** WS-Security 1.1 additions (wsse11:TokenType on a SecurityTokenReference). */
export const WSSE11_NAMESPACE = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd";
/** WS-Trust 1.3 (OASIS Standard, 19 March 2007). */
export const WST_NAMESPACE = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
/** WS-Policy 1.2, the namespace WS-Trust 1.3 uses for wsp:AppliesTo (its §2.3 table). */
export const WSP_NAMESPACE = "http://schemas.xmlsoap.org/ws/2004/09/policy";
/** WS-Policy 1.5, accepted too for wsp:AppliesTo. */
export const WSP15_NAMESPACE = "http://www.w3.org/ns/ws-policy";
/** WS-SecurityPolicy 1.2, used in the WSDLs' policies. */
export const SP_NAMESPACE = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702";
/** WS-Addressing 1.0 Core: the EndpointReference of wsp:AppliesTo. */
export const WSA_NAMESPACE = "http://www.w3.org/2005/08/addressing";
export const SAML2_NAMESPACE = "urn:oasis:names:tc:SAML:2.0:assertion";
export const DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#";
export const WSDL_NAMESPACE = "http://schemas.xmlsoap.org/wsdl/";
export const XSD_NAMESPACE = "http://www.w3.org/2001/XMLSchema";

/** WSS X.509 Token Profile 1.1 §3.1. */
export const X509V3_VALUE_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3";
/** WSS SOAP Message Security 1.1 §6.3. */
export const BASE64_ENCODING_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
/** WSS SAML Token Profile 1.1 §3.5. */
export const SAML2_TOKEN_TYPE = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";
/** WSS SAML Token Profile 1.1 §3.4.4: a KeyIdentifier holding a SAML 2.0 assertion ID. */
export const SAML2_ID_VALUE_TYPE = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID";

/** WS-Trust 1.3 §4.1 request types and actions, §9.2 key types. */
export const WST_ISSUE_REQUEST = `${WST_NAMESPACE}/Issue`;
export const WST_BEARER_KEY = `${WST_NAMESPACE}/Bearer`;
export const WST_ISSUE_ACTION = `${WST_NAMESPACE}/RST/Issue`;
export const WST_ISSUE_FINAL_ACTION = `${WST_NAMESPACE}/RSTRC/IssueFinal`;

/** SAML 2.0 Core §8.3.3 and Profiles §3.3. */
export const SAML_X509_SUBJECT_NAME_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName";
export const SAML_BEARER_CONFIRMATION = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
export const SAML_URI_ATTRIBUTE_NAME_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
/** SAML 2.0 Authentication Context §3.4.24: the vendor proved possession of an X.509 key. */
export const SAML_X509_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509";

/**
 * The syncexchange messages (Passerelle's design, see the module comment).
 * `DepositDocumentRequest` → `DepositDocumentResponse`; faults in the same
 * namespace (./faults-catalogue.ts).
 */
export const SYNCEXCHANGE_NAMESPACE = "http://ws.mysecu.lu/espinst/syncexchange/v1";
export const DEPOSIT_DOCUMENT_ACTION = `${SYNCEXCHANGE_NAMESPACE}/DepositDocument`;

/**
 * SAML attribute carrying the SHA-256 fingerprint (lower-case hex) of the
 * certificate the vendor authenticated with at the STS: the syncexchange
 * service scopes deposits (and their client references) per vendor with it.
 */
export const VENDOR_CERTIFICATE_ATTRIBUTE = `${SYNCEXCHANGE_NAMESPACE}/attributes/vendor-certificate-sha256`;
