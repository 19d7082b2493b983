import { describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { OfficeMockObject } from "office-addin-mock";
import { Composer } from "./Composer";
import { json, mockFetch, problem, type Call } from "../test/fetchMock";
import { renderPane } from "../test/render";
import { loadDraft } from "../model/draftStore";
import type { HrbcRecord, MailingRequest, MailingStatus } from "../api/types";
import type { Selection } from "../model/search";

const selection: Selection = {
  resource: "resumes",
  query: {},
  displayedIds: [10001, 10002, 10003, 10004],
  checkedIds: [10001, 10002, 10003],
  total: 1200,
};

const field = (alias: string, label: string, isMail = false) => ({
  alias,
  label,
  type: "SinglelineText",
  typeCode: 1,
  required: false,
  isMail,
  referTo: null,
});

const sample = (recordId: number, address: string) => ({
  seq: recordId - 10000,
  recordId,
  recordName: `候補者${recordId}`,
  recipientName: `候補者${recordId}`,
  mailField: "Resume.P_Mail",
  address,
  subject: `候補者${recordId} 様`,
  htmlBody: `<p>候補者${recordId} 様</p>`,
  emptyTags: [],
});

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

const status = (over: Partial<MailingStatus>): MailingStatus => ({
  id: "m9", mode: "Resumes", state: "Preparing", total: 0, sent: 0, failed: 0, skipped: 0, bounced: 0, pending: 0,
  createdAt: "2026-11-27T00:00:00Z", startedAt: null, finishedAt: null, etaSeconds: null, pausedReason: null,
  cancelled: 0, subject: "", waitReason: null, resumesAt: null, ...over,
});

/** The held mailing as h1's server reports it: counting, then Ready with the exact figures (coord.md contract). */
const counting = status({ state: "Preparing", waitCode: "Expanding", counted: 1, scopeTotal: 3 });
const ready = status({
  state: "Ready", total: 3, scopeTotal: 3, counted: 3, messages: 2, skipped: 1, skippedByReason: { NoAddress: 1 }, phaseUpdates: 2,
  attachments: [], zipped: false, estimatedSeconds: 120, finishesAt: "2026-11-27T00:02:00Z", quotaLeftAfter: 9998, subject: "x",
});

function api(opts: { unknownTag?: boolean; hold?: boolean; readyAfter?: "stream" | "never"; submitProblem?: () => Response | undefined; startProblem?: () => Response | undefined } = {}) {
  const hold = opts.hold ?? true;
  let submitted = 0;
  const heldId = (url: string) => (url.includes("/m10") ? "m10" : "m9");
  return mockFetch({
    "GET /openapi/v1.json": () => ({ components: { schemas: { MailingRequest: { properties: hold ? { mode: {}, hold: {} } : { mode: {} } } } } }),
    "GET /api/hrbc/Resume/fields": () => [
      field("Resume.P_Name", "レジュメタイトル"),
      field("Resume.P_Mail", "メールアドレス", true),
      field("Resume.P_MobileMail", "携帯メールアドレス", true),
    ],
    "GET /api/hrbc/Candidate/fields": () => [field("Person.P_Id", "個人連絡先ID"), field("Person.P_Name", "氏名")],
    "GET /api/hrbc/Job/fields": () => [field("Job.P_Position", "ポジション")],
    "GET /api/hrbc/Client/fields": () => [field("Client.P_Name", "企業名")],
    "GET /api/hrbc/Recruiter/fields": () => [field("Recruiter.P_Name", "担当者名")],
    "GET /api/templates": () => [],
    "GET /api/hrbc/phases": (c) =>
      c.url.includes("Process")
        ? [{ alias: "Option.P_ProcessPhase_JobOffered", name: "JOB打診", id: 103, order: 2, resource: "Process" }]
        : [{ alias: "Option.P_ResumePhase_NewsletterSent", name: "メルマガ送付", id: 115, order: 4, resource: "Resume" }],
    "GET /api/mailings": () => [],
    "POST /api/mailings/preview": (c: Call) => {
      const req = c.body as MailingRequest;
      if (req.subject === "-") {
        return {
          records: 3, scopeTotal: 3, complete: true, messages: 3, skipped: 0, samples: [], warnings: [],
          mailFields: [
            { alias: "Resume.P_Mail", label: "メールアドレス", count: 3 },
            { alias: "Resume.P_MobileMail", label: "携帯メールアドレス", count: 1 },
          ],
        };
      }
      return {
        records: 3, scopeTotal: 3, complete: true, messages: 3, skipped: 0,
        mailFields: [{ alias: "Resume.P_Mail", label: "メールアドレス", count: 3 }],
        samples: [sample(10001, "a@example.com"), sample(10002, "b@example.com"), sample(10003, "c@example.com")],
        warnings: [{ code: "EmptyTag", message: "{{Resume.P_Memo}} is empty for 3 message(s).", count: 3, examples: [] }],
        ...(req.phase ? { confirmation: { messages: 3, phaseUpdates: 3, phaseName: "メルマガ送付", attachments: [], zipped: false } } : {}),
      };
    },
    "POST /api/mailings": (c: Call) => {
      const req = c.body as MailingRequest;
      if (opts.unknownTag || req.subject.includes("Nope")) {
        return problem({
          title: "The mailing has invalid input; nothing was stored.",
          status: 400,
          errors: { subject: ["Unknown tag {{Nope.X}} in the subject at line 1, column 1."] },
          details: { templateErrors: [{ code: "UnknownTag", part: "subject", line: 1, column: 1, message: "Unknown tag {{Nope.X}} in the subject at line 1, column 1.", tag: "Nope.X" }] },
        });
      }
      if (req.subject.includes("｛｛") && !req.allowNearMissTags) {
        // As the API refuses near-miss spellings at submit (MailingPlanner): a 400 naming the part, with templateErrors.
        return problem({
          title: "The mailing has invalid input; nothing was stored.",
          status: 400,
          code: "InvalidMailing",
          errors: { subject: ["｛｛Person.P_Name｝｝ is not a tag and would be sent as typed: did you mean {{Person.P_Name}}?"] },
          details: {
            templateErrors: [{
              code: "NearMissTag", part: "subject", line: 1, column: 5, tag: "Person.P_Name",
              message: "｛｛Person.P_Name｝｝ is not a tag and would be sent as typed: did you mean {{Person.P_Name}}?",
              args: { found: "｛｛Person.P_Name｝｝", suggestion: "{{Person.P_Name}}" },
            }],
          },
        });
      }
      const refused = opts.submitProblem?.();
      if (refused) return refused;
      submitted++;
      return json({ id: `m${8 + submitted}`, state: "Preparing" }, 202);
    },
    "POST /api/mailings/m9/cancel": () => status({ state: "Cancelled", held: true }),
    "POST /api/mailings/m9/start": () => opts.startProblem?.() ?? status({ state: "Queued", messages: 2 }),
    "POST /api/mailings/m10/start": () => opts.startProblem?.() ?? status({ id: "m10", state: "Queued", messages: 2 }),
    "GET /api/mailings/m*": (c) => {
      const id = heldId(c.url);
      if (c.url.endsWith("/events")) return opts.readyAfter === "never" ? sse({ ...counting, id }) : sse({ ...counting, id }, { ...ready, id });
      return opts.readyAfter === "never" ? { ...counting, id } : { ...ready, id };
    },
  });
}

async function typeBody(text: string, name = "Body") {
  const editor = screen.getByRole("textbox", { name });
  editor.innerHTML = `<p>${text}</p>`;
  fireEvent.input(editor);
}

describe("Composer", () => {
  it("holds the mailing, shows the count then the exact figures, focuses No, and No cancels it with the editor unchanged", async () => {
    const { calls } = api();
    const onSubmitted = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={onSubmitted} />, { mailings: true });

    expect(screen.getByRole("radio", { name: "All matching the search (1,200)" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Displayed (4)" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Checked (3)" })).toBeChecked();
    const mail = await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await waitFor(() => expect(mail).toBeChecked());
    expect(screen.getByRole("checkbox", { name: "携帯メールアドレス (1 of 3)" })).not.toBeChecked();

    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "お知らせ ");
    await typeBody("本文");
    // Insert a tag into the subject (the last field focused); the candidate's name comes before its id.
    await user.click(screen.getByRole("textbox", { name: /Subject/ }));
    await user.click(screen.getByRole("combobox", { name: "Insert a tag" }));
    const options = await screen.findAllByRole("option");
    expect(options[0]).toHaveTextContent("氏名 {{Person.P_Name}}");
    await user.click(await screen.findByRole("option", { name: /氏名 \{\{Person\.P_Name\}\}/ }));
    await waitFor(() => expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("お知らせ {{Person.P_Name}}"));

    await user.click(screen.getByRole("combobox", { name: "Update the phase to" }));
    await user.click(await screen.findByRole("option", { name: "メルマガ送付" }));

    await user.click(screen.getByRole("button", { name: "Send" }));
    // Fluent's dialog may mount its surface twice and hide the first: always query the dialog shown now.
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toHaveTextContent("2 separate messages will be sent."));
    expect(shown().getByTestId("confirm-records")).toHaveTextContent("3 records in the scope.");
    expect(shown().getByTestId("confirm-skipped")).toHaveTextContent("Not sent: no address 1");
    expect(shown().getByTestId("confirm-phase")).toHaveTextContent("2 phase updates to “メルマガ送付”");
    expect(shown().getByTestId("confirm-duration")).toHaveTextContent("Takes about 2 min");
    expect(shown().getByTestId("confirm-quota")).toHaveTextContent("9,998");
    await waitFor(() => expect(shown().getByRole("button", { name: "No" })).toHaveFocus());
    const held = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))!.body as MailingRequest;
    expect(held).toMatchObject({ hold: true, scope: { kind: "Checked", ids: [10001, 10002, 10003] }, mailFields: ["Resume.P_Mail"] });

    await user.click(shown().getByRole("button", { name: "No" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/m9/cancel"))).toBe(true));
    expect(calls.some((c) => c.url.endsWith("/start"))).toBe(false);
    // The dialog's modalizer gives the page back to assistive tech a moment after it closes: find, do not get.
    expect(await screen.findByRole("textbox", { name: /Subject/ })).toHaveValue("お知らせ {{Person.P_Name}}");
    expect(screen.getByRole("textbox", { name: "Body" }).innerHTML).toBe("<p>本文</p>");

    await user.click(await screen.findByRole("button", { name: "Send" }));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toHaveTextContent("2 separate messages"));
    await user.click(shown().getByRole("button", { name: "Yes, send" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalledWith("m10", { kind: "Checked", ids: [10001, 10002, 10003] }, null));
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/m10/start"))).toBe(true);
    const submits = calls.filter((c) => c.method === "POST" && c.url.endsWith("/api/mailings")).map((c) => c.body as MailingRequest);
    expect(submits).toHaveLength(2);
    expect(submits[1]).toMatchObject({
      mode: "Resumes",
      hold: true,
      subject: "お知らせ {{Person.P_Name}}",
      body: "<p>本文</p>",
      phase: { optionAlias: "Option.P_ResumePhase_NewsletterSent", memo: null },
      attachments: null,
    });
    expect(submits[0]!.idempotencyKey).not.toBe(submits[1]!.idempotencyKey);
    // Sent: the local draft is gone.
    expect(loadDraft()).toBeNull();
  });

  it("shows the counting progress while the server expands the scope, and Yes waits for Ready", async () => {
    api({ readyAfter: "never" });
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "s");
    await typeBody("b");
    await user.click(screen.getByRole("button", { name: "Send" }));
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-counting")).toHaveTextContent("Counting the recipients… 1 of 3 records"));
    expect(shown().getByRole("button", { name: "Yes, send" })).toBeDisabled();
    expect(shown().queryByTestId("confirm-messages")).not.toBeInTheDocument();
  });

  it("preselects no scope without ticks, keeps Send disabled until a scope and an address field, and marks the empty fields", async () => {
    const { calls } = api();
    const user = userEvent.setup({ delay: null });
    const none: Selection = { ...selection, checkedIds: [] };
    renderPane(<Composer mode="Resumes" anchor={null} selection={none} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await screen.findByRole("checkbox", { name: "メールアドレス" });
    for (const r of screen.getAllByRole("radio")) expect(r).not.toBeChecked();
    expect(screen.getByRole("radio", { name: "Checked (0)" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Test send to myself" })).toBeDisabled();
    expect(calls.some((c) => c.url.endsWith("/preview"))).toBe(false);

    await user.click(screen.getByRole("radio", { name: "Displayed (4)" }));
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "メールアドレス (3 of 3)" })).toBeChecked());
    await waitFor(() => expect(screen.getByRole("button", { name: "Send" })).toBeEnabled());

    // Nothing typed: the subject and the body are marked, the first gets the focus, nothing is sent.
    await user.click(screen.getByRole("button", { name: "Send" }));
    const subject = screen.getByRole("textbox", { name: /Subject/ });
    await waitFor(() => expect(subject).toHaveFocus());
    expect(subject).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText("Enter a subject.")).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Body" })).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("validation-summary")).toHaveTextContent("Some entries need attention. Nothing was sent.");
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))).toBe(false);

    // Unticking the only field with addresses disables Send again.
    await user.click(screen.getByRole("checkbox", { name: "メールアドレス (3 of 3)" }));
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
  });

  it("shows an unknown tag under the subject, in the pane's words, and opens no confirmation", async () => {
    const { calls } = api({ unknownTag: true });
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "{{{{Nope.X}}");
    await typeBody("x");
    await user.click(screen.getByRole("button", { name: "Send" }));
    const subject = screen.getByRole("textbox", { name: /Subject/ });
    await waitFor(() => expect(subject).toHaveAttribute("aria-invalid", "true"));
    await waitFor(() => expect(subject).toHaveFocus());
    const message = "Subject, line 1, column 1: the tag {{Nope.X}} does not exist. Choose one from “Insert a tag”.";
    expect(screen.getAllByText(message).length).toBeGreaterThanOrEqual(1);
    const top = screen.getAllByRole("alert")[0]!;
    expect(top).toHaveTextContent("Some entries need attention. Nothing was sent.");
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(calls.some((c) => c.url.endsWith("/start"))).toBe(false);
  });

  it("asks before sending near-miss tag spellings as typed, and “send as typed” resubmits the same held request allowing them", async () => {
    const { calls } = api();
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, {
      mailings: true,
      lang: "ja",
    });
    await screen.findByRole("checkbox", { name: "メールアドレス（3 件中 3 件）" });
    fireEvent.change(screen.getByRole("textbox", { name: /件名/ }), { target: { value: "お知らせ ｛｛Person.P_Name｝｝" } });
    await typeBody("本文", "本文");
    await user.click(screen.getByRole("button", { name: "送信" }));
    const ask = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(ask().getByText("タグにならない表記をこのまま送信しますか？")).toBeInTheDocument());
    expect(ask().getByTestId("near-miss-list")).toHaveTextContent("｛｛Person.P_Name｝｝（件名 1 行目）：{{Person.P_Name}} のことですか？");
    // The safe answer has the focus: a stray Enter fixes, it does not send.
    await waitFor(() => expect(ask().getByRole("button", { name: "修正する" })).toHaveFocus());
    const submits = () => calls.filter((c) => c.method === "POST" && c.url.endsWith("/api/mailings")).map((c) => c.body as MailingRequest);
    expect(submits()).toHaveLength(1);

    // Fix them: back to the editor, the subject marked and focused; nothing held.
    await user.click(ask().getByRole("button", { name: "修正する" }));
    const subject = await screen.findByRole("textbox", { name: /件名/ });
    await waitFor(() => expect(subject).toHaveAttribute("aria-invalid", "true"));
    expect(subject).toHaveValue("お知らせ ｛｛Person.P_Name｝｝");

    // Send again, then send as typed: the same request (same idempotency key) with allowNearMissTags, then the usual confirmation.
    await user.click(screen.getByRole("button", { name: "送信" }));
    await waitFor(() => expect(ask().getByRole("button", { name: "このまま送信" })).toBeInTheDocument());
    await user.click(ask().getByRole("button", { name: "このまま送信" }));
    await waitFor(() => expect(within(screen.getByRole("alertdialog")).getByTestId("confirm-messages")).toHaveTextContent("2 通"));
    const [, refused, allowed] = submits();
    expect(refused!.allowNearMissTags).toBeUndefined();
    expect(allowed).toEqual({ ...refused, allowNearMissTags: true });
    expect(allowed).toMatchObject({ hold: true, subject: "お知らせ ｛｛Person.P_Name｝｝" });
  });

  it("says a 429 and a full running-mailings cap in words, keeps everything typed, and sends once allowed", async () => {
    let refusals = 1;
    let starts = 1;
    const { calls } = api({
      submitProblem: () =>
        refusals-- > 0
          ? new Response(JSON.stringify({ status: 429, title: "Too many requests", code: "RateLimited", args: { policy: "submits", retryAfterSeconds: "42" }, detail: "Too many requests of this kind (submits); try again in 42 seconds." }), {
              status: 429, headers: { "Content-Type": "application/problem+json", "Retry-After": "42" },
            })
          : undefined,
      startProblem: () =>
        starts-- > 0
          ? problem({ status: 409, title: "Conflict", code: "TooManyRunningMailings", args: { max: "5" }, detail: "You have 5 mailings running already; wait until one finishes (or cancel one), then try again." }, 409)
          : undefined,
    });
    const onSubmitted = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={onSubmitted} />, { mailings: true });
    await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "件名");
    await typeBody("本文");
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(await screen.findByText("Too many sends in a short time. Try again in 42 seconds.")).toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("件名");
    expect(screen.getByRole("textbox", { name: "Body" }).innerHTML).toBe("<p>本文</p>");
    expect(screen.getByRole("checkbox", { name: "メールアドレス (3 of 3)" })).toBeChecked();

    // Allowed again: the confirmation; Yes meets the running-mailings cap, said in the dialog, which stays open.
    await user.click(screen.getByRole("button", { name: "Send" }));
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toHaveTextContent("2 separate messages"));
    await user.click(shown().getByRole("button", { name: "Yes, send" }));
    await waitFor(() => expect(shown().getByText(/You have 5 mailings running already/)).toBeInTheDocument());
    expect(onSubmitted).not.toHaveBeenCalled();
    // One finished: Yes again starts the same held mailing.
    await user.click(shown().getByRole("button", { name: "Yes, send" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalledWith("m9", { kind: "Checked", ids: [10001, 10002, 10003] }, null));
    expect(calls.filter((c) => c.url.endsWith("/m9/start"))).toHaveLength(2);
  });

  it("without the hold flow on the server, confirms from a fresh preview and submits on Yes", async () => {
    const { calls } = api({ hold: false });
    const onSubmitted = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={onSubmitted} />, { mailings: true });
    await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "s");
    await typeBody("b");
    await user.click(screen.getByRole("button", { name: "Send" }));
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toHaveTextContent("3 separate messages will be sent."));
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))).toBe(false);
    await user.click(shown().getByRole("button", { name: "Yes, send" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalledWith("m9", { kind: "Checked", ids: [10001, 10002, 10003] }, null));
    const submit = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))!.body as MailingRequest;
    expect(submit.hold).toBeUndefined();
  });

  it("keeps the draft locally (without the zip password), restores it, and asks before discarding", async () => {
    api();
    const onDiscard = vi.fn();
    const user = userEvent.setup({ delay: null });
    const first = renderPane(
      <Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={onDiscard} onSubmitted={vi.fn()} />,
      { mailings: true },
    );
    await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "下書き");
    await waitFor(() => expect(loadDraft()?.draft.subject).toBe("下書き"));
    expect(loadDraft()).toMatchObject({ mode: "Resumes", selection: { checkedIds: [10001, 10002, 10003] } });
    first.unmount();

    const stored = loadDraft()!;
    renderPane(
      <Composer mode="Resumes" anchor={null} selection={stored.selection} initial={stored.draft} restored onBack={vi.fn()} onDiscard={onDiscard} onSubmitted={vi.fn()} />,
      { mailings: true },
    );
    expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("下書き");
    expect(screen.getByText("Your unsent mail was restored.")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Discard draft" }));
    const ask = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(ask().getByRole("button", { name: "Keep editing" })).toHaveFocus());
    await user.click(ask().getByRole("button", { name: "Keep editing" }));
    expect(onDiscard).not.toHaveBeenCalled();
    expect(await screen.findByRole("textbox", { name: /Subject/ })).toHaveValue("下書き");
    await user.click(await screen.findByRole("button", { name: "Discard draft" }));
    await waitFor(() => expect(ask().getByRole("button", { name: "Discard" })).toBeInTheDocument());
    await user.click(ask().getByRole("button", { name: "Discard" }));
    expect(onDiscard).toHaveBeenCalledTimes(1);
    expect(loadDraft()).toBeNull();
  });

  it("overwrites a picked template and asks before deleting one", async () => {
    const tpl = { id: "t1", owner: "me", name: "月次", mode: "Resumes", subject: "古い件名", body: "<p>古い</p>", createdAt: "", updatedAt: "" };
    mockFetch({
      "GET /api/templates": () => [tpl],
      "PUT /api/templates/t1": (c) => ({ ...tpl, ...(c.body as object) }),
      "DELETE /api/templates/t1": () => new Response(null, { status: 204 }),
      "GET /api/hrbc/Resume/fields": () => [field("Resume.P_Mail", "メールアドレス", true)],
      "GET /api/hrbc/Candidate/fields": () => [field("Person.P_Name", "氏名")],
      "GET /api/hrbc/phases": () => [],
      "GET /api/mailings": () => [],
      "POST /api/mailings/preview": () => ({ records: 3, scopeTotal: 3, complete: true, messages: 3, skipped: 0, samples: [], warnings: [], mailFields: [{ alias: "Resume.P_Mail", label: "メールアドレス", count: 3 }] }),
    });
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await user.click(await screen.findByRole("combobox", { name: "Template" }));
    await user.click(await screen.findByRole("option", { name: "月次" }));
    await waitFor(() => expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("古い件名"));
    await user.clear(screen.getByRole("textbox", { name: /Subject/ }));
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "新しい件名");
    await user.click(screen.getByRole("button", { name: "Overwrite “月次”" }));
    expect(await screen.findByText("Template “月次” updated.")).toBeInTheDocument();
    const fetchCalls = (globalThis.fetch as unknown as { mock: { calls: [string, RequestInit | undefined][] } }).mock.calls;
    const put = fetchCalls.find(([u, i]) => String(u).endsWith("/api/templates/t1") && i?.method === "PUT");
    expect(JSON.parse(String(put![1]!.body))).toMatchObject({ name: "月次", subject: "新しい件名" });

    await user.click(screen.getByRole("button", { name: "Delete template" }));
    const ask = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(ask().getByRole("button", { name: "Cancel" })).toHaveFocus());
    await user.click(ask().getByRole("button", { name: "Cancel" }));
    expect(fetchCalls.some(([, i]) => i?.method === "DELETE")).toBe(false);
    await user.click(await screen.findByRole("button", { name: "Delete template" }));
    await waitFor(() => expect(ask().getByRole("button", { name: "Delete" })).toBeInTheDocument());
    await user.click(ask().getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(fetchCalls.some(([, i]) => i?.method === "DELETE")).toBe(true));
  });

  it("steps through the recipients in the preview", async () => {
    api();
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "s");
    await typeBody("b");
    await user.click(screen.getByRole("button", { name: "Preview" }));
    await screen.findByTestId("preview");
    expect(screen.getByTestId("recipient-position")).toHaveTextContent("Recipient 1 of 3");
    expect(screen.getByTestId("preview-subject")).toHaveTextContent("候補者10001 様");
    expect(screen.getByTestId("preview-warnings")).toHaveTextContent("{{Resume.P_Memo}} is empty in 3 message(s).");
    await user.click(screen.getByRole("button", { name: "Next recipient" }));
    expect(screen.getByTestId("recipient-position")).toHaveTextContent("Recipient 2 of 3");
    expect(screen.getByTestId("preview-subject")).toHaveTextContent("候補者10002 様");
    expect(screen.getByTitle("Message body for b@example.com")).toHaveAttribute("sandbox", "");
    await user.click(screen.getByRole("button", { name: "Back to the editor" }));
    expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("s");
  });

  it("offers the job's files, a password zip with AES-256 by default, and Process phases for JobToResumes", async () => {
    api();
    const user = userEvent.setup({ delay: null });
    const job: HrbcRecord = {
      resource: "Job",
      id: 30004,
      name: "Webエンジニア",
      subtitle: "株式会社サンプル",
      fields: {},
      attachments: [{ id: 1, fileName: "求人票_30004.pdf", contentType: "application/pdf" }],
    };
    renderPane(<Composer mode="JobToResumes" anchor={job} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await user.click(await screen.findByRole("checkbox", { name: "求人票_30004.pdf" }));
    await user.click(screen.getByRole("switch", { name: "Put the files in a password-protected zip" }));
    expect(screen.getByRole("radio", { name: "AES-256 (recommended)" })).toBeChecked();
    expect(screen.getByRole("radio", { name: "ZipCrypto (compatible, weak encryption)" })).not.toBeChecked();
    expect(screen.getByLabelText(/Zip password/)).toBeInTheDocument();
    await user.click(screen.getByRole("combobox", { name: "Update the phase to" }));
    expect(await screen.findByRole("option", { name: "JOB打診" })).toBeInTheDocument();
  });

  it("only offers uploads in ResumesToRecruiter", async () => {
    api();
    const job: HrbcRecord = { resource: "Job", id: 30004, name: "x", subtitle: null, fields: {}, attachments: [{ id: 1, fileName: "求人票.pdf", contentType: "application/pdf" }] };
    renderPane(<Composer mode="ResumesToRecruiter" anchor={job} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    expect(await screen.findByText("HRBC's files cannot be attached in this mode; only files added from your computer.")).toBeInTheDocument();
    expect(screen.queryByRole("checkbox", { name: "求人票.pdf" })).not.toBeInTheDocument();
  });

  it("uses the Outlook draft in compose mode", async () => {
    api();
    const g = globalThis as unknown as { Office?: unknown };
    g.Office = new OfficeMockObject({
      host: "outlook",
      CoercionType: { Html: "html" },
      AsyncResultStatus: { Succeeded: "succeeded" },
      context: {
        mailbox: {
          item: {
            subject: { getAsync: (cb: (r: unknown) => void) => cb({ status: "succeeded", value: "下書きの件名" }) },
            body: {
              getAsync: (_t: string, cb: (r: unknown) => void) =>
                cb({ status: "succeeded", value: "<html><head><style>p{}</style></head><body><p>下書き {{Person.P_Name}}</p></body></html>" }),
            },
          },
        },
      },
    });
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, {
      mailings: true,
      office: { host: "outlook", displayLanguage: "ja-JP", compose: true },
    });
    await user.click(await screen.findByRole("button", { name: "Use this Outlook draft" }));
    await waitFor(() => expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("下書きの件名"));
    // The editor takes its HTML in an effect after the subject's render: under load it can come a tick later.
    await waitFor(() => expect(screen.getByRole("textbox", { name: "Body" }).innerHTML).toBe("<p>下書き {{Person.P_Name}}</p>"));
    delete g.Office;
  });
});

