import { describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StatusScreen, formatEta } from "./StatusScreen";
import { StatusIndicator } from "./StatusIndicator";
import { ErrorBar } from "./ErrorBar";
import { SignInError } from "../office/signInError";
import { mockFetch } from "../test/fetchMock";
import { renderPane } from "../test/render";
import { summarize } from "../state/mailings";
import { ApiError } from "../api/client";
import { translate } from "../i18n";
import type { MailingStatus } from "../api/types";

const m = (over: Partial<MailingStatus>): MailingStatus => ({
  id: "m1",
  mode: "Resumes",
  state: "Sending",
  total: 10,
  sent: 4,
  failed: 0,
  skipped: 0,
  bounced: 0,
  pending: 6,
  createdAt: "2026-11-27T03:00:00Z",
  startedAt: "2026-11-27T03:00:01Z",
  finishedAt: null,
  etaSeconds: 12 * 60,
  pausedReason: null,
  subject: "11月のお知らせ",
  cancelled: 0,
  waitReason: null,
  resumesAt: null,
  ...over,
});

describe("the running/done indicator", () => {
  it("is running while any mailing runs, paused when only paused ones are left, done when the newest finished", () => {
    expect(summarize([]).state).toBe("idle");
    expect(summarize([m({}), m({ id: "m2", state: "Completed", pending: 0 })])).toEqual({ state: "running", done: 4, total: 10, sent: 4 });
    expect(summarize([m({ state: "Paused" })]).state).toBe("paused");
    expect(summarize([m({ state: "Completed", sent: 10, pending: 0 })])).toEqual({ state: "done", done: 10, total: 10, sent: 10 });
  });

  it("shows progress in the header and opens the status screen", async () => {
    mockFetch({
      "GET /api/mailings": () => [m({})],
      "GET /api/mailings/events": () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } }),
    });
    const onOpen = vi.fn();
    renderPane(<StatusIndicator onOpen={onOpen} />, { mailings: true });
    const button = await screen.findByRole("button", { name: /Sending \(4\/10\)/ });
    expect(button).toHaveAttribute("data-state", "running");
    await userEvent.click(button);
    expect(onOpen).toHaveBeenCalled();
  });
});

