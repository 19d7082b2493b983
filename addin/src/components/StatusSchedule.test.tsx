// Issue 13 on the status card: a Scheduled mailing's wait in words with when it begins and finishes, the replied and
// bounced counts, and the lists of who replied / whose mail bounced (GET /api/mailings/{id}/deliveries, paged).
import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StatusScreen } from "./StatusScreen";
import { StatusIndicator } from "./StatusIndicator";
import { mockFetch, type Call } from "../test/fetchMock";
import { renderPane } from "../test/render";
import type { DeliveryItem, MailingStatus } from "../api/types";
import { formatWhen } from "../model/schedule";

const m = (over: Partial<MailingStatus>): MailingStatus => ({
  id: "m1", mode: "Resumes", state: "Completed", total: 3, sent: 3, failed: 0, skipped: 0, bounced: 0, pending: 0,
  createdAt: "2026-12-01T03:00:00Z", startedAt: "2026-12-01T03:00:01Z", finishedAt: null, etaSeconds: null, pausedReason: null,
  subject: "12月のお知らせ", cancelled: 0, waitReason: null, resumesAt: null, ...over,
});
const idle = () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } });
const features = () => ({ paths: { "/api/mailings/{id}/deliveries": {} }, components: { schemas: {} } });
const window = { days: ["Mon", "Tue", "Wed", "Thu", "Fri"] as ("Mon" | "Tue" | "Wed" | "Thu" | "Fri")[], from: "09:00", to: "18:00", timeZone: "Asia/Tokyo", skipHolidays: true };

const scheduled = m({
  state: "Scheduled", sent: 0, pending: 3, waitCode: "Scheduled", waitReason: "Waiting for sendAt",
  sendAt: "2026-12-02T00:00:00Z", resumesAt: "2026-12-02T00:00:00Z", finishesAt: "2026-12-03T01:42:00Z", etaSeconds: 90_000, window,
});
const outside = m({ id: "m2", subject: "夜間停止", state: "Scheduled", sent: 1, pending: 2, waitCode: "OutsideWindow", resumesAt: "2026-12-02T00:00:00Z", window });

describe("a scheduled mailing on the status card", () => {
  it("says in Japanese why it waits, when it begins or goes on, the window, and it can be cancelled", async () => {
    mockFetch({
      "GET /api/mailings": () => [scheduled, outside],
      "GET /api/mailings/events": idle,
    });
    renderPane(
      <>
        <StatusIndicator onOpen={() => undefined} />
        <StatusScreen />
      </>,
      { mailings: true, lang: "ja" },
    );
    const card = (await screen.findByRole("group", { name: "12月のお知らせ の操作" })).closest("li")!;
    expect(within(card).getByTestId("mailing-state")).toHaveTextContent("予約済み");
    // The header does not pulse "sending" for mailings that wait for their time.
    expect(screen.getByTestId("status-indicator")).toHaveAttribute("data-state", "scheduled");
    expect(screen.getByTestId("status-indicator")).toHaveTextContent("予約済み（1/6 件）");
    expect(within(card).getByTestId("mailing-wait")).toHaveTextContent("待機中：予約済み：指定した日時まで送信しません。 · 12月2日(水) 09:00 に送信開始");
    expect(within(card).getByTestId("mailing-send-at")).toHaveTextContent("送信予定 12月2日(水) 09:00");
    expect(within(card).getByTestId("mailing-window")).toHaveTextContent("送信時間帯：月・火・水・木・金 09:00～18:00（Asia/Tokyo）・祝日を除く");
    expect(within(card).getByTestId("mailing-eta")).toHaveTextContent("12月3日(木) 10:42 ごろ終了");
    expect(within(card).getByRole("button", { name: "送信を中止" })).toBeInTheDocument();
    const night = (await screen.findByRole("group", { name: "夜間停止 の操作" })).closest("li")!;
    expect(within(night).getByTestId("mailing-wait")).toHaveTextContent("送信時間帯の外のため待機中です。時間帯になると再開します。 · 12月2日(水) 09:00 に再開");
  });

  it("in English: the undo window and the sending window in words", async () => {
    mockFetch({
      "GET /api/mailings": () => [m({ ...scheduled, waitCode: "UndoWindow", sendAt: null, window: null })],
      "GET /api/mailings/events": idle,
    });
    renderPane(<StatusScreen />, { mailings: true, lang: "en" });
    const card = (await screen.findByRole("group", { name: "Actions for 12月のお知らせ" })).closest("li")!;
    expect(within(card).getByTestId("mailing-state")).toHaveTextContent("Scheduled");
    expect(within(card).getByTestId("mailing-wait")).toHaveTextContent(
      // Without a window the times are this browser's (the suite's time zone; formatWhen's own test pins the format).
      `Waiting: Can still be undone: nothing is handed to Microsoft 365 before the countdown ends. · Begins ${formatWhen("2026-12-02T00:00:00Z", "en")}`,
    );
    expect(within(card).queryByTestId("mailing-window")).not.toBeInTheDocument();
  });
});

