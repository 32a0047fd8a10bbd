// Formatting numbers, durations and times for display.

const nf = new Intl.NumberFormat();

export function number(n) {
  return n === null || n === undefined ? "–" : nf.format(n);
}

/** Nanoseconds as the CLI prints them: 850ns, 12.3µs, 4.21ms, 1.30s, 2m 05s. */
export function ns(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1_000) return `${Math.round(value)}ns`;
  if (value < 1_000_000) return `${trim(value / 1_000)}µs`;
  if (value < 1_000_000_000) return `${trim(value / 1_000_000)}ms`;
  return seconds(value / 1_000_000_000);
}

export function ms(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1_000) return `${Math.round(value)}ms`;
  return seconds(value / 1_000);
}

function seconds(s) {
  if (s < 60) return `${trim(s)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m}m ${String(rest).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

function trim(x) {
  if (x >= 99.95) return x.toFixed(0);
  if (x >= 9.995) return x.toFixed(1);
  return x.toFixed(2);
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function percent(x) {
  return x === null || x === undefined ? "–" : `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;
}

const formats = new Map();

function formatIn(timeZone) {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hourCycle: "h23", timeZoneName: "short", timeZone,
    });
    formats.set(timeZone, format);
  }
  return format;
}

/** The one way the UI (and the CLI's text) shows a moment: "2026-12-05 03:11:18 UTC", its
 * date and 24-hour time in a time zone, and the zone's name. ``iso`` is the API's RFC 3339
 * UTC value; ``timeZone`` an IANA zone, default this browser's. */
export function dateTime(iso, timeZone = undefined) {
  if (!iso) return "–";
  const parts = {};
  for (const { type, value } of formatIn(timeZone).formatToParts(new Date(iso))) parts[type] = value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/** "3 min ago", "just now", "2 d ago". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "–";
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function shortId(id) {
  return id ? `…${id.slice(-8)}` : "";
}

export const FINISHED = new Set(["succeeded", "failed", "timed_out", "cancelled", "crashed"]);

/** Elapsed time of an execution in ms: its duration, or the time since it started. */
export function elapsedMs(execution, now = Date.now()) {
  if (execution.duration_ms !== null && execution.duration_ms !== undefined) return execution.duration_ms;
  if (execution.started_at && !FINISHED.has(execution.status)) return now - new Date(execution.started_at).getTime();
  return null;
}

export function statusLabel(status) {
  return String(status || "").replace("_", " ");
}

/** A time in a named IANA time zone (a schedule's), as dateTime() shows every time:
 * "2026-12-08 09:30:00 EST"; a zone this browser does not know: its own zone, said so. */
export function dateTimeIn(iso, timeZone) {
  if (!iso) return "–";
  try {
    return dateTime(iso, timeZone);
  } catch {
    return `${dateTime(iso)} (local)`;
  }
}
