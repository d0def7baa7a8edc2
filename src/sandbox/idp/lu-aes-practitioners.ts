/**
 * Sandbox practitioners of the Luxembourg AeS simulator.
 *
 * The CNS gives every practitioner an individual provider code ("code
 * médecin" for doctors, "code prestataire" otherwise) before they practise;
 * the sandbox writes it as six digits, a dash and two digits. It is the
 * login, the `preferred_username` and the `provider_code` claim.
 */
import type { SandboxPractitioner } from "./practitioners.js";

interface LuxembourgPractitionerRecord {
  sub: string;
  providerCode: string;
  password: string;
  givenName: string;
  familyName: string;
  profession: string;
  doctor: boolean;
}

const RECORDS: readonly LuxembourgPractitionerRecord[] = [
  {
    sub: "ebc623f8-4521-4026-a56e-037ccf7a5a0b",
    providerCode: "101234-56",
    password: "anne-7314",
    givenName: "Anne",
    familyName: "Weber",
    profession: "médecin généraliste",
    doctor: true,
  },
  {
    sub: "24257f27-3d7b-42f2-beda-cf1a84cb7210",
    providerCode: "102345-67",
    password: "marc-2285",
    givenName: "Marc",
    familyName: "Schmit",
    profession: "médecin spécialiste en pédiatrie",
    doctor: true,
  },
  {
    sub: "92910d52-6787-421c-860f-ab8a8e8384ed",
    providerCode: "201789-01",
    password: "paul-9046",
    givenName: "Paul",
    familyName: "Reuter",
    profession: "médecin-dentiste",
    doctor: true,
  },
  {
    sub: "6777e874-2ccb-4132-ad3a-d6715ab667a9",
    providerCode: "301456-78",
    password: "claire-5512",
    givenName: "Claire",
    familyName: "Hoffmann",
    profession: "pharmacienne",
    doctor: false,
  },
  {
    sub: "702436ab-4fe1-4081-a243-1e4bdb60ca6e",
    providerCode: "501567-89",
    password: "luc-4478",
    givenName: "Luc",
    familyName: "Muller",
    profession: "infirmier",
    doctor: false,
  },
  {
    sub: "73d3a22e-e91c-49d5-99e0-c8e09f76ecaa",
    providerCode: "601678-90",
    password: "sandrine-8361",
    givenName: "Sandrine",
    familyName: "Wagner",
    profession: "masseur-kinésithérapeute",
    doctor: false,
  },
];

export function luxembourgPractitioners(): SandboxPractitioner[] {
  return RECORDS.map((record) => ({
    sub: record.sub,
    login: record.providerCode,
    aliases: [],
    password: record.password,
    displayName: `${record.doctor ? "Dr " : ""}${record.givenName} ${record.familyName}`,
    profession: record.profession,
    claims: {
      preferred_username: record.providerCode,
      name: `${record.givenName} ${record.familyName}`,
      given_name: record.givenName,
      family_name: record.familyName,
      provider_code: record.providerCode,
      profession: record.profession,
    },
  }));
}
