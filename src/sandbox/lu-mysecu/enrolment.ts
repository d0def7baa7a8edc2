/**
 * Which practitioners are enrolled on mySecu. A practitioner enrols on the
 * mySecu portal before a vendor may deposit documents in their name
 * (eConnector documentation: "Le PS doit être connu dans mySecu").
 *
 * The sandbox enrols every Luxembourg sandbox practitioner of the AeS
 * simulator (src/sandbox/idp/lu-aes-practitioners.ts) **except Sandrine
 * Wagner (`601678-90`)**, so that integrators can see the refusal.
 */
import { luxembourgPractitioners } from "../idp/lu-aes-practitioners.js";

export interface MySecuPractitioner {
  providerCode: string;
  displayName: string;
  profession: string;
  enrolled: boolean;
}

/** Sandbox practitioners who are known to the AeS but not enrolled on mySecu. */
export const SANDBOX_NOT_ENROLLED_PROVIDER_CODES: readonly string[] = ["601678-90"];

export function sandboxMySecuPractitioners(notEnrolled: readonly string[] = SANDBOX_NOT_ENROLLED_PROVIDER_CODES): MySecuPractitioner[] {
  return luxembourgPractitioners().map((practitioner) => ({
    providerCode: practitioner.login,
    displayName: practitioner.displayName,
    profession: practitioner.profession,
    enrolled: !notEnrolled.includes(practitioner.login),
  }));
}

export class EnrolmentRegistry {
  readonly #byCode = new Map<string, MySecuPractitioner>();

  constructor(practitioners: readonly MySecuPractitioner[]) {
    for (const practitioner of practitioners) {
      if (this.#byCode.has(practitioner.providerCode)) throw new TypeError(`Two mySecu practitioners have the code ${practitioner.providerCode}`);
      this.#byCode.set(practitioner.providerCode, { ...practitioner });
    }
  }

  get all(): MySecuPractitioner[] {
    return [...this.#byCode.values()].map((practitioner) => ({ ...practitioner }));
  }

  isEnrolled(providerCode: string): boolean {
    return this.#byCode.get(providerCode)?.enrolled === true;
  }
}
