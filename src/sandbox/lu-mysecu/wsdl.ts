/**
 * The WSDL 1.1 documents the simulator serves at `?wsdl`. The STS one is the
 * WS-Trust 1.3 Issue binding (the OASIS schema is referenced, not copied);
 * the syncexchange one carries the complete schema of the business messages,
 * which is Passerelle's design (the CCSS schemas are not public). Both
 * declare their security requirements as WS-SecurityPolicy 1.2 assertions.
 */
import {
  DEPOSIT_DOCUMENT_ACTION,
  SAML2_NAMESPACE,
  SP_NAMESPACE,
  SYNCEXCHANGE_NAMESPACE,
  WSDL_NAMESPACE,
  WSP15_NAMESPACE,
  WST_ISSUE_ACTION,
  WST_NAMESPACE,
  WSU_NAMESPACE,
  XSD_NAMESPACE,
} from "./namespaces.js";
import { escapeXml } from "./soap-envelope.js";

const SOAP11_BINDING = "http://schemas.xmlsoap.org/wsdl/soap/";
const SOAP12_BINDING = "http://schemas.xmlsoap.org/wsdl/soap12/";
const HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http";

/** WSDL of the WS-Trust 1.3 STS at `endpoint` (`…/ws/soap/trust`). */
export function stsWsdl(endpoint: string): string {
  const location = escapeXml(endpoint);
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="SecurityTokenService" targetNamespace="${WST_NAMESPACE}"
    xmlns:wsdl="${WSDL_NAMESPACE}" xmlns:xs="${XSD_NAMESPACE}" xmlns:wst="${WST_NAMESPACE}"
    xmlns:soap="${SOAP11_BINDING}" xmlns:soap12="${SOAP12_BINDING}"
    xmlns:wsp="${WSP15_NAMESPACE}" xmlns:sp="${SP_NAMESPACE}" xmlns:wsu="${WSU_NAMESPACE}">
  <wsdl:documentation>
    mySecu authentication service (sandbox). WS-Trust 1.3 Issue of a SAML 2.0 bearer token for the vendor.
    The request is signed with the vendor's generic keystore (X.509 certificate issued by the LU CA):
    wsse:Security holds a wsu:Timestamp (at most 5 minutes old), a wsse:BinarySecurityToken (X509v3) and a
    ds:Signature (RSA-SHA256, exclusive C14N) over soap:Body and wsu:Timestamp whose KeyInfo is a
    wsse:SecurityTokenReference to the token. RequestType Issue, TokenType SAMLV2.0, KeyType Bearer,
    wsp:AppliesTo the syncexchange endpoint. The answer is a RequestSecurityTokenResponseCollection whose
    assertion is valid one hour for the syncexchange audience.
  </wsdl:documentation>
  <wsp:Policy wsu:Id="SignedX509RequestPolicy">
    <sp:AsymmetricBinding><wsp:Policy>
      <sp:InitiatorToken><wsp:Policy><sp:X509Token sp:IncludeToken="${SP_NAMESPACE}/IncludeToken/AlwaysToRecipient"><wsp:Policy><sp:WssX509V3Token10/></wsp:Policy></sp:X509Token></wsp:Policy></sp:InitiatorToken>
      <sp:AlgorithmSuite><wsp:Policy><sp:Basic256Sha256/></wsp:Policy></sp:AlgorithmSuite>
      <sp:Layout><wsp:Policy><sp:Lax/></wsp:Policy></sp:Layout>
      <sp:IncludeTimestamp/>
      <sp:OnlySignEntireHeadersAndBody/>
    </wsp:Policy></sp:AsymmetricBinding>
    <sp:SignedParts><sp:Body/></sp:SignedParts>
  </wsp:Policy>
  <wsdl:types>
    <xs:schema targetNamespace="${WST_NAMESPACE}" elementFormDefault="qualified">
      <xs:annotation><xs:documentation>The complete schema is OASIS ws-trust-1.3.xsd; only the two message elements are declared here.</xs:documentation></xs:annotation>
      <xs:element name="RequestSecurityToken" type="wst:RequestSecurityTokenType"/>
      <xs:complexType name="RequestSecurityTokenType">
        <xs:sequence><xs:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
        <xs:attribute name="Context" type="xs:anyURI" use="optional"/>
        <xs:anyAttribute namespace="##other" processContents="lax"/>
      </xs:complexType>
      <xs:element name="RequestSecurityTokenResponseCollection" type="wst:RequestSecurityTokenResponseCollectionType"/>
      <xs:complexType name="RequestSecurityTokenResponseCollectionType">
        <xs:sequence><xs:any namespace="##any" processContents="lax" minOccurs="1" maxOccurs="unbounded"/></xs:sequence>
        <xs:anyAttribute namespace="##other" processContents="lax"/>
      </xs:complexType>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="RequestSecurityTokenMsg"><wsdl:part name="request" element="wst:RequestSecurityToken"/></wsdl:message>
  <wsdl:message name="RequestSecurityTokenResponseCollectionMsg"><wsdl:part name="responseCollection" element="wst:RequestSecurityTokenResponseCollection"/></wsdl:message>
  <wsdl:portType name="SecurityTokenService">
    <wsdl:operation name="Issue">
      <wsdl:input message="wst:RequestSecurityTokenMsg"/>
      <wsdl:output message="wst:RequestSecurityTokenResponseCollectionMsg"/>
    </wsdl:operation>
  </wsdl:portType>
${bindings("SecurityTokenService", "wst:SecurityTokenService", "Issue", WST_ISSUE_ACTION, "SignedX509RequestPolicy")}
  <wsdl:service name="SecurityTokenService">
    <wsdl:port name="SecurityTokenServiceSoap11Port" binding="wst:SecurityTokenServiceSoap11Binding"><soap:address location="${location}"/></wsdl:port>
    <wsdl:port name="SecurityTokenServiceSoap12Port" binding="wst:SecurityTokenServiceSoap12Binding"><soap12:address location="${location}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}

/** WSDL of the syncexchange business service at `endpoint` (`…/ws/soap/espinst/syncexchange`). */
export function syncExchangeWsdl(endpoint: string): string {
  const location = escapeXml(endpoint);
  const faults = [
    ["PractitionerNotEnrolled", "The practitioner (ProviderCode) is not enrolled on mySecu."],
    ["InvalidDocumentSignature", "The PDF is unsigned, or its PAdES signature does not verify, or its signer does not chain to the LU signing CA."],
    ["SignerMismatch", "The PDF is signed by someone else than the practitioner (the signing certificate's serialNumber is not the ProviderCode)."],
    ["InvalidDocument", "Not a PDF, encrypted, empty, larger than 20 MiB, or MimeType is not application/pdf."],
    ["InvalidMatricule", "Patient/Matricule is not a valid 13-digit national identification number (Luhn and Verhoeff check digits)."],
    ["DuplicateReference", "ClientReference was already used by this vendor for another document."],
    ["TokenExpired", "The SAML assertion is outside NotBefore/NotOnOrAfter: get a new one from the STS."],
    ["AudienceMismatch", "The SAML assertion's AudienceRestriction does not name this endpoint."],
    ["InvalidRequest", "The request does not follow this schema."],
  ]
    .map(([name, text]) => `      <xs:element name="${name}"><xs:annotation><xs:documentation>${escapeXml(text as string)}</xs:documentation></xs:annotation><xs:complexType/></xs:element>`)
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="SyncExchange" targetNamespace="${SYNCEXCHANGE_NAMESPACE}"
    xmlns:wsdl="${WSDL_NAMESPACE}" xmlns:xs="${XSD_NAMESPACE}" xmlns:sx="${SYNCEXCHANGE_NAMESPACE}"
    xmlns:soap="${SOAP11_BINDING}" xmlns:soap12="${SOAP12_BINDING}"
    xmlns:wsp="${WSP15_NAMESPACE}" xmlns:sp="${SP_NAMESPACE}" xmlns:wsu="${WSU_NAMESPACE}">
  <wsdl:documentation>
    mySecu business service "syncexchange" (sandbox): deposit of a PAdES-signed PDF for a practitioner enrolled on
    mySecu, optionally about a patient. The wsse:Security header carries the SAML 2.0 bearer assertion issued by the
    STS (${escapeXml(SAML2_NAMESPACE)}), unchanged. ClientReference makes the deposit idempotent per vendor: the same
    reference with the same document answers the first deposit again. Faults: standard WS-Security codes for the
    token (wsse:InvalidSecurity, wsse:InvalidSecurityToken), sx: codes below for the rest; the SOAP 1.2 Subcode or the
    SOAP 1.1 faultcode carries the code. The message schema is Passerelle's design: the CCSS does not publish its own.
  </wsdl:documentation>
  <wsp:Policy wsu:Id="SamlBearerOverTlsPolicy">
    <sp:TransportBinding><wsp:Policy>
      <sp:TransportToken><wsp:Policy><sp:HttpsToken/></wsp:Policy></sp:TransportToken>
      <sp:AlgorithmSuite><wsp:Policy><sp:Basic256Sha256/></wsp:Policy></sp:AlgorithmSuite>
      <sp:Layout><wsp:Policy><sp:Lax/></wsp:Policy></sp:Layout>
      <sp:IncludeTimestamp/>
    </wsp:Policy></sp:TransportBinding>
    <sp:SupportingTokens><wsp:Policy>
      <sp:SamlToken sp:IncludeToken="${SP_NAMESPACE}/IncludeToken/AlwaysToRecipient"><wsp:Policy><sp:WssSamlV20Token11/></wsp:Policy></sp:SamlToken>
    </wsp:Policy></sp:SupportingTokens>
  </wsp:Policy>
  <wsdl:types>
    <xs:schema targetNamespace="${SYNCEXCHANGE_NAMESPACE}" elementFormDefault="qualified">
      <xs:simpleType name="ProviderCode"><xs:restriction base="xs:string"><xs:pattern value="[0-9]{6}-[0-9]{2}"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Matricule"><xs:restriction base="xs:string"><xs:pattern value="[0-9]{13}"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="ClientReference"><xs:restriction base="xs:string"><xs:pattern value="[A-Za-z0-9:._\\-]{1,128}"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="ShortText"><xs:restriction base="xs:string"><xs:maxLength value="256"/></xs:restriction></xs:simpleType>
      <xs:element name="DepositDocumentRequest">
        <xs:complexType><xs:sequence>
          <xs:element name="ClientReference" type="sx:ClientReference"/>
          <xs:element name="Practitioner"><xs:complexType><xs:sequence><xs:element name="ProviderCode" type="sx:ProviderCode"/></xs:sequence></xs:complexType></xs:element>
          <xs:element name="Patient" minOccurs="0"><xs:complexType><xs:sequence><xs:element name="Matricule" type="sx:Matricule"/></xs:sequence></xs:complexType></xs:element>
          <xs:element name="Document">
            <xs:complexType><xs:sequence>
              <xs:element name="DocumentType" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[A-Z0-9_]{1,32}"/></xs:restriction></xs:simpleType></xs:element>
              <xs:element name="Title" type="sx:ShortText" minOccurs="0"/>
              <xs:element name="FileName" type="sx:ShortText" minOccurs="0"/>
              <xs:element name="MimeType" type="xs:string" fixed="application/pdf"/>
              <xs:element name="Content" type="xs:base64Binary"/>
            </xs:sequence></xs:complexType>
          </xs:element>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="DepositDocumentResponse">
        <xs:complexType><xs:sequence>
          <xs:element name="DepositId" type="xs:string"/>
          <xs:element name="ClientReference" type="sx:ClientReference"/>
          <xs:element name="Status"><xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="ACCEPTED"/></xs:restriction></xs:simpleType></xs:element>
          <xs:element name="ReceivedAt" type="xs:dateTime"/>
          <xs:element name="DocumentDigest"><xs:complexType><xs:simpleContent><xs:extension base="xs:base64Binary"><xs:attribute name="Algorithm" type="xs:anyURI" use="required"/></xs:extension></xs:simpleContent></xs:complexType></xs:element>
        </xs:sequence></xs:complexType>
      </xs:element>
${faults}
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="DepositDocumentRequestMsg"><wsdl:part name="request" element="sx:DepositDocumentRequest"/></wsdl:message>
  <wsdl:message name="DepositDocumentResponseMsg"><wsdl:part name="response" element="sx:DepositDocumentResponse"/></wsdl:message>
  <wsdl:portType name="SyncExchange">
    <wsdl:operation name="DepositDocument">
      <wsdl:input message="sx:DepositDocumentRequestMsg"/>
      <wsdl:output message="sx:DepositDocumentResponseMsg"/>
    </wsdl:operation>
  </wsdl:portType>
${bindings("SyncExchange", "sx:SyncExchange", "DepositDocument", DEPOSIT_DOCUMENT_ACTION, "SamlBearerOverTlsPolicy")}
  <wsdl:service name="SyncExchange">
    <wsdl:port name="SyncExchangeSoap11Port" binding="sx:SyncExchangeSoap11Binding"><soap:address location="${location}"/></wsdl:port>
    <wsdl:port name="SyncExchangeSoap12Port" binding="sx:SyncExchangeSoap12Binding"><soap12:address location="${location}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}

/** SOAP 1.1 and 1.2 document/literal bindings of one operation, with their policy. */
function bindings(name: string, portType: string, operation: string, action: string, policy: string): string {
  return ["soap", "soap12"]
    .map((soap) => {
      const suffix = soap === "soap" ? "Soap11Binding" : "Soap12Binding";
      return `  <wsdl:binding name="${name}${suffix}" type="${portType}">
    <wsp:PolicyReference URI="#${policy}"/>
    <${soap}:binding style="document" transport="${HTTP_TRANSPORT}"/>
    <wsdl:operation name="${operation}">
      <${soap}:operation soapAction="${action}"${soap === "soap12" ? ` soapActionRequired="false"` : ""}/>
      <wsdl:input><${soap}:body use="literal"/></wsdl:input>
      <wsdl:output><${soap}:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>`;
    })
    .join("\n");
}
