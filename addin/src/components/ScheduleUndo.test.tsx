// Issue 13 in the pane: the confirmation's "When" (send now / at a time, a sending window) with the finish time from
// the server's dry run, the undo countdown after Start and Undo back to the editor, against mocked fetch (the API's
// contract in coord.md).
import { afterEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { App } from "./App";
import { Composer } from "./Composer";
import { UndoBar } from "./UndoBar";
import { json, mockFetch, problem, type Call } from "../test/fetchMock";
import { renderPane } from "../test/render";
import { I18nProvider } from "../i18n";
import { initialDraft } from "../model/draft";
import { loadDraft, saveDraft } from "../model/draftStore";
import type { MailingRequest, MailingStatus, StartRequest } from "../api/types";
import type { Selection } from "../model/search";

const selection: Selection = { resource: "resumes", query: {}, displayedIds: [10001, 10002, 10003], checkedIds: [10001, 10002, 10003], total: 3 };

const field = (alias: string, label: string, isMail = false) => ({ alias, label, type: "SinglelineText", typeCode: 1, required: false, isMail, referTo: null });

const status = (over: Partial<MailingStatus> & Record<string, unknown>): MailingStatus => ({
  id: "m9", mode: "Resumes", state: "Preparing", total: 0, sent: 0, failed: 0, skipped: 0, bounced: 0, pending: 0,
  createdAt: "2026-12-01T00:00:00Z", startedAt: null, finishedAt: null, etaSeconds: null, pausedReason: null,
  cancelled: 0, subject: "", waitReason: null, resumesAt: null, ...over,
});
const ready = status({ state: "Ready", total: 3, scopeTotal: 3, counted: 3, messages: 3, estimatedSeconds: 120, finishesAt: "2026-12-01T00:02:00Z", subject: "件名" });
const sse = (...events: unknown[]) =>
  new Response(
    new ReadableStream({
      start(c) {
        for (const e of events) c.enqueue(new TextEncoder().encode(`data: ${JSON.stringify(e)}\n\n`));
        c.close();
      },
    }),
    { headers: { "Content-Type": "text/event-stream" } },
  );

/** A server with hold, scheduling (start with sendAt/window/dryRun) and undo. `start` answers a real start. */
function api(opts: { dryRun?: (body: StartRequest) => Response | unknown; start?: (body: StartRequest) => Response | unknown; undo?: () => Response | unknown; cancel?: () => unknown } = {}) {
  let live = ready;
  let started = false;
  return mockFetch({
    "GET /openapi/v1.json": () => ({
      paths: { "/api/mailings/{id}/start": {}, "/api/mailings/{id}/deliveries": {} },
      components: { schemas: { MailingRequest: { properties: { mode: {}, hold: {} } }, StartRequest: { properties: { sendAt: {}, window: {}, undoSeconds: {}, dryRun: {} } } } },
    }),
    "GET /api/hrbc/Resume/fields": () => [field("Resume.P_Name", "レジュメタイトル"), field("Resume.P_Mail", "メールアドレス", true)],
    "GET /api/hrbc/Candidate/fields": () => [field("Person.P_Name", "氏名")],
    "GET /api/hrbc/Job/fields": () => [],
    "GET /api/hrbc/Client/fields": () => [],
    "GET /api/hrbc/Recruiter/fields": () => [],
    "GET /api/hrbc/phases": () => [],
    "GET /api/templates": () => [],
    // held, the mailing is the confirmation's; once started the list has it
    "GET /api/mailings": () => (started ? [live] : []),
    "POST /api/mailings/preview": () => ({ records: 3, scopeTotal: 3, complete: true, messages: 3, skipped: 0, samples: [], warnings: [], mailFields: [{ alias: "Resume.P_Mail", label: "メールアドレス", count: 3 }] }),
    "POST /api/mailings": () => json({ id: "m9", state: "Preparing" }, 202),
    "POST /api/mailings/m9/cancel": () => {
      const cancelled = opts.cancel?.();
      if (cancelled) live = cancelled as MailingStatus;
      return cancelled ?? status({ state: "Cancelled", held: true });
    },
    "POST /api/mailings/m9/start": (c: Call) => {
      const body = (c.body ?? {}) as StartRequest;
      if (body.dryRun) return opts.dryRun?.(body) ?? status({ ...ready, state: "Scheduled", waitCode: "Scheduled", sendAt: body.sendAt, resumesAt: body.sendAt, finishesAt: "2026-12-03T01:42:00Z" });
      // After Start the mailing's events say what it is now (Scheduled while its undo window lasts).
      live = status({ ...ready, state: "Scheduled", waitCode: "UndoWindow" });
      started = true;
      return opts.start?.(body) ?? status({ ...ready, state: "Queued" });
    },
    "POST /api/mailings/m9/undo": () => opts.undo?.() ?? status({ ...ready, state: "Cancelled", cancelled: 3 }),
    "GET /api/mailings/m9/events": () => sse(live),
    "GET /api/mailings/events": () => sse(live),
    "GET /api/mailings/m9": () => live,
  });
}

const starts = (calls: Call[]) => calls.filter((c) => c.method === "POST" && c.url.endsWith("/m9/start")).map((c) => (c.body ?? {}) as StartRequest);

async function openConfirmation(lang: "en" | "ja", onSubmitted = vi.fn()) {
  const user = userEvent.setup({ delay: null });
  renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={onSubmitted} />, { mailings: true, lang });
  await screen.findByRole("checkbox", { name: lang === "en" ? "メールアドレス (3 of 3)" : "メールアドレス（3 件中 3 件）" });
  fireEvent.change(screen.getByRole("textbox", { name: lang === "en" ? /Subject/ : /件名/ }), { target: { value: "件名" } });
  const editor = screen.getByRole("textbox", { name: lang === "en" ? "Body" : "本文" });
  editor.innerHTML = "<p>本文</p>";
  fireEvent.input(editor);
  await user.click(screen.getByRole("button", { name: lang === "en" ? "Send" : "送信" }));
  const shown = () => within(screen.getByRole("alertdialog"));
  await waitFor(() => expect(shown().getByTestId("confirm-messages")).toBeInTheDocument());
  return { user, shown, onSubmitted };
}