describe("replies and bounces on the status card", () => {
  const item = (i: number, over: Partial<DeliveryItem> = {}): DeliveryItem => ({
    deliveryId: `d${i}`, recordType: "Resume", recordId: 10000 + i, recordName: `候補者${i}`, address: `c${i}@example.com`, status: "Sent",
    repliedAt: "2026-12-01T05:30:00Z", bouncedAt: null, bounceReason: null, bounceKind: null, ...over,
  });

  it("counts replies and bounces and lists who replied, a page at a time, and whose mail bounced (ja)", async () => {
    const { calls } = mockFetch({
      "GET /openapi/v1.json": features,
      "GET /api/mailings": () => [m({ sent: 25, bounced: 1, replied: 21, total: 26, finishedAt: "2026-12-01T04:00:00Z" }) as MailingStatus],
      "GET /api/mailings/m1/deliveries": (c: Call) => {
        const u = new URL(c.url, "http://x");
        if (u.searchParams.get("filter") === "bounced") {
          return { items: [item(30, { status: "Bounced", repliedAt: null, bouncedAt: "2026-12-01T03:10:00Z", bounceReason: "5.1.1 user unknown", bounceKind: "Hard" })], nextCursor: null };
        }
        return u.searchParams.get("cursor") === "p2"
          ? { items: [item(21)], nextCursor: null }
          : { items: Array.from({ length: 20 }, (_, i) => item(i + 1)), nextCursor: "p2" };
      },
    });
    const user = userEvent.setup({ delay: null });
    renderPane(<StatusScreen />, { mailings: true, lang: "ja" });
    const card = (await screen.findByRole("group", { name: "12月のお知らせ の操作" })).closest("li")!;
    expect(within(card).getByTestId("mailing-counts")).toHaveTextContent("返信 21");
    expect(within(card).getByTestId("mailing-counts")).toHaveTextContent("不達 1");
    const replied = await within(card).findByRole("button", { name: "返信あり（21）" });
    expect(replied).toHaveAttribute("aria-expanded", "false");
    expect(calls.some((c) => c.url.includes("/deliveries"))).toBe(false);

    await user.click(replied);
    expect(replied).toHaveAttribute("aria-expanded", "true");
    const list = await within(card).findByRole("region", { name: "返信があった宛先" });
    await waitFor(() => expect(within(list).getAllByRole("listitem")).toHaveLength(20));
    expect(within(list).getAllByRole("listitem")[0]).toHaveTextContent("候補者1 <c1@example.com>");
    expect(within(list).getAllByRole("listitem")[0]).toHaveTextContent(`${formatWhen("2026-12-01T05:30:00Z", "ja")} に返信`);
    await user.click(within(list).getByRole("button", { name: "もっと見る" }));
    await waitFor(() => expect(within(list).getAllByRole("listitem")).toHaveLength(21));
    expect(within(list).queryByRole("button", { name: "もっと見る" })).not.toBeInTheDocument();
    const urls = calls.filter((c) => c.url.includes("/deliveries")).map((c) => c.url);
    expect(urls[0]).toMatch(/filter=replied&count=20$/);
    expect(urls[1]).toMatch(/filter=replied&cursor=p2&count=20$/);

    await user.click(within(card).getByRole("button", { name: "不達（1）" }));
    const bounced = await within(card).findByRole("region", { name: "不達になった宛先" });
    await waitFor(() => expect(within(bounced).getByRole("listitem")).toHaveTextContent("候補者30 <c30@example.com>恒久的 · 5.1.1 user unknown"));
    expect(within(card).queryByRole("region", { name: "返信があった宛先" })).not.toBeInTheDocument();
  });

  it("in English, and without the deliveries list on the server the counts stay and no list is offered", async () => {
    mockFetch({
      "GET /api/mailings": () => [m({ sent: 3, replied: 2, finishedAt: "2026-12-01T04:00:00Z" }) as MailingStatus],
    });
    renderPane(<StatusScreen />, { mailings: true, lang: "en" });
    const card = (await screen.findByRole("group", { name: "Actions for 12月のお知らせ" })).closest("li")!;
    expect(within(card).getByTestId("mailing-counts")).toHaveTextContent("Replied 2");
    // the OpenAPI document was not found: no feature assumed
    await new Promise((r) => setTimeout(r, 50));
    expect(within(card).queryByRole("button", { name: /Who replied/ })).not.toBeInTheDocument();
  });
});
