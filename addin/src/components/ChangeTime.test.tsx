// 日時を変更 / Change time on the status card of a Scheduled mailing that has sent nothing: the confirmation's When
// controls prefilled from the status, the server's dry run of the new time, Save as a Start (which replaces the
// schedule), and a 409 (it began meanwhile) said in words. Mocked fetch.
import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StatusScreen } from "./StatusScreen";
import { mockFetch, problem, type Call } from "../test/fetchMock";
import { renderPane } from "../test/render";
import type { MailingStatus, StartRequest } from "../api/types";
import { scheduleFromStatus } from "../model/schedule";

const m = (over: Partial<MailingStatus>): MailingStatus => ({
  id: "m1", mode: "Resumes", state: "Scheduled", total: 3, sent: 0, failed: 0, skipped: 0, bounced: 0, pending: 3,
  createdAt: "2026-12-01T03:00:00Z", startedAt: null, finishedAt: null, etaSeconds: null, pausedReason: null,
  subject: "12月のお知らせ", cancelled: 0, waitReason: null, resumesAt: "2026-12-02T00:00:00Z", ...over,
});
const idle = () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } });
const window = { days: ["Mon", "Tue", "Wed"] as ("Mon" | "Tue" | "Wed")[], from: "10:00", to: "17:00", timeZone: "Asia/Tokyo", skipHolidays: false };
const scheduled = m({ waitCode: "Scheduled", sendAt: "2026-12-02T00:00:00Z", window });
const starts = (calls: Call[]) => calls.filter((c) => c.method === "POST" && c.url.endsWith("/api/mailings/m1/start")).map((c) => c.body as StartRequest);

/** The dialog shown now, by its role and name (Fluent may mount its surface twice: the one shown is the last). */
const shown = () => screen.getAllByRole("dialog").at(-1)!;

function api(start: (b: StartRequest) => unknown) {
  return mockFetch({
    "GET /api/mailings": () => [scheduled],
    "GET /api/mailings/events": idle,
    "POST /api/mailings/m1/start": (c) => start(c.body as StartRequest),
  });
}

describe("scheduleFromStatus", () => {
  it("reads the send time as wall time in the window's zone, and the window as it is", () => {
    const s = scheduleFromStatus("2026-12-02T00:00:00Z", window);
    expect(s).toMatchObject({ when: "at", date: "2026-12-02", time: "09:00", useWindow: true, days: ["Mon", "Tue", "Wed"], from: "10:00", to: "17:00", timeZone: "Asia/Tokyo", skipHolidays: false });
    expect(scheduleFromStatus(null, null)).toMatchObject({ when: "now", useWindow: false, timeZone: "Asia/Tokyo" });
  });
});

describe("日時を変更 on a Scheduled card", () => {
  it("opens When prefilled, shows the dry run's finish time, and saves with a Start (ja)", async () => {
    const { calls } = api((b) =>
      b.dryRun
        ? { ...scheduled, sendAt: b.sendAt, resumesAt: b.sendAt, finishesAt: "2026-12-03T05:00:00Z" }
        : { ...scheduled, sendAt: b.sendAt, resumesAt: b.sendAt },
    );
    renderPane(<StatusScreen />, { mailings: true, lang: "ja" });
    const card = (await screen.findByRole("group", { name: "12月のお知らせ の操作" })).closest("li")!;
    await userEvent.click(within(card).getByRole("button", { name: "日時を変更" }));
    await waitFor(() => expect(shown()).toHaveTextContent("送信日時の変更"));
    // Fluent's dialog may mount its surface twice: always query the dialog shown now.
    const d = { getByTestId: (id: string) => within(shown()).getByTestId(id) };
    expect(screen.getAllByRole("dialog", { name: "送信日時の変更" }).length).toBeGreaterThan(0);
    await waitFor(() => expect(within(shown()).getByRole("button", { name: "閉じる" })).toHaveFocus());
    expect(within(shown()).getByRole("button", { name: "保存" })).toBeInTheDocument();
    expect(d.getByTestId("send-date")).toHaveValue("2026-12-02");
    expect(d.getByTestId("send-time")).toHaveValue("09:00");
    expect(d.getByTestId("window-from")).toHaveValue("10:00");
    fireEvent.change(d.getByTestId("send-time"), { target: { value: "13:30" } });
    await waitFor(() => expect(d.getByTestId("schedule-finishes")).toHaveTextContent("12月3日(木) 14:00"));
    expect(starts(calls).every((b) => b.dryRun === true)).toBe(true);
    expect(starts(calls).at(-1)).toMatchObject({ sendAt: "2026-12-02T13:30:00+09:00", dryRun: true });
    await userEvent.click(d.getByTestId("change-time-save"));
    await waitFor(() => expect(screen.queryByTestId("change-time")).not.toBeInTheDocument());
    const real = starts(calls).filter((b) => !b.dryRun);
    expect(real).toEqual([{ sendAt: "2026-12-02T13:30:00+09:00", window: { ...window, skipHolidays: false } }]);
  });

  it("says in words that it already began when Start answers 409 (en), and Save stays off", async () => {
    api((b) => (b.dryRun ? { ...scheduled, finishesAt: "2026-12-03T05:00:00Z" } : problem({ title: "Conflict", status: 409, code: "NotReady" }, 409)));
    renderPane(<StatusScreen />, { mailings: true, lang: "en" });
    const card = (await screen.findByRole("group", { name: "Actions for 12月のお知らせ" })).closest("li")!;
    await userEvent.click(within(card).getByRole("button", { name: "Change time" }));
    await waitFor(() => expect(shown()).toHaveTextContent("Change the time"));
    const d = { getByTestId: (id: string) => within(shown()).getByTestId(id), findByTestId: (id: string) => within(shown()).findByTestId(id) };
    expect(within(shown()).getByRole("button", { name: "Save" })).toBeInTheDocument();
    await waitFor(() => expect(d.getByTestId("change-time-save")).toBeEnabled());
    await userEvent.click(d.getByTestId("change-time-save"));
    expect(await d.findByTestId("change-time-began")).toHaveTextContent("already begun sending");
    expect(d.getByTestId("change-time-save")).toBeDisabled();
  });

  it("is not offered for a mailing that waits outside its window after sending some", async () => {
    mockFetch({
      "GET /api/mailings": () => [m({ sent: 1, pending: 2, waitCode: "OutsideWindow", window })],
      "GET /api/mailings/events": idle,
    });
    renderPane(<StatusScreen />, { mailings: true, lang: "ja" });
    const card = (await screen.findByRole("group", { name: "12月のお知らせ の操作" })).closest("li")!;
    expect(within(card).queryByRole("button", { name: "日時を変更" })).not.toBeInTheDocument();
  });
});