describe("the status screen", () => {
  it("lists my mailings with progress, ETA, counts and the controls each state allows", async () => {
    const { calls } = mockFetch({
      "GET /api/mailings": () => [
        m({}),
        m({ id: "m2", state: "Completed", sent: 8, failed: 2, pending: 0, finishedAt: "2026-11-27T03:10:00Z", subject: "先月" }),
      ],
      "GET /api/mailings/events": () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } }),
      "POST /api/mailings/m1/pause": () => m({ state: "Paused", pausedReason: "Paused by the user" }),
      "POST /api/mailings/m2/retry-failed": () => m({ id: "m2", state: "Queued", pending: 2, sent: 8, subject: "先月" }),
    });
    const user = userEvent.setup({ delay: null });
    renderPane(<StatusScreen />, { mailings: true, lang: "ja" });
    const running = await screen.findByRole("group", { name: "11月のお知らせ の操作" });
    expect(screen.getByRole("progressbar", { name: "11月のお知らせ の進捗" })).toBeInTheDocument();
    expect(screen.getByText("残り約 12 分")).toBeInTheDocument();
    expect(within(running).getByRole("button", { name: "一時停止" })).toBeInTheDocument();
    expect(within(running).getByRole("button", { name: "送信を中止" })).toBeInTheDocument();
    expect(within(running).queryByRole("button", { name: "失敗分を再送" })).not.toBeInTheDocument();

    const done = screen.getByRole("group", { name: "先月 の操作" });
    expect(within(done).getByRole("button", { name: "失敗分を再送" })).toBeInTheDocument();
    expect(within(done).queryByRole("button", { name: "一時停止" })).not.toBeInTheDocument();
    expect(within(done).getByRole("button", { name: "結果をダウンロード（CSV）" })).toBeInTheDocument();

    await user.click(within(running).getByRole("button", { name: "一時停止" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/m1/pause"))).toBe(true));
    expect(await screen.findByText("一時停止中：Paused by the user")).toBeInTheDocument();
  });

  it("shows a cancelled mailing as cancelled (own state and colour, never done or green)", async () => {
    mockFetch({
      "GET /api/mailings": () => [
        m({ state: "Cancelled", sent: 3, cancelled: 7, pending: 0, etaSeconds: null, finishedAt: "2026-11-27T03:05:00Z" }),
      ],
    });
    renderPane(
      <>
        <StatusIndicator onOpen={vi.fn()} />
        <StatusScreen />
      </>,
      { mailings: true, lang: "ja" },
    );
    const card = (await screen.findByRole("group", { name: "11月のお知らせ の操作" })).closest("li")!;
    expect(within(card).getByTestId("mailing-state")).toHaveTextContent("中止");
    expect(card.textContent).not.toContain("完了");
    expect(within(card).getByText(/ · 終了 /)).toBeInTheDocument();
    expect(within(card).getByText("中止 7")).toBeInTheDocument();
    const indicator = screen.getByTestId("status-indicator");
    expect(indicator).toHaveAttribute("data-state", "cancelled");
    expect(indicator).toHaveTextContent("中止（3 件送信済み）");
    expect(summarize([m({ state: "Cancelled", sent: 3, cancelled: 7, pending: 0 })]).state).toBe("cancelled");
  });

  it("counts messages decided against messages, shows skips apart, and names the wait with the ETA moving with it", async () => {
    const resumesAt = new Date(Date.now() + 10 * 60_000).toISOString();
    mockFetch({
      "GET /api/mailings": () => [
        m({
          total: 1200, sent: 30, failed: 2, bounced: 1, skipped: 144, pending: 1023, messages: 1056, decided: 33,
          etaSeconds: 60, waitCode: "RetryAfter", waitArgs: { seconds: "600" }, waitReason: "Microsoft 365 asked to wait", resumesAt,
        }),
        m({ id: "m2", subject: "503", waitCode: "GraphErrors", waitArgs: { graphCode: "ServiceUnavailable", graphMessage: "The service is busy." }, etaSeconds: 90 }),
      ],
      "GET /api/mailings/events": () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } }),
    });
    renderPane(
      <>
        <StatusIndicator onOpen={vi.fn()} />
        <StatusScreen />
      </>,
      { mailings: true, lang: "ja" },
    );
    const card = (await screen.findByRole("group", { name: "11月のお知らせ の操作" })).closest("li")!;
    expect(within(card).getByTestId("mailing-progress-text")).toHaveTextContent("1,056 通中 33 通処理済み");
    expect(within(card).getByTestId("mailing-skipped")).toHaveTextContent("送信対象外 144");
    expect(within(card).getByTestId("mailing-wait")).toHaveTextContent("待機中：Microsoft 365 の送信制限により 600 秒待機中です。");
    // The server's ETA said 1 min, but Microsoft 365 asked to wait 10 min: the ETA is at least the wait.
    expect(within(card).getByTestId("mailing-eta")).toHaveTextContent("残り約 10 分");
    const other = (await screen.findByRole("group", { name: "503 の操作" })).closest("li")!;
    expect(within(other).getByTestId("mailing-wait")).toHaveTextContent("最後のエラー：ServiceUnavailable The service is busy.");
    expect(screen.getByTestId("status-indicator")).toHaveTextContent("送信中（37/1,066 件）");
  });

  it("asks before cancelling a mailing", async () => {
    const { calls } = mockFetch({
      "GET /api/mailings": () => [m({})],
      "GET /api/mailings/events": () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } }),
      "POST /api/mailings/m1/cancel": () => m({ state: "Cancelled", cancelled: 6, pending: 0 }),
    });
    const user = userEvent.setup({ delay: null });
    renderPane(<StatusScreen />, { mailings: true });
    await user.click(await screen.findByRole("button", { name: "Cancel sending" }));
    const ask = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(ask().getByRole("button", { name: "Keep sending" })).toHaveFocus());
    await user.click(ask().getByRole("button", { name: "Keep sending" }));
    expect(calls.some((c) => c.url.endsWith("/cancel"))).toBe(false);
    await user.click(await screen.findByRole("button", { name: "Cancel sending" }));
    await waitFor(() => expect(ask().getByTestId("ask-yes")).toBeInTheDocument());
    await user.click(ask().getByTestId("ask-yes"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/m1/cancel"))).toBe(true));
    expect(await screen.findByText("Cancelled")).toBeInTheDocument();
  });

  it("formats the ETA", () => {
    const t = (k: Parameters<typeof translate>[1], v?: Record<string, string | number>) => translate("en", k, v);
    expect(formatEta(20, t)).toBe("20 s");
    expect(formatEta(125, t)).toBe("3 min");
    expect(formatEta(3 * 3600 + 60, t)).toBe("3 h 1 min");
  });
});

