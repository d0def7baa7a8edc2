/**
 * Sample document data for tests (and the sandbox walkthrough): one valid
 * document per built-in template, with accented names so that font
 * embedding and text extraction are exercised.
 */
import { completeLuxembourgMatricule } from "./lu-identifiers.js";

export const SAMPLE_MATRICULE = completeLuxembourgMatricule("19850615123");

const practitioner = {
  providerCode: "101234-56",
  title: "Dr",
  firstName: "Anne",
  lastName: "Weber",
  specialty: "Médecine générale",
  address: { street: "12, rue de l’Hôpital", postalCode: "L-1234", locality: "Luxembourg" },
};

const patient = {
  matricule: SAMPLE_MATRICULE,
  firstName: "Zoé",
  lastName: "Müller",
  address: { street: "3, rue des Prés", postalCode: "L-4321", locality: "Esch-sur-Alzette" },
};

export function sampleEcitData(): Record<string, unknown> {
  return {
    practitioner: structuredClone(practitioner),
    patient: structuredClone(patient),
    employer: { name: "Pâtisserie Schäfer S.à r.l." },
    incapacity: { kind: "maladie", certificateType: "initial", startDate: "2025-03-10", endDate: "2025-03-14", outingsAllowed: true },
    diagnoses: [{ code: "J06.9", label: "Infection aiguë des voies respiratoires supérieures" }],
    examinationDate: "2025-03-10",
    issuedOn: "2025-03-10",
    issuedAt: "Luxembourg",
  };
}

export function sampleFeeNoteData(): Record<string, unknown> {
  return {
    practitioner: structuredClone(practitioner),
    patient: structuredClone(patient),
    noteNumber: "2025-0042",
    issuedOn: "2025-03-12",
    issuedAt: "Luxembourg",
    acts: [
      { date: "2025-03-10", code: "C1", label: "Consultation du médecin généraliste", quantity: 1, unitAmount: 56.1 },
      { date: "2025-03-12", code: "V1", label: "Visite à domicile, majorée de nuit", quantity: 2, unitAmount: 41.65 },
      { date: "2025-03-12", code: "E35", label: "Électrocardiogramme", quantity: 1, unitAmount: 23.45 },
    ],
    payment: { status: "paid", paidOn: "2025-03-12", method: "card" },
  };
}

export function samplePidData(): Record<string, unknown> {
  return {
    practitioner: structuredClone(practitioner),
    patient: structuredClone(patient),
    pidNumber: "PID-7781",
    issuedOn: "2025-03-12",
    issuedAt: "Luxembourg",
    acts: [
      { date: "2025-03-12", code: "C1", label: "Consultation du médecin généraliste", quantity: 1, amount: 56.1, cnsAmount: 49.37 },
      { date: "2025-03-12", code: "E35", label: "Électrocardiogramme", quantity: 1, amount: 23.45, cnsAmount: 20.64 },
    ],
    personalShare: { paid: true, method: "cash" },
  };
}
