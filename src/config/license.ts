/** The terms printed when a non-sandbox profile starts without ACCEPT_LICENSE=true. */
export const LICENSE_TERMS = `Passerelle is free software under the Apache License 2.0, provided "AS IS",
without warranties or conditions of any kind (see LICENSE).

Outside the sandbox profile Passerelle connects to national eHealth services
and processes personal health data. By accepting you confirm that:
  - you hold the accreditations and contracts each national service requires
    (ANS / GIE SESAM-Vitale in France, CNS / Agence eSanté in Luxembourg,
    the eHealth platform in Belgium) for the software that calls Passerelle;
  - you operate it under the applicable data-protection law (GDPR) as
    controller or processor, including the audit trail it writes;
  - you keep its keys, certificates and configuration secret.

To accept, set ACCEPT_LICENSE=true in the environment (or in CONFIG_FILE).`;