describe("ErrorBar", () => {
  it("shows the problem's title and each template error once", () => {
    const e = new ApiError({
      status: 400,
      title: "The mailing has invalid input; nothing was stored.",
      fieldErrors: { body: ["'{{' inside a tag"] },
      templateErrors: [{ part: "body", line: 2, column: 3, message: "'{{' inside a tag" }],
    });
    renderPane(<ErrorBar error={e} sending />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Some entries need attention. Nothing was sent.");
    expect(alert).toHaveTextContent("Body, line 2, column 3: '{{' inside a tag");
    expect(alert.textContent!.match(/inside a tag/g)).toHaveLength(1);
  });

  it("explains a network failure in the user's language", () => {
    renderPane(<ErrorBar error={new ApiError({ status: 0, title: "Network error", network: true })} />, { lang: "ja" });
    expect(screen.getByRole("alert")).toHaveTextContent("BulkMail サーバーが応答しません");
  });

  it("explains sign-in errors in the pane's language", () => {
    const { unmount } = renderPane(<ErrorBar error={new SignInError("cancelled", 12006)} />, { lang: "ja" });
    expect(screen.getByRole("alert")).toHaveTextContent("サインインできませんでした");
    expect(screen.getByRole("alert")).toHaveTextContent("サインインが完了する前にサインイン画面が閉じられました");
    unmount();

    const blocked = renderPane(<ErrorBar error={new SignInError("blocked", 12009)} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Could not sign in");
    expect(screen.getByRole("alert")).toHaveTextContent("Outlook could not open the sign-in window (it was blocked)");
    blocked.unmount();

    renderPane(<ErrorBar error={new SignInError("failed", "invalid_client", "AADSTS700054: response_type 'id_token' is not enabled.")} />, {
      lang: "ja",
    });
    expect(screen.getByRole("alert")).toHaveTextContent("サインインに失敗しました（invalid_client）");
    expect(screen.getByRole("alert")).toHaveTextContent("AADSTS700054");
  });
});

describe("deleting a mailing", () => {
  it("offers Delete on finished mailings only, asks first with the focus on Keep it, and removes the card after DELETE", async () => {
    let deleted = false;
    const { calls } = mockFetch({
      "GET /api/mailings": () => [
        m({}),
        m({ id: "m2", state: "Completed", sent: 10, pending: 0, finishedAt: "2026-11-27T03:10:00Z", subject: "先月" }),
        m({ id: "m3", state: "Cancelled", sent: 3, pending: 0, cancelled: 7, finishedAt: "2026-11-27T03:10:00Z", subject: "中止分" }),
      ].filter((x) => !(deleted && x.id === "m2")),
      "GET /api/mailings/events": () => new Response(new ReadableStream(), { headers: { "Content-Type": "text/event-stream" } }),
      "DELETE /api/mailings/m2": () => {
        deleted = true;
        return new Response(null, { status: 204 });
      },
      "DELETE /api/mailings/m3": () =>
        new Response(
          JSON.stringify({ status: 409, title: "Conflict", code: "MailingStillStopping", args: { id: "m3" }, detail: "Mailing m3 is Cancelled but its last messages are still going out; delete it in a moment." }),
          { status: 409, headers: { "Content-Type": "application/problem+json" } },
        ),
    });
    const user = userEvent.setup({ delay: null });
    renderPane(<StatusScreen />, { mailings: true, lang: "ja" });
    const running = await screen.findByRole("group", { name: "11月のお知らせ の操作" });
    expect(within(running).queryByRole("button", { name: "削除" })).not.toBeInTheDocument();
    const done = screen.getByRole("group", { name: "先月 の操作" });
    await user.click(within(done).getByRole("button", { name: "削除" }));
    const ask = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(ask().getByText("「先月」を削除しますか？")).toBeInTheDocument());
    await waitFor(() => expect(ask().getByRole("button", { name: "削除しない" })).toHaveFocus());
    await user.click(ask().getByRole("button", { name: "削除しない" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);

    await user.click(within(await screen.findByRole("group", { name: "先月 の操作" })).getByRole("button", { name: "削除" }));
    await waitFor(() => expect(ask().getByRole("button", { name: "削除する" })).toBeInTheDocument());
    await user.click(ask().getByRole("button", { name: "削除する" }));
    await waitFor(() => expect(screen.queryByRole("group", { name: "先月 の操作" })).not.toBeInTheDocument());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.url)).toEqual([expect.stringMatching(/\/api\/mailings\/m2$/)]);

    // Still stopping: the server's 409 in words, and the card stays.
    await user.click(within(await screen.findByRole("group", { name: "中止分 の操作" })).getByRole("button", { name: "削除" }));
    await waitFor(() => expect(ask().getByRole("button", { name: "削除する" })).toBeInTheDocument());
    await user.click(ask().getByRole("button", { name: "削除する" }));
    expect(await screen.findByText(/still going out|まだ送信中/)).toBeInTheDocument();
    expect(await screen.findByRole("group", { name: "中止分 の操作" })).toBeInTheDocument();
  });
});
