/**
 * Sandbox practitioners of the Pro Santé Connect simulator.
 *
 * Identifiers follow the French directory (RPPS): 11 digits starting with
 * "10", the last one a Luhn key over the first ten. PSC names a practitioner
 * by the national identifier `IdNat_PS`, which for an RPPS holder is "8"
 * followed by the RPPS: that is the `SubjectNameID` claim, the
 * `preferred_username`, and what a CIBA `login_hint` carries.
 *
 * Profession claims use PSC's `SubjectRefPro` structure (one `exercices`
 * entry per profession, codes from the ANS nomenclatures: TRE_G15 profession
 * codes such as "10" médecin, "21" pharmacien, "40" chirurgien-dentiste,
 * "50" sage-femme, "60" infirmier; mode d'exercice "L" libéral, "S" salarié),
 * rather than a flat `profession` string, so that relying parties parse the
 * same shape as in production.
 */
import type { SandboxPractitioner } from "./practitioners.js";

interface FrenchPractitionerRecord {
  sub: string;
  rpps: string;
  password: string;
  civilite: "M" | "MME";
  givenName: string;
  familyName: string;
  professionCode: string;
  profession: string;
  /** Doctors are addressed as "DR" in their practice. */
  civiliteExercice?: "DR";
  savoirFaire?: { type: string; code: string };
  modeExercice: "L" | "S";
  site: { name: string; postalCode: string };
}

const RECORDS: readonly FrenchPractitionerRecord[] = [
  {
    sub: "16bc869d-244b-4cd2-afcb-20b0f99f18cb",
    rpps: "10001234565",
    password: "marie-4821",
    civilite: "MME",
    givenName: "Marie",
    familyName: "Durand",
    professionCode: "10",
    profession: "médecin généraliste",
    civiliteExercice: "DR",
    savoirFaire: { type: "S", code: "SM54" },
    modeExercice: "L",
    site: { name: "Cabinet médical Durand", postalCode: "75011" },
  },
  {
    sub: "3bc204b9-efad-423b-bd0b-b4fe18548ba0",
    rpps: "10002457892",
    password: "thomas-1593",
    civilite: "M",
    givenName: "Thomas",
    familyName: "Petit",
    professionCode: "10",
    profession: "médecin cardiologue",
    civiliteExercice: "DR",
    savoirFaire: { type: "S", code: "SM04" },
    modeExercice: "S",
    site: { name: "Centre hospitalier Bac-à-Sable", postalCode: "69003" },
  },
  {
    sub: "6891cb5c-639d-4e7c-b1cd-ba7ce74269eb",
    rpps: "10003812343",
    password: "camille-2706",
    civilite: "MME",
    givenName: "Camille",
    familyName: "Bernard",
    professionCode: "21",
    profession: "pharmacienne",
    modeExercice: "L",
    site: { name: "Pharmacie Bernard", postalCode: "33000" },
  },
  {
    sub: "45168ce4-b693-4665-b4b8-3f40e3cd353d",
    rpps: "10004678909",
    password: "julien-8842",
    civilite: "M",
    givenName: "Julien",
    familyName: "Moreau",
    professionCode: "60",
    profession: "infirmier",
    modeExercice: "L",
    site: { name: "Cabinet infirmier Moreau", postalCode: "44000" },
  },
  {
    sub: "7c848f18-9fd0-4739-af4d-d4ece89d37ed",
    rpps: "10005123459",
    password: "sophie-3157",
    civilite: "MME",
    givenName: "Sophie",
    familyName: "Laurent",
    professionCode: "50",
    profession: "sage-femme",
    modeExercice: "S",
    site: { name: "Maternité Bac-à-Sable", postalCode: "59000" },
  },
  {
    sub: "913c0181-9f6f-407e-9437-dcc24bed5e93",
    rpps: "10006789019",
    password: "nicolas-6420",
    civilite: "M",
    givenName: "Nicolas",
    familyName: "Lefebvre",
    professionCode: "40",
    profession: "chirurgien-dentiste",
    civiliteExercice: "DR",
    modeExercice: "L",
    site: { name: "Cabinet dentaire Lefebvre", postalCode: "31000" },
  },
];

/** `IdNat_PS` of an RPPS holder (ANS, "identifiant national des professionnels de santé"). */
export function subjectNameIdOf(rpps: string): string {
  return `8${rpps}`;
}

export function frenchPractitioners(): SandboxPractitioner[] {
  return RECORDS.map((record) => {
    const subjectNameId = subjectNameIdOf(record.rpps);
    const doctor = record.civiliteExercice === "DR";
    return {
      sub: record.sub,
      login: subjectNameId,
      aliases: [record.rpps],
      password: record.password,
      displayName: `${doctor ? "Dr " : ""}${record.givenName} ${record.familyName}`,
      profession: record.profession,
      claims: {
        SubjectNameID: subjectNameId,
        preferred_username: subjectNameId,
        given_name: record.givenName,
        family_name: record.familyName,
        SubjectOrganization: record.site.name,
        SubjectRefPro: {
          codeCivilite: record.civilite,
          exercices: [
            {
              codeProfession: record.professionCode,
              codeCategorieProfessionnelle: "C",
              codeCiviliteDexercice: record.civiliteExercice ?? "",
              nomDexercice: record.familyName.toUpperCase(),
              prenomDexercice: record.givenName,
              codeTypeSavoirFaire: record.savoirFaire?.type ?? "",
              codeSavoirFaire: record.savoirFaire?.code ?? "",
              activities: [
                {
                  codeModeExercice: record.modeExercice,
                  raisonSocialeSite: record.site.name,
                  codePostal: record.site.postalCode,
                },
              ],
            },
          ],
        },
      },
    };
  });
}
