// The confirmation's "When" (送信タイミング): send now or at a time, optionally only inside a sending window, as the pane
// holds it while the user edits, and as POST /api/mailings/{id}/start takes it. Pure: times in an IANA time zone are
// turned into ISO 8601 with that zone's offset by Intl (no table of offsets), and the undo deadline is counted from
// the server's clock.
import { ApiError } from "../api/client";
import { WEEK_DAYS, type SendWindow, type StartRequest, type WeekDay } from "../api/types";
import { messageText } from "../i18n/codes";

export const DEFAULT_TIME_ZONE = "Asia/Tokyo";
export const MAX_UNDO_SECONDS = 600;

export interface ScheduleDraft {
  when: "now" | "at";
  /** "YYYY-MM-DD" and "HH:mm", wall time in `timeZone`. */
  date: string;
  time: string;
  useWindow: boolean;
  days: WeekDay[];
  from: string;
  to: string;
  timeZone: string;
  skipHolidays: boolean;
  /** Seconds Undo stays possible after Start (0–600); "" = the server's Sending:UndoSeconds. */
  undoSeconds: string;
}

/** The controls a schedule problem can name (the API's field paths, coord.md; `window` alone: a window that never opens). */
export const SCHEDULE_FIELDS = ["sendAt", "window.days", "window.from", "window.to", "window.timeZone", "undoSeconds", "window"] as const;
export type ScheduleField = (typeof SCHEDULE_FIELDS)[number];
export type ScheduleErrors = Partial<Record<ScheduleField, string[]>>;

const pad = (n: number) => String(n).padStart(2, "0");

/** The wall-clock parts of an instant in a time zone. */
function partsIn(ms: number, timeZone: string) {
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    weekday: "short",
  });
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(new Date(ms))) p[x.type] = x.value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    second: Number(p.second),
    weekday: (p.weekday ?? "Mon") as WeekDay,
  };
}

