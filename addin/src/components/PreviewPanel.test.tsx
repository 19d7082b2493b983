import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockFetch } from "../test/fetchMock";
import { PreviewPanel } from "./PreviewPanel";
import { renderPane } from "../test/render";
import type { MailingRequest, PreviewResponse } from "../api/types";

const request: MailingRequest = {
  mode: "ResumesToRecruiter",
  anchorId: 30001,
  scope: { kind: "Checked", ids: [10002] },
  mailFields: ["Recruiter.P_Mail"],
  subject: "{{Person.P_Name}}様をご推薦します",
  body: "<p>{{Recruiter.P_Name}}様</p>",
};

const preview: PreviewResponse = {
  records: 1,
  scopeTotal: 1,
  complete: true,
  messages: 1,
  skipped: 0,
  mailFields: [{ alias: "Recruiter.P_Mail", label: "メール", count: 1 }],
  samples: [
    {
      seq: 1,
      recordId: 10002,
      recordName: "候補 花子", // the recommended candidate: not whom the mail goes to
      recipientName: "担当 太郎",
      mailField: "Recruiter.P_Mail",
      address: "tanto@agency.example",
      subject: "候補 花子様をご推薦します",
      htmlBody: "<p>担当 太郎様</p>",
      emptyTags: [],
    },
  ],
  warnings: [
    {
      code: "NearMissTag",
      message: "｛｛Person.P_Name｝｝ is not a tag and would be sent as typed: did you mean {{Person.P_Name}}?",
      count: 1,
      examples: [],
      args: { found: "｛｛Person.P_Name｝｝", suggestion: "{{Person.P_Name}}" },
      places: [{ code: "NearMissTag", message: "", part: "body", line: 2, column: 1, tag: "Person.P_Name" }], // as the API sends them
    },
  ],
};

describe("PreviewPanel", () => {
  it("says whether the opt-out footer is on when the preview's confirmation tells (and nothing when it does not)", () => {
    const c = { attachmentBytes: 0, attachments: [], logActivity: false, messages: 1, mode: "ResumesToRecruiter", phaseAlias: null, phaseName: null, phaseResource: null, phaseUpdates: 0, sources: [], zipEncryption: null, zipped: false };
    const { unmount } = renderPane(<PreviewPanel preview={{ ...preview, confirmation: { ...c, optOutFooter: true } }} request={request} recordIds={null} />, { lang: "ja" });
    expect(screen.getByTestId("preview-footer")).toHaveTextContent("各メールに配信停止リンクとフッターが付きます。");
    unmount();
    const again = renderPane(<PreviewPanel preview={{ ...preview, confirmation: { ...c, optOutFooter: false } }} request={request} recordIds={null} />, { lang: "en" });
    expect(screen.getByTestId("preview-footer")).toHaveTextContent("No unsubscribe footer.");
    again.unmount();
    renderPane(<PreviewPanel preview={preview} request={request} recordIds={null} />, { lang: "en" });
    expect(screen.queryByTestId("preview-footer")).not.toBeInTheDocument();
  });

  it("names the recipient on the To line, not the listed record", () => {
    renderPane(<PreviewPanel preview={preview} request={request} recordIds={null} />, { lang: "ja" });

    const article = screen.getByRole("article", { name: "tanto@agency.example" });
    expect(article).toHaveTextContent("担当 太郎 <tanto@agency.example>");
    expect(article).not.toHaveTextContent("候補 花子 <");
  });

  it("words the near-miss tag warning in the pane's language", () => {
    renderPane(<PreviewPanel preview={preview} request={request} recordIds={null} />, { lang: "ja" });

    expect(screen.getByText("｛｛Person.P_Name｝｝ はタグではないため、そのまま送られます。{{Person.P_Name}} のことですか？")).toBeInTheDocument();
  });

  it("names each skipped record in the warnings and when stepping onto one: 「吉田 恵：メールアドレスが無効なため送信しません（…）」", async () => {
    const newsletter: MailingRequest = { mode: "Resumes", scope: { kind: "Checked", ids: [10001, 10007, 10009] }, mailFields: ["Resume.P_Mail"], subject: "s", body: "b" };
    const invalid = { recordId: 10007, recordName: "吉田 恵", recipientName: "吉田 恵", address: "tanaka7.example.com", mailField: "Resume.P_Mail" };
    const none = { recordId: 10009, recordName: "佐藤 学", recipientName: null, address: null, mailField: null };
    const withSkips: PreviewResponse = {
      ...preview,
      records: 3, scopeTotal: 3, messages: 1, skipped: 2,
      samples: [{ ...preview.samples[0]!, recordId: 10001, recordName: "田中 拓也", recipientName: "田中 拓也", address: "t@example.com" }],
      warnings: [
        { code: "InvalidAddress", message: "1 address(es) are not valid and will be skipped.", count: 1, examples: ["吉田 恵: tanaka7.example.com"], records: [invalid] },
        { code: "NoAddress", message: "1 record(s) have no address in the ticked fields and will be skipped.", count: 1, examples: ["佐藤 学"], records: [none] },
      ],
    };
    // Stepping onto a skipped record previews it alone: no sample, its own warning.
    const { calls } = mockFetch({
      "POST /api/mailings/preview": (c) => {
        const id = (c.body as MailingRequest).previewRecordId;
        const w = id === 10007 ? withSkips.warnings[0]! : withSkips.warnings[1]!;
        return { ...withSkips, records: 1, messages: 0, skipped: 1, samples: [], warnings: [w] };
      },
    });
    const user = userEvent.setup({ delay: null });
    renderPane(<PreviewPanel preview={withSkips} request={newsletter} recordIds={[10001, 10007, 10009]} />, { lang: "ja" });

    expect(screen.getByTestId("skipped-InvalidAddress")).toHaveTextContent("吉田 恵：メールアドレスが無効なため送信しません（tanaka7.example.com）");
    expect(screen.getByTestId("skipped-NoAddress")).toHaveTextContent("佐藤 学：選んだ項目にメールアドレスが未登録のため送信しません");
    await user.click(screen.getByRole("button", { name: "次の宛先" }));
    await waitFor(() => expect(screen.getByTestId("record-skipped")).toHaveTextContent("吉田 恵：メールアドレスが無効なため送信しません（tanaka7.example.com）"));
    await user.click(screen.getByRole("button", { name: "次の宛先" }));
    await waitFor(() => expect(within(screen.getByTestId("record-skipped")).getByText("佐藤 学：選んだ項目にメールアドレスが未登録のため送信しません")).toBeInTheDocument());
    expect(calls.map((c) => (c.body as MailingRequest).previewRecordId)).toEqual([10007, 10009]);
  });
});
