/**
 * Sandbox practitioners of the Belgian eHealth identity provider simulator.
 *
 * Each has an NIHII (INAMI/RIZIV) number, 11 digits: "1" and five digits
 * identifying a physician, a two-digit key (97 − the first six digits modulo
 * 97, in the sandbox), and a three-digit qualification code; and an SSIN
 * (INSZ/NISS), the social security number eHealth identifies persons by:
 * birth date YYMMDD, a serial (odd for men, even for women) and a key
 * 97 − (first nine digits modulo 97). Both are test values: the dates and
 * serials belong to nobody known. The SSIN is released in the ID token, as
 * eHealth does; it is a national identifier, fine in a sandbox token.
 */
import type { SandboxPractitioner } from "./practitioners.js";

interface BelgianPractitionerRecord {
  sub: string;
  nihii: string;
  ssin: string;
  password: string;
  givenName: string;
  familyName: string;
  profession: string;
}

const RECORDS: readonly BelgianPractitionerRecord[] = [
  {
    sub: "f7152ee8-73a5-40cb-9968-632dfe6fd53d",
    nihii: "12345625004",
    ssin: "72041513879",
    password: "els-3920",
    givenName: "Els",
    familyName: "Peeters",
    profession: "huisarts / médecin généraliste",
  },
  {
    sub: "d6b291f8-2972-43c8-9ce7-d0fb70b0e523",
    nihii: "13457858580",
    ssin: "81092224385",
    password: "jan-6671",
    givenName: "Jan",
    familyName: "Janssens",
    profession: "cardioloog / cardiologue",
  },
  {
    sub: "931bfc65-3739-40e5-84c0-e2a9925372dc",
    nihii: "14562371690",
    ssin: "69030708214",
    password: "sophie-1184",
    givenName: "Sophie",
    familyName: "Dubois",
    profession: "pédiatre / kinderarts",
  },
  {
    sub: "c52e2f75-b03f-45ad-b137-c80d6cdf814d",
    nihii: "15678960790",
    ssin: "88013031162",
    password: "pieter-5027",
    givenName: "Pieter",
    familyName: "Maes",
    profession: "psychiater / psychiatre",
  },
  {
    sub: "0ab04e25-2e81-4421-acfe-83b860d25404",
    nihii: "16723491480",
    ssin: "75061819608",
    password: "nathalie-7753",
    givenName: "Nathalie",
    familyName: "Lambert",
    profession: "chirurgienne / chirurg",
  },
  {
    sub: "344e4312-4433-409e-81b3-f63268d1b707",
    nihii: "17890164003",
    ssin: "92080405765",
    password: "wouter-2496",
    givenName: "Wouter",
    familyName: "Claes",
    profession: "huisarts / médecin généraliste",
  },
];

export function belgianPractitioners(): SandboxPractitioner[] {
  return RECORDS.map((record) => ({
    sub: record.sub,
    login: record.nihii,
    aliases: [record.ssin],
    password: record.password,
    displayName: `Dr ${record.givenName} ${record.familyName}`,
    profession: record.profession,
    claims: {
      preferred_username: record.nihii,
      name: `${record.givenName} ${record.familyName}`,
      given_name: record.givenName,
      family_name: record.familyName,
      nihii: record.nihii,
      ssin: record.ssin,
      profession: record.profession,
    },
  }));
}