/** The zone's offset from UTC at an instant, in minutes (Tokyo +540). */
export function offsetMinutes(ms: number, timeZone: string): number {
  const p = partsIn(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** "2026-12-02" + "09:00" in Asia/Tokyo → "2026-12-02T09:00:00+09:00"; null when the date or the time is not one. */
export function zonedIso(date: string, time: string, timeZone: string): string | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})$/.exec(time);
  if (!d || !t || !isTimeZone(timeZone)) return null;
  const [y, mo, da, h, mi] = [Number(d[1]), Number(d[2]), Number(d[3]), Number(t[1]), Number(t[2])];
  const wall = Date.UTC(y, mo - 1, da, h, mi);
  if (Number.isNaN(wall) || h > 23 || mi > 59) return null;
  // The offset at the wall time read as UTC, then again at the instant it gives (right across a DST change).
  let off = offsetMinutes(wall, timeZone);
  off = offsetMinutes(wall - off * 60_000, timeZone);
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `${date}T${time}:00${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** A fresh "When": now, and (when the user picks a time) tomorrow 09:00 in Tokyo; the window Mon–Fri 09:00–18:00. */
export function initialSchedule(now: number = Date.now(), timeZone = DEFAULT_TIME_ZONE): ScheduleDraft {
  const p = partsIn(now + 24 * 3600_000, timeZone);
  return {
    when: "now",
    date: `${p.year}-${pad(p.month)}-${pad(p.day)}`,
    time: "09:00",
    useWindow: false,
    days: ["Mon", "Tue", "Wed", "Thu", "Fri"],
    from: "09:00",
    to: "18:00",
    timeZone,
    skipHolidays: true,
    undoSeconds: "",
  };
}

/** The "When" of a Scheduled mailing, to change it: its send time (wall time in its window's zone, else Tokyo) and
 * its window as the status reports them; undoSeconds left to the server. */
export function scheduleFromStatus(
  sendAt: string | null | undefined,
  window: { days: string[]; from: string; to: string; timeZone: string; skipHolidays: boolean } | null | undefined,
  now: number = Date.now(),
): ScheduleDraft {
  const timeZone = window?.timeZone && isTimeZone(window.timeZone) ? window.timeZone : DEFAULT_TIME_ZONE;
  const base = initialSchedule(now, timeZone);
  const at = sendAt ? Date.parse(sendAt) : NaN;
  const p = Number.isNaN(at) ? null : partsIn(at, timeZone);
  return {
    ...base,
    when: p ? "at" : "now",
    date: p ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : base.date,
    time: p ? `${pad(p.hour)}:${pad(p.minute)}` : base.time,
    useWindow: !!window,
    days: window ? WEEK_DAYS.filter((d) => window.days.includes(d)) : base.days,
    from: window?.from ?? base.from,
    to: window?.to ?? base.to,
    skipHolidays: window?.skipHolidays ?? base.skipHolidays,
  };
}

/** True when the schedule asks for more than "now, any time" (the dry run is needed to know the finish time). */
export const isScheduled = (s: ScheduleDraft): boolean => s.when === "at" || s.useWindow;

/** The start body of a schedule (without undoSeconds unless the user set it: the server's Sending:UndoSeconds). */
export function startRequest(s: ScheduleDraft): StartRequest {
  const req: StartRequest = {};
  if (s.undoSeconds.trim() !== "") req.undoSeconds = Number(s.undoSeconds.trim());
  if (s.when === "at") req.sendAt = zonedIso(s.date, s.time, s.timeZone);
  if (s.useWindow) {
    const window: SendWindow = {
      days: WEEK_DAYS.filter((d) => s.days.includes(d)),
      from: s.from,
      to: s.to,
      timeZone: s.timeZone,
      skipHolidays: s.skipHolidays,
    };
    req.window = window;
  }
  return req;
}

/** What the pane can tell before asking: a time that is not one. Days, the window's order, the past: the server says. */
export function localScheduleErrors(s: ScheduleDraft, text: { badTime: string; badUndo?: string }): ScheduleErrors {
  const e: ScheduleErrors = {};
  const undo = s.undoSeconds.trim();
  if (undo !== "" && !(/^\d{1,3}$/.test(undo) && Number(undo) <= MAX_UNDO_SECONDS)) e.undoSeconds = [text.badUndo ?? text.badTime];
  if (s.when === "at" && zonedIso(s.date, s.time, s.timeZone) === null) e.sendAt = [text.badTime];
  if (s.useWindow && !/^\d{2}:\d{2}$/.test(s.from)) e["window.from"] = [text.badTime];
  if (s.useWindow && !/^\d{2}:\d{2}$/.test(s.to)) e["window.to"] = [text.badTime];
  return e;
}

/** "$.window.days", "Window.Days[0]", "sendAt" → the control it names; null for a path that is not the schedule's. */
export function scheduleFieldOf(path: string): ScheduleField | null {
  const p = path.replace(/^\$\.?/, "").replace(/\[\d+\]/g, "").toLowerCase();
  return SCHEDULE_FIELDS.find((f) => p === f.toLowerCase() || p.startsWith(`${f.toLowerCase()}.`)) ?? null;
}

/** A problem's field errors on the schedule's controls, in the pane's language when it knows the code. */
export function scheduleErrorsOf(error: unknown): ScheduleErrors {
  const e: ScheduleErrors = {};
  if (!(error instanceof ApiError)) return e;
  for (const [path, msgs] of Object.entries(error.fieldErrors)) {
    const f = scheduleFieldOf(path);
    if (!f) continue;
    const codes = error.fieldCodes[path];
    const list = (e[f] ??= []);
    msgs.forEach((m, i) => {
      const c = codes?.length === msgs.length ? codes[i] : undefined;
      const text = (c && error.lang !== "en" && messageText(c.code, error.lang, c.args)) || m;
      if (!list.includes(text)) list.push(text);
    });
  }
  return e;
}

/** "12月3日(木) 10:42" / "Thu 3 Dec 10:42": an instant as a recruiter reads it, in the given time zone. */
export function formatWhen(iso: string | null | undefined, lang: "ja" | "en", timeZone?: string): string {
  if (!iso) return "";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const tz = timeZone && isTimeZone(timeZone) ? timeZone : undefined;
  const parts = (locale: string, o: Intl.DateTimeFormatOptions) => {
    const out: Record<string, string> = {};
    for (const x of new Intl.DateTimeFormat(locale, { ...o, timeZone: tz }).formatToParts(new Date(ms))) out[x.type] = x.value;
    return out;
  };
  const clock = parts("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const time = `${clock.hour}:${clock.minute}`;
  if (lang === "ja") {
    const p = parts("ja-JP", { month: "numeric", day: "numeric", weekday: "short" });
    return `${p.month}月${p.day}日(${p.weekday}) ${time}`;
  }
  const p = parts("en-GB", { weekday: "short", day: "numeric", month: "short" });
  return `${p.weekday} ${p.day} ${p.month} ${time}`;
}

/** How far behind the server's clock its Date header may be (whole seconds, refreshed once a second). */
export const DATE_HEADER_LAG_MS = 2000;

/**
 * When the undo window closes, in this browser's clock: `undoUntil` against the server's clock at the answer (its
 * `Date` header), so a browser clock that is off does not lengthen or shorten the countdown. The header has whole
 * seconds (truncated) and Kestrel refreshes it once a second, so it may be up to 2 s behind the server's clock: 2 s are
 * added to it, so the pane never offers more time than the server gives (it may end up to 2 s early).
 */
export function undoDeadline(undoUntil: string | null | undefined, serverNow: number | null, receivedAt: number): number | null {
  if (!undoUntil) return null;
  const until = Date.parse(undoUntil);
  if (Number.isNaN(until)) return null;
  if (serverNow === null) return until;
  return receivedAt + (until - (serverNow + DATE_HEADER_LAG_MS));
}

/** Whole seconds left until a deadline (never negative). */
export const secondsLeft = (deadline: number, now: number): number => Math.max(0, Math.ceil((deadline - now) / 1000));

/** Announce the countdown to screen readers at its start, every 10 s, and at 5 s: not every second. */
export const announceAt = (left: number, first: number): boolean => left === first || (left > 0 && left % 10 === 0) || left === 5;
