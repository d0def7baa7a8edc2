import "reflect-metadata";
import * as peculiar from "@peculiar/x509";
import { describe, expect, it } from "vitest";
import { CrlReason, ExtendedKeyUsageOid, ExtensionOid, KeyUsage, crlReasonName } from "./certificate-constants.js";
import { loadX509 } from "./x509-library.js";

describe("@peculiar/x509 on first use", () => {
  it("loads the library once, with its classes", async () => {
    const first = loadX509();
    expect(loadX509()).toBe(first);
    const x509 = await first;
    expect(x509.X509Certificate).toBe(peculiar.X509Certificate);
    expect(typeof x509.Name.isPrintableString).toBe("function");
  });
});

describe("certificate constants", () => {
  it("are the library's own numbers", () => {
    expect(KeyUsage).toEqual(Object.fromEntries(Object.entries(peculiar.KeyUsageFlags).filter(([, value]) => typeof value === "number")));
    expect(ExtendedKeyUsageOid).toEqual({ ...peculiar.ExtendedKeyUsage });
    expect(CrlReason).toEqual(Object.fromEntries(Object.entries(peculiar.X509CrlReason).filter(([, value]) => typeof value === "number")));
  });

  it("name the extensions of the library's classes", () => {
    const made: Record<keyof typeof ExtensionOid, peculiar.Extension> = {
      subjectKeyIdentifier: new peculiar.SubjectKeyIdentifierExtension("01"),
      keyUsage: new peculiar.KeyUsagesExtension(peculiar.KeyUsageFlags.digitalSignature),
      subjectAltName: new peculiar.SubjectAlternativeNameExtension([{ type: "dns", value: "example.test" }]),
      basicConstraints: new peculiar.BasicConstraintsExtension(false),
      cRLDistributionPoints: new peculiar.CRLDistributionPointsExtension(["http://crl.example.test/ca.crl"]),
      certificatePolicies: new peculiar.CertificatePolicyExtension(["2.5.29.32.0"]),
      authorityKeyIdentifier: new peculiar.AuthorityKeyIdentifierExtension("01"),
      extKeyUsage: new peculiar.ExtendedKeyUsageExtension([peculiar.ExtendedKeyUsage.clientAuth]),
    };
    expect(Object.fromEntries(Object.entries(made).map(([name, extension]) => [name, extension.type]))).toEqual(ExtensionOid);
  });

  it("name CRL reasons as RFC 5280 does", () => {
    expect(crlReasonName(1)).toBe("keyCompromise");
    expect(crlReasonName(8)).toBe("removeFromCRL");
    expect(crlReasonName(7)).toBe("7");
  });
});
