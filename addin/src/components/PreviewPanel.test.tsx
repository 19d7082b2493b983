import { describe, expect, it } from "vitest";
import { screen } from "@testing-library/react";
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
      places: [{ part: "body", line: 2, column: 1 }],
    },
  ],
};

describe("PreviewPanel", () => {
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
});