describe("the confirmation's When (送信タイミング)", () => {
  it("sends now by default; at a time asks the server's dry run once the edits settle and shows when it begins and finishes", async () => {
    const { calls } = api();
    const { user, shown, onSubmitted } = await openConfirmation("en");
    const group = within(shown().getByTestId("schedule"));
    expect(group.getByRole("radio", { name: "Send now" })).toBeChecked();
    expect(group.getByText("Times in Asia/Tokyo")).toBeInTheDocument();
    expect(group.getByRole("combobox", { name: "Time zone" })).toHaveValue("Asia/Tokyo");
    // Now and any time: the held figures, no dry run.
    expect(shown().getByTestId("confirm-duration")).toHaveTextContent("Takes about 2 min");
    expect(starts(calls)).toHaveLength(0);

    await user.click(group.getByRole("radio", { name: "At a time" }));
    fireEvent.change(group.getByLabelText("Date"), { target: { value: "2026-12-02" } });
    fireEvent.change(group.getByLabelText("Time"), { target: { value: "09:00" } });
    await waitFor(() => expect(shown().getByTestId("schedule-finishes")).toHaveTextContent("Finishes Thu 3 Dec 10:42"));
    expect(shown().getByTestId("schedule-begins")).toHaveTextContent("Sending begins Wed 2 Dec 09:00");
    expect(shown().queryByTestId("confirm-duration")).not.toBeInTheDocument();
    // Debounced: the edits in a row made one dry run (of the settled schedule), and nothing was started.
    const dry = starts(calls);
    expect(dry.every((b) => b.dryRun === true)).toBe(true);
    expect(dry.at(-1)).toEqual({ sendAt: "2026-12-02T09:00:00+09:00", dryRun: true });
    expect(dry.length).toBeLessThanOrEqual(2);

    // Advanced: the undo window's length, folded away; out of range is refused next to it, and Yes waits.
    const advanced = group.getByRole("button", { name: "Advanced" });
    expect(advanced).toHaveAttribute("aria-expanded", "false");
    await user.click(advanced);
    const undoSeconds = group.getByRole("spinbutton", { name: /Undo possible for/ });
    fireEvent.change(undoSeconds, { target: { value: "700" } });
    expect(await group.findByText("Enter whole seconds from 0 to 600, or leave it empty.")).toBeInTheDocument();
    expect(shown().getByRole("button", { name: "Yes, send" })).toBeDisabled();
    fireEvent.change(undoSeconds, { target: { value: "45" } });
    await waitFor(() => expect(shown().getByRole("button", { name: "Yes, send" })).toBeEnabled());

    await user.click(shown().getByRole("button", { name: "Yes, send" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalled());
    const real = starts(calls).filter((b) => !b.dryRun);
    expect(real).toEqual([{ sendAt: "2026-12-02T09:00:00+09:00", undoSeconds: 45 }]);
    // No undo window in this answer: the mailing goes on and the draft is gone.
    expect(onSubmitted.mock.calls[0]![2]).toBeNull();
    expect(loadDraft()).toBeNull();
  });

  it("in Japanese: a sending window with days and holidays, its problem shown next to the days, Yes waits until fixed", async () => {
    const { calls } = api({
      dryRun: (b) =>
        b.window && b.window.days.length === 0
          ? problem({ status: 400, title: "Invalid", code: "InvalidSchedule", errors: { "window.days": ["曜日を 1 つ以上選んでください。"] } })
          : status({ ...ready, state: "Scheduled", waitCode: "OutsideWindow", resumesAt: "2026-12-02T00:00:00Z", finishesAt: "2026-12-03T01:42:00Z", window: b.window }),
    });
    const { user, shown } = await openConfirmation("ja");
    const group = () => within(shown().getByTestId("schedule"));
    expect(group().getByRole("radio", { name: "今すぐ送信" })).toBeChecked();
    await user.click(group().getByRole("checkbox", { name: "送信する時間帯を指定する" }));
    const days = within(group().getByTestId("window-days"));
    for (const d of ["月", "火", "水", "木", "金"]) expect(days.getByRole("checkbox", { name: d })).toBeChecked();
    expect(days.getByRole("checkbox", { name: "土" })).not.toBeChecked();
    expect(group().getByRole("checkbox", { name: "祝日を除く" })).toBeChecked();
    await waitFor(() => expect(shown().getByTestId("schedule-finishes")).toHaveTextContent("完了予定 12月3日(木) 10:42"));
    expect(shown().getByTestId("schedule-begins")).toHaveTextContent("送信開始 12月2日(水) 09:00");
    expect(starts(calls).at(-1)).toEqual({ window: { days: ["Mon", "Tue", "Wed", "Thu", "Fri"], from: "09:00", to: "18:00", timeZone: "Asia/Tokyo", skipHolidays: true }, dryRun: true });

    // Every day unticked: the server's problem under the days, Yes disabled.
    for (const d of ["月", "火", "水", "木", "金"]) await user.click(days.getByRole("checkbox", { name: d }));
    await waitFor(() => expect(group().getByText("曜日を 1 つ以上選んでください。")).toBeInTheDocument());
    expect(group().getByTestId("window-days")).toHaveAttribute("aria-invalid", "true");
    expect(shown().getByRole("button", { name: "はい、送信する" })).toBeDisabled();
    await user.click(days.getByRole("checkbox", { name: "土" }));
    await waitFor(() => expect(group().queryByText("曜日を 1 つ以上選んでください。")).not.toBeInTheDocument());
    await waitFor(() => expect(shown().getByRole("button", { name: "はい、送信する" })).toBeEnabled());
    expect(starts(calls).filter((b) => !b.dryRun)).toHaveLength(0);
  });
});

describe("the undo countdown", () => {
  afterEach(() => vi.useRealTimers());

  it("counts down each second, tells screen readers at a sane rate, and ends by itself", () => {
    vi.useFakeTimers({ now: Date.parse("2026-12-01T09:00:00Z") });
    const onExpire = vi.fn();
    render(
      <FluentProvider theme={webLightTheme}>
        <I18nProvider lang="ja">
          <UndoBar subject="12月のお知らせ" deadline={Date.parse("2026-12-01T09:00:27Z")} busy={false} onUndo={vi.fn()} onExpire={onExpire} />
        </I18nProvider>
      </FluentProvider>,
    );
    const button = screen.getByRole("button", { name: "送信を取り消す（残り 27 秒）" });
    expect(button).toHaveFocus();
    const live = screen.getByTestId("undo-live");
    expect(live).toHaveAttribute("aria-live", "polite");
    expect(live).toHaveTextContent("「12月のお知らせ」はあと 27 秒で送信を開始します。");
    act(() => vi.advanceTimersByTime(1000));
    expect(button).toHaveTextContent("送信を取り消す（残り 26 秒）");
    // The live region did not change with the button: not every second.
    expect(live).toHaveTextContent("あと 27 秒");
    act(() => vi.advanceTimersByTime(6000));
    expect(button).toHaveTextContent("残り 20 秒");
    expect(live).toHaveTextContent("あと 20 秒");
    act(() => vi.advanceTimersByTime(19_000));
    expect(button).toHaveTextContent("残り 1 秒");
    expect(onExpire).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(1000));
    expect(button).toBeDisabled();
    expect(onExpire).toHaveBeenCalledTimes(1);
  });
});

describe("Undo after Start", () => {
  /** The server's clock is 5 minutes behind this browser: the countdown must come from undoUntil − Date, not the click. */
  const startWithUndo = () => {
    const server = Date.now() - 5 * 60_000;
    const until = new Date(server + 30_000).toISOString();
    return json(status({ ...ready, state: "Scheduled", waitCode: "UndoWindow", undoUntil: until, resumesAt: until }), 200, { Date: new Date(server).toUTCString() });
  };

  function openApp() {
    saveDraft({
      mode: "Resumes",
      anchorId: null,
      selection,
      draft: { ...initialDraft(selection), mailFields: ["Resume.P_Mail"], subject: "12月のお知らせ", body: "<p>本文です</p>", logActivity: true, replyLogActivity: true, optOutFooter: false },
    });
    return renderPane(<App />, { mailings: true });
  }

  it("shows the countdown from the server's time, and Undo returns to the editor with everything kept and nothing sent", async () => {
    const { calls } = api({ start: startWithUndo });
    const user = userEvent.setup({ delay: null });
    openApp();
    expect(await screen.findByRole("textbox", { name: /Subject/ })).toHaveValue("12月のお知らせ");
    await waitFor(() => expect(screen.getByRole("button", { name: "Send" })).toBeEnabled());
    await user.click(screen.getByRole("button", { name: "Send" }));
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toHaveTextContent("3 separate messages"));
    await user.click(shown().getByRole("button", { name: "Yes, send" }));

    // 30 s of the server's clock less its Date header's possible lag (2 s): 28–29 s, although this browser's clock is 5 min ahead.
    const undo = await screen.findByRole("button", { name: /^Undo \((29|28) s\)$/ });
    expect(screen.getByTestId("status-screen")).toBeInTheDocument();
    // Started: a reload must not offer it as an unsent mail (the App keeps it in memory for Undo).
    expect(loadDraft()).toBeNull();
    expect(screen.queryByTestId("continue-draft")).not.toBeInTheDocument();

    await user.click(undo);
    expect(await screen.findByTestId("undo-done")).toHaveTextContent("Sending was undone: nothing was sent.");
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/m9/undo"))).toBe(true);
    expect(screen.queryByTestId("undo-bar")).not.toBeInTheDocument();
    expect(await screen.findByRole("textbox", { name: /Subject/ })).toHaveValue("12月のお知らせ");
    expect(screen.getByRole("textbox", { name: "Body" }).innerHTML).toBe("<p>本文です</p>");
    expect(screen.getByRole("checkbox", { name: "メールアドレス (3 of 3)" })).toBeChecked();
    expect(screen.getByRole("radio", { name: "Checked (3)" })).toBeChecked();
    expect(screen.getByRole("switch", { name: /activity/ })).toBeChecked();
    // On reply and the footer choice come back too (they were in the submit).
    expect(screen.getByRole("checkbox", { name: "Log the reply as an activity" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: /unsubscribe footer/ })).not.toBeChecked();
    const submitted = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))!.body as MailingRequest;
    expect(submitted).toMatchObject({ onReply: { phase: null, logActivity: true }, optOutFooter: false });
    // Unsent again: stored again over a reload.
    await waitFor(() => expect(loadDraft()?.draft.subject).toBe("12月のお知らせ"));
    // The undone mailing is not in "my mailings" nor in the header.
    expect(screen.getByTestId("status-indicator")).toHaveAttribute("data-state", "idle");
  });

  it("says in words when it is too late (409 UndoExpired), and the mailing goes on", async () => {
    api({
      start: startWithUndo,
      undo: () => problem({ status: 409, title: "Conflict", code: "UndoExpired", detail: "The undo window has passed." }, 409),
    });
    const user = userEvent.setup({ delay: null });
    openApp();
    await screen.findByRole("textbox", { name: /Subject/ });
    await waitFor(() => expect(screen.getByRole("button", { name: "Send" })).toBeEnabled());
    await user.click(screen.getByRole("button", { name: "Send" }));
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toBeInTheDocument());
    await user.click(shown().getByRole("button", { name: "Yes, send" }));
    await user.click(await screen.findByRole("button", { name: /^Undo \(\d+ s\)$/ }));
    expect(await screen.findByTestId("undo-expired")).toHaveTextContent("It is too late to undo: sending has already begun.");
    expect(screen.queryByTestId("undo-bar")).not.toBeInTheDocument();
    expect(loadDraft()).toBeNull();
    expect(screen.queryByTestId("composer")).not.toBeInTheDocument();
  });

  it("leaves when the mailing is cancelled from its card during the countdown: nothing is left to undo", async () => {
    const { calls } = api({ start: startWithUndo, cancel: () => status({ ...ready, state: "Cancelled", cancelled: 3, finishedAt: "2026-12-01T00:00:10Z" }) });
    const user = userEvent.setup({ delay: null });
    openApp();
    await screen.findByRole("textbox", { name: /Subject/ });
    await waitFor(() => expect(screen.getByRole("button", { name: "Send" })).toBeEnabled());
    await user.click(screen.getByRole("button", { name: "Send" }));
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toBeInTheDocument());
    await user.click(shown().getByRole("button", { name: "Yes, send" }));
    await screen.findByTestId("undo-bar");
    const card = (await screen.findByRole("group", { name: /^Actions for / })).closest("li")!;
    await user.click(within(card).getByRole("button", { name: "Cancel sending" }));
    await waitFor(() => expect(within(screen.getByRole("alertdialog")).getByTestId("ask-yes")).toBeInTheDocument());
    await user.click(within(screen.getByRole("alertdialog")).getByTestId("ask-yes"));
    await waitFor(() => expect(screen.queryByTestId("undo-bar")).not.toBeInTheDocument());
    expect(calls.some((c) => c.url.endsWith("/m9/undo"))).toBe(false);
  });
});
