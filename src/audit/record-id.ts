/**
 * Audit record ids: `<milliseconds since epoch, 15 digits>-<counter, 6 digits>`,
 * e.g. `001767225600000-000003`. Fixed width, so string order is append order
 * and an id works directly as a pagination cursor (and as a sort key in any
 * store). The time part makes ids readable and roughly dated; the counter
 * orders appends within one millisecond.
 */

/** JSON-schema friendly pattern of a record id (for routes that take a cursor). */
export const AUDIT_RECORD_ID_PATTERN = "^[0-9]{15}-[0-9]{6}$";

const ID_REGEX = new RegExp(AUDIT_RECORD_ID_PATTERN, "u");
const TIME_DIGITS = 15;
const COUNTER_DIGITS = 6;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;

export function isAuditRecordId(value: unknown): value is string {
  return typeof value === "string" && ID_REGEX.test(value);
}

/**
 * Hands out strictly increasing ids. It never goes backwards, even when the
 * wall clock does (NTP step, VM resume) or when it is seeded with the last id
 * of a previous run that was written by a clock ahead of this one: the time
 * part is then held at the last value and the counter advances. When the
 * counter is exhausted within one millisecond the time part moves on by one,
 * like a logical clock.
 */
export class AuditRecordIdSequence {
  #lastMillis: number;
  #lastCounter: number;

  /** @param lastId the greatest id already stored, to continue after a restart. */
  constructor(lastId?: string) {
    if (lastId === undefined) {
      this.#lastMillis = -1;
      this.#lastCounter = MAX_COUNTER;
      return;
    }
    if (!isAuditRecordId(lastId)) {
      throw new TypeError(`not an audit record id: ${JSON.stringify(lastId)}`);
    }
    this.#lastMillis = Number(lastId.slice(0, TIME_DIGITS));
    this.#lastCounter = Number(lastId.slice(TIME_DIGITS + 1));
  }

  next(now: Date): string {
    const millis = now.getTime();
    if (!Number.isSafeInteger(millis) || millis < 0) {
      throw new TypeError(`clock returned an invalid time: ${String(now)}`);
    }
    if (millis > this.#lastMillis) {
      this.#lastMillis = millis;
      this.#lastCounter = 0;
    } else if (this.#lastCounter < MAX_COUNTER) {
      this.#lastCounter += 1;
    } else {
      this.#lastMillis += 1;
      this.#lastCounter = 0;
    }
    return (
      String(this.#lastMillis).padStart(TIME_DIGITS, "0") + "-" + String(this.#lastCounter).padStart(COUNTER_DIGITS, "0")
    );
  }
}
