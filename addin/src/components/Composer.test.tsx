import { describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { OfficeMockObject } from "office-addin-mock";
import { Composer } from "./Composer";
import { clearFieldCache } from "./TagInserter";
import { json, mockFetch, problem, type Call } from "../test/fetchMock";
import { renderPane } from "../test/render";
import type { HrbcRecord, MailingRequest } from "../api/types";
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

function api(opts: { unknownTag?: boolean } = {}) {
  clearFieldCache();
  return mockFetch({
    "GET /api/hrbc/Resume/fields": () => [
      field("Resume.P_Name", "レジュメタイトル"),
      field("Resume.P_Mail", "メールアドレス", true),
      field("Resume.P_MobileMail", "携帯メールアドレス", true),
    ],
    "GET /api/hrbc/Candidate/fields": () => [field("Person.P_Name", "氏名")],
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
      if (opts.unknownTag || req.subject.includes("Nope")) {
        return problem({
          title: "The mailing has invalid input; nothing was stored.",
          status: 400,
          errors: { subject: ["Unknown tag {{Nope.X}} in the subject at line 1, column 1."] },
          details: { templateErrors: [{ code: "UnknownTag", part: "subject", line: 1, column: 1, message: "Unknown tag {{Nope.X}} in the subject at line 1, column 1.", tag: "Nope.X" }] },
        });
      }
      return {
        records: 3, scopeTotal: 3, complete: true, messages: 3, skipped: 0,
        mailFields: [{ alias: "Resume.P_Mail", label: "メールアドレス", count: 3 }],
        samples: [sample(10001, "a@example.com"), sample(10002, "b@example.com"), sample(10003, "c@example.com")],
        warnings: [{ code: "EmptyTag", message: "{{Resume.P_Memo}} is empty for 3 message(s).", count: 3, examples: [] }],
        ...(req.phase ? { confirmation: { messages: 3, phaseUpdates: 3, phaseName: "メルマガ送付", attachments: [], zipped: false } } : {}),
      };
    },
    "POST /api/mailings": () => json({ id: "m9", state: "Preparing" }, 202),
    "GET /api/mailings/m9*": () => ({
      id: "m9", mode: "Resumes", state: "Completed", total: 3, sent: 3, failed: 0, skipped: 0, bounced: 0, pending: 0,
      createdAt: "2026-11-27T00:00:00Z", startedAt: null, finishedAt: null, etaSeconds: null, pausedReason: null,
    }),
  });
}

async function typeBody(text: string) {
  const editor = screen.getByRole("textbox", { name: "Body" });
  editor.innerHTML = `<p>${text}</p>`;
  fireEvent.input(editor);
}

