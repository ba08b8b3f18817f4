/**
 * Dates as the portal writes and reads them: ISO 8601 with the portal's UTC offset
 * (`2024-07-18T12:32:31+03:00`), second precision (a MySQL DATETIME column).
 */

/** A UTC offset in minutes from `+03:00`, `-0530`, `Z`, or a number of minutes. */
export function parseOffset(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || Math.abs(value) > 14 * 60) {
      throw new RangeError(`UTC offset out of range: ${value}`);
    }
    return value;
  }
  if (value === 'Z' || value === 'UTC') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(value);
  if (match === null) throw new RangeError(`Bad UTC offset: ${value}`);
  const [, sign, hours, minutes] = match;
  const total = Number(hours) * 60 + Number(minutes);
  if (total > 14 * 60) throw new RangeError(`UTC offset out of range: ${value}`);
  return sign === '-' ? -total : total;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function formatOffset(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function localParts(ms: number, offsetMinutes: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000);
}

/** `2024-07-18T12:32:31+03:00` */
export function formatIso(ms: number, offsetMinutes: number): string {
  const d = localParts(ms, offsetMinutes);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    formatOffset(offsetMinutes)
  );
}

/** `2024-07-18 12:32:31`, how the database holds the value (what `%TIMESTAMP_X` matches). */
export function formatSql(ms: number, offsetMinutes: number): string {
  return formatIso(ms, offsetMinutes).slice(0, 19).replace('T', ' ');
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const SITE_RE = /^(\d{2})\.(\d{2})\.(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/;

function toMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  offsetMinutes: number,
): number | null {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(utc).getUTCDate() !== day) return null; // 31 June and the like
  return utc - offsetMinutes * 60_000;
}

/**
 * A date filter value as Unix ms (whole seconds), or null when it is not a date. Accepts ISO
 * 8601 with or without an offset (without one, the portal's offset applies), `YYYY-MM-DD
 * HH:MM:SS`, a bare date, and the site format `DD.MM.YYYY HH:MM:SS`.
 */
export function parseDate(text: string, portalOffsetMinutes: number): number | null {
  const value = text.trim();
  const iso = ISO_RE.exec(value);
  if (iso !== null) {
    const [, y, mo, d, h, mi, s, zone] = iso;
    const offset = zone === undefined ? portalOffsetMinutes : parseOffset(zone.toUpperCase());
    return toMs(
      Number(y),
      Number(mo),
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
      offset,
    );
  }
  const site = SITE_RE.exec(value);
  if (site !== null) {
    const [, d, mo, y, h, mi, s] = site;
    return toMs(
      Number(y),
      Number(mo),
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
      portalOffsetMinutes,
    );
  }
  return null;
}
