import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import {
  announceAt,
  formatWhen,
  initialSchedule,
  isScheduled,
  localScheduleErrors,
  offsetMinutes,
  scheduleErrorsOf,
  scheduleFieldOf,
  secondsLeft,
  startRequest,
  undoDeadline,
  zonedIso,
} from "./schedule";

describe("the schedule of a held mailing", () => {
  it("turns a wall time in a time zone into ISO 8601 with that zone's offset, across daylight saving", () => {
    expect(zonedIso("2026-12-02", "09:00", "Asia/Tokyo")).toBe("2026-12-02T09:00:00+09:00");
    expect(zonedIso("2026-12-02", "09:00", "UTC")).toBe("2026-12-02T09:00:00+00:00");
    // New York: standard time in December, daylight time in July.
    expect(zonedIso("2026-12-02", "09:00", "America/New_York")).toBe("2026-12-02T09:00:00-05:00");
    expect(zonedIso("2026-07-02", "09:00", "America/New_York")).toBe("2026-07-02T09:00:00-04:00");
    expect(zonedIso("2026-12-02", "", "Asia/Tokyo")).toBeNull();
    expect(zonedIso("2026-12-02", "09:00", "Not/AZone")).toBeNull();
    expect(offsetMinutes(Date.parse("2026-12-02T00:00:00Z"), "Asia/Tokyo")).toBe(540);
  });

  it("starts as now, tomorrow 09:00 Tokyo when a time is picked, and a Mon–Fri 09:00–18:00 window without holidays", () => {
    // 2026-12-01 23:30 JST = 14:30 UTC: tomorrow in Tokyo is the 2nd.
    const s = initialSchedule(Date.parse("2026-12-01T14:30:00Z"));
    expect(s).toMatchObject({ when: "now", date: "2026-12-02", time: "09:00", useWindow: false, timeZone: "Asia/Tokyo", skipHolidays: true });
    expect(isScheduled(s)).toBe(false);
    expect(startRequest(s)).toEqual({});
    const at = { ...s, when: "at" as const, useWindow: true, days: ["Fri" as const, "Mon" as const] };
    expect(isScheduled(at)).toBe(true);
    expect(startRequest(at)).toEqual({
      sendAt: "2026-12-02T09:00:00+09:00",
      // days in the week's order, whatever order they were ticked in
      window: { days: ["Mon", "Fri"], from: "09:00", to: "18:00", timeZone: "Asia/Tokyo", skipHolidays: true },
    });
    expect(localScheduleErrors({ ...at, time: "" }, { badTime: "bad" })).toEqual({ sendAt: ["bad"] });
    expect(localScheduleErrors(at, { badTime: "bad" })).toEqual({});
    // The undo window: empty is the server's default; 0–600 whole seconds are sent.
    expect(startRequest({ ...s, undoSeconds: "45" })).toEqual({ undoSeconds: 45 });
    expect(localScheduleErrors({ ...s, undoSeconds: "601" }, { badTime: "bad", badUndo: "undo" })).toEqual({ undoSeconds: ["undo"] });
    expect(localScheduleErrors({ ...s, undoSeconds: "1.5" }, { badTime: "bad", badUndo: "undo" })).toEqual({ undoSeconds: ["undo"] });
    expect(localScheduleErrors({ ...s, undoSeconds: "0" }, { badTime: "bad", badUndo: "undo" })).toEqual({});
  });

  it("puts the server's field errors on the control they name, in the pane's language when it knows the code", () => {
    expect(scheduleFieldOf("$.window.days")).toBe("window.days");
    expect(scheduleFieldOf("Window.Days[0]")).toBe("window.days");
    expect(scheduleFieldOf("sendAt")).toBe("sendAt");
    expect(scheduleFieldOf("window")).toBe("window");
    expect(scheduleFieldOf("subject")).toBeNull();
    const e = new ApiError({
      status: 400,
      title: "Invalid",
      fieldErrors: { "window.days": ["Choose at least one day."], sendAt: ["The time is in the past."], subject: ["x"] },
      fieldCodes: { "window.days": [{ code: "NotACodeTheTableKnows", args: {} }] },
      lang: "ja",
    });
    expect(scheduleErrorsOf(e)).toEqual({ "window.days": ["Choose at least one day."], sendAt: ["The time is in the past."] });
    expect(scheduleErrorsOf(new Error("x"))).toEqual({});
  });

  it("says a time as recruiters read it, in the zone of the schedule", () => {
    expect(formatWhen("2026-12-03T01:42:00Z", "ja", "Asia/Tokyo")).toBe("12月3日(木) 10:42");
    expect(formatWhen("2026-12-03T01:42:00Z", "en", "Asia/Tokyo")).toBe("Thu 3 Dec 10:42");
    expect(formatWhen("2026-12-03T01:42:00Z", "en", "UTC")).toBe("Thu 3 Dec 01:42");
    expect(formatWhen(null, "en")).toBe("");
  });

  it("counts the undo window from the server's clock, never offering more time than the server gives", () => {
    // The browser's clock is 2 minutes fast; the server said 09:00:00 (its Date header) and undoUntil 09:00:30.
    const received = Date.parse("2026-12-01T09:02:00Z");
    const deadline = undoDeadline("2026-12-01T09:00:30Z", Date.parse("2026-12-01T09:00:00Z"), received)!;
    // 30 s less the header's possible lag (2 s): never more than the server gives.
    expect(secondsLeft(deadline, received)).toBe(28);
    expect(secondsLeft(deadline, received + 28_000)).toBe(0);
    // Without a Date header: the browser's clock.
    expect(undoDeadline("2026-12-01T09:00:30Z", null, received)).toBe(Date.parse("2026-12-01T09:00:30Z"));
    expect(undoDeadline(null, null, received)).toBeNull();
  });

  it("announces the countdown at its start, every 10 s and at 5 s only", () => {
    const said = Array.from({ length: 30 }, (_, i) => 29 - i).filter((n) => announceAt(n, 29));
    expect(said).toEqual([29, 20, 10, 5]);
  });
});