describe("Composer", () => {
  it("counts addresses per mail field, confirms the number of messages, and No keeps everything", async () => {
    const { calls } = api();
    const onSubmitted = vi.fn();
    const user = userEvent.setup();
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onCancel={vi.fn()} onSubmitted={onSubmitted} />, { mailings: true });

    expect(screen.getByRole("radio", { name: "All matching the search (1,200)" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Displayed (4)" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Checked (3)" })).toBeChecked();
    const mail = await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await waitFor(() => expect(mail).toBeChecked());
    expect(screen.getByRole("checkbox", { name: "携帯メールアドレス (1 of 3)" })).not.toBeChecked();

    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "お知らせ ");
    await typeBody("本文");
    // Insert a tag into the subject (the last field focused).
    await user.click(screen.getByRole("textbox", { name: /Subject/ }));
    await user.click(screen.getByRole("combobox", { name: "Insert a tag" }));
    await user.click(await screen.findByRole("option", { name: /氏名 \{\{Person\.P_Name\}\}/ }));
    await waitFor(() => expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("お知らせ {{Person.P_Name}}"));

    // Phase update after sending.
    await user.click(screen.getByRole("combobox", { name: "Update the phase to" }));
    await user.click(await screen.findByRole("option", { name: "メルマガ送付" }));

    await user.click(screen.getByRole("button", { name: "Send…" }));
    // Fluent's dialog may mount its surface twice under StrictMode, hiding the first (aria-hidden) when the second
    // takes focus: always query the dialog that is shown now, never a reference kept from before.
    const shown = () => within(screen.getByRole("alertdialog"));
    await waitFor(() => expect(shown().getByText("3 separate messages will be sent.")).toBeInTheDocument());
    await waitFor(() => expect(shown().getByTestId("confirm-phase")).toHaveTextContent("3 phase updates to “メルマガ送付”"));

    await user.click(await screen.findByRole("button", { name: "No" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("お知らせ {{Person.P_Name}}");
    expect(screen.getByRole("textbox", { name: "Body" }).innerHTML).toBe("<p>本文</p>");
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))).toBe(false);

    await user.click(screen.getByRole("button", { name: "Send…" }));
    await user.click(await screen.findByRole("button", { name: "Yes, send" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalledWith("m9"));
    const submit = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))!.body as MailingRequest;
    expect(submit).toMatchObject({
      mode: "Resumes",
      scope: { kind: "Checked", ids: [10001, 10002, 10003] },
      mailFields: ["Resume.P_Mail"],
      subject: "お知らせ {{Person.P_Name}}",
      body: "<p>本文</p>",
      phase: { optionAlias: "Option.P_ResumePhase_NewsletterSent", memo: null },
      attachments: null,
    });
    expect(submit.idempotencyKey).toMatch(/[0-9a-f-]{32,}/);
  });

  it("shows an unknown tag as a readable error and opens no confirmation", async () => {
    const { calls } = api({ unknownTag: true });
    const user = userEvent.setup();
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onCancel={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await screen.findByRole("checkbox", { name: "メールアドレス (3 of 3)" });
    await user.type(screen.getByRole("textbox", { name: /Subject/ }), "{{{{Nope.X}}");
    await typeBody("x");
    await user.click(screen.getByRole("button", { name: "Send…" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The mailing has invalid input; nothing was stored.");
    expect(alert).toHaveTextContent("Unknown tag {{Nope.X}} in the subject at line 1, column 1.");
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/api/mailings"))).toBe(false);
  });

  it("steps through the recipients in the preview", async () => {
    api();
    const user = userEvent.setup();
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onCancel={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
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
    const user = userEvent.setup();
    const job: HrbcRecord = {
      resource: "Job",
      id: 30004,
      name: "Webエンジニア",
      subtitle: "株式会社サンプル",
      fields: {},
      attachments: [{ id: 1, fileName: "求人票_30004.pdf", contentType: "application/pdf" }],
    };
    renderPane(<Composer mode="JobToResumes" anchor={job} selection={selection} onCancel={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    await user.click(await screen.findByRole("checkbox", { name: "求人票_30004.pdf" }));
    await user.click(screen.getByRole("switch", { name: "Put the files in a password-protected zip" }));
    expect(screen.getByRole("radio", { name: "AES-256 (recommended)" })).toBeChecked();
    expect(screen.getByRole("radio", { name: "Compatible (weak: ZipCrypto)" })).not.toBeChecked();
    expect(screen.getByLabelText(/Zip password/)).toBeInTheDocument();
    await user.click(screen.getByRole("combobox", { name: "Update the phase to" }));
    expect(await screen.findByRole("option", { name: "JOB打診" })).toBeInTheDocument();
  });

  it("only offers uploads in ResumesToRecruiter", async () => {
    api();
    const job: HrbcRecord = { resource: "Job", id: 30004, name: "x", subtitle: null, fields: {}, attachments: [{ id: 1, fileName: "求人票.pdf", contentType: "application/pdf" }] };
    renderPane(<Composer mode="ResumesToRecruiter" anchor={job} selection={selection} onCancel={vi.fn()} onSubmitted={vi.fn()} />, { mailings: true });
    expect(await screen.findByText("Only uploaded files can be attached in this mode.")).toBeInTheDocument();
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
    const user = userEvent.setup();
    renderPane(<Composer mode="Resumes" anchor={null} selection={selection} onCancel={vi.fn()} onSubmitted={vi.fn()} />, {
      mailings: true,
      office: { host: "outlook", displayLanguage: "ja-JP", compose: true },
    });
    await user.click(await screen.findByRole("button", { name: "Use this Outlook draft" }));
    await waitFor(() => expect(screen.getByRole("textbox", { name: /Subject/ })).toHaveValue("下書きの件名"));
    expect(screen.getByRole("textbox", { name: "Body" }).innerHTML).toBe("<p>下書き {{Person.P_Name}}</p>");
    delete g.Office;
  });
});