describe("Composer: on reply (返信があったら) and the opt-out footer", () => {
  it("sends onReply and an unticked footer, shows them in the confirmation, and keeps them after No (en)", async () => {
    const { calls } = api();
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "メールアドレス (3 of 3)" })).toBeChecked());
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "s");
    await typeBody("b");

    // The footer: on by default in a newsletter mode; unticking it says the law asks for it.
    const footer = screen.getByRole("checkbox", { name: "Add the unsubscribe footer (required for advertising mail)" });
    expect(footer).toBeChecked();
    expect(screen.queryByTestId("opt-out-footer-hint")).not.toBeInTheDocument();
    await user.click(footer);
    expect(footer).not.toBeChecked();
    expect(screen.getByTestId("opt-out-footer-hint")).toHaveTextContent("Required for advertising mail");
    expect(footer).toHaveAccessibleDescription(/Required for advertising mail/);

    // On reply: the same phases as the phase update, and the activity.
    const group = within(screen.getByRole("group", { name: "On reply" }));
    await user.click(group.getByRole("combobox", { name: "On reply, update the phase" }));
    await user.click(await screen.findByRole("option", { name: "メルマガ送付" }));
    await user.click(group.getByRole("checkbox", { name: "Log the reply as an activity" }));

    await user.click(screen.getByRole("button", { name: "Send" }));
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByTestId("confirm-messages")).toBeInTheDocument());
    expect(shown().getByTestId("confirm-reply-phase")).toHaveTextContent("On reply, the phase is set to メルマガ送付.");
    expect(shown().getByTestId("confirm-reply-activity")).toHaveTextContent("Replies are logged as activities.");
    expect(shown().getByTestId("confirm-footer")).toHaveTextContent("Without the unsubscribe footer.");
    const held = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))!.body as MailingRequest;
    expect(held).toMatchObject({ onReply: { phase: { optionAlias: "Option.P_ResumePhase_NewsletterSent" }, logActivity: true }, optOutFooter: false });
    // The phase update after sending stays as it was (none).
    expect(held.phase).toBeNull();

    await user.click(shown().getByRole("button", { name: "No" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    const again = within(await screen.findByRole("group", { name: "On reply" }));
    expect(again.getByRole("combobox", { name: "On reply, update the phase" })).toHaveTextContent("メルマガ送付");
    expect(again.getByRole("checkbox", { name: "Log the reply as an activity" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: /unsubscribe footer/ })).not.toBeChecked();
  });

  it("in Japanese: the labels, the hint, the footer in the confirmation; on reply left alone is not sent", async () => {
    const { calls } = api();
    const user = userEvent.setup({ delay: null });
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onBack={vi.fn()} onDiscard={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true, lang: "ja" });
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "メールアドレス（3 件中 3 件）" })).toBeChecked());
    expect(screen.getByRole("checkbox", { name: "配信停止リンクとフッターを付ける（特定電子メール法）" })).toBeChecked();
    const group = within(screen.getByRole("group", { name: "返信があったら" }));
    expect(group.getByRole("combobox", { name: "返信があったらフェーズを更新" })).toBeInTheDocument();
    expect(group.getByRole("checkbox", { name: "返信を活動として記録" })).not.toBeChecked();
    await user.click(screen.getByRole("checkbox", { name: "配信停止リンクとフッターを付ける（特定電子メール法）" }));
    expect(screen.getByTestId("opt-out-footer-hint")).toHaveTextContent("広告・宣伝メールには必須です。");
    await user.click(screen.getByRole("checkbox", { name: "配信停止リンクとフッターを付ける（特定電子メール法）" }));
    expect(screen.queryByTestId("opt-out-footer-hint")).not.toBeInTheDocument();
    await user.type(screen.getByRole("textbox", { name: /件名/ }), "s");
    await typeBody("b", "本文");
    await user.click(screen.getByRole("button", { name: "送信" }));
    await waitFor(() => expect(within(screen.getByRole("alertdialog")).getByTestId("confirm-footer")).toHaveTextContent("配信停止フッター付き。"));
    const held = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))!.body as MailingRequest;
    expect(held.onReply).toBeUndefined();
    expect(held.optOutFooter).toBe(true);
  });
});
