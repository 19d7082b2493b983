import { describe, expect, it, vi } from "vitest";
import {
  ApiError,
  configureClient,
  downloadResults,
  followMailing,
  followMyMailings,
  parseSse,
  previewMailing,
  problemToError,
  searchRecords,
  serverHolds,
  startMailing,
  undoMailing,
  getDeliveries,
  submitMailing,
  uploadFile,
} from "./client";
import { json, mockFetch, problem } from "../test/fetchMock";
import { SignInError } from "../office/signInError";
import type { MailingStatus } from "./types";

const status = (over: Partial<MailingStatus> = {}): MailingStatus => ({
  id: "m1",
  mode: "Resumes",
  state: "Sending",
  total: 3,
  sent: 1,
  failed: 0,
  skipped: 0,
  bounced: 0,
  pending: 2,
  createdAt: "2026-11-27T00:00:00Z",
  startedAt: null,
  finishedAt: null,
  cancelled: 0,
  subject: "",
  waitReason: null,
  resumesAt: null,
  etaSeconds: 4,
  pausedReason: null,
  ...over,
});

describe("problem details", () => {
  it("reads title, detail, status and field errors", () => {
    const e = problemToError(400, {
      type: "https://bulkmail.example/problems/invalid-mailing",
      title: "The mailing has invalid input; nothing was stored.",
      status: 400,
      detail: "Fix it",
      errors: { subject: ["The subject is required."], body: ["The body is required."] },
    });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.title).toMatch(/invalid input/);
    expect(e.detail).toBe("Fix it");
    expect(e.fieldErrors.subject).toEqual(["The subject is required."]);
    expect(e.messages).toEqual(["The subject is required.", "The body is required."]);
  });

  it("reads template errors under details.templateErrors", () => {
    const e = problemToError(400, {
      title: "bad",
      errors: { body: ["Unknown tag {{Nope.X}} in the subject at line 1, column 1."] },
      details: {
        templateErrors: [
          { code: "UnknownTag", message: "Unknown tag {{Nope.X}} in the subject at line 1, column 1.", part: "subject", line: 1, column: 1, tag: "Nope.X" },
        ],
      },
    });
    expect(e.templateErrors).toEqual([
      { code: "UnknownTag", message: "Unknown tag {{Nope.X}} in the subject at line 1, column 1.", part: "subject", line: 1, column: 1, tag: "Nope.X", args: {} },
    ]);
    expect(e.messages).toEqual(["Unknown tag {{Nope.X}} in the subject at line 1, column 1."]);
  });

  it("shows the text of each code in the pane's language, and the server's words for a code it does not know", () => {
    configureClient({ language: "ja-JP" });
    try {
      const e = problemToError(400, {
        title: "The mailing has invalid input; nothing was stored.",
        code: "InvalidMailing",
        args: {},
        errors: { subject: ["The subject can be at most 255 characters."], mode: ["Something new."] },
        fieldCodes: { subject: [{ code: "SubjectTooLong", args: { max: "255" } }], mode: [{ code: "SomethingNew", args: {} }] },
        details: { templateErrors: [{ code: "UnknownTag", args: { tag: "Nope.X", part: "body", line: "2", column: "4" }, part: "body", line: 2, column: 4, message: "Unknown tag" }] },
      });
      expect(e.code).toBe("InvalidMailing");
      expect(e.titleText).toBe("入力に誤りがあります（何も保存していません）。");
      expect(e.messages).toEqual([
        "{{Nope.X}} は使えない差し込みタグです（HRBC の項目エイリアス、例: {{Person.P_Name}}）。",
        "件名は 255 文字までです。",
        "Something new.",
      ]);
      const missing = problemToError(404, { title: "Mailing not found", detail: "There is no mailing m9 of yours.", code: "MailingNotFound", args: { id: "m9" } });
      expect(missing.messages).toEqual(["あなたのメール送信 m9 はありません。"]);
      const unknown = problemToError(409, { title: "New", detail: "A new problem.", code: "BrandNew", args: {} });
      expect([unknown.titleText, unknown.detailText]).toEqual(["New", "A new problem."]);
    } finally {
      configureClient({ language: "en" });
    }
    // English: the server's own sentences
    const en = problemToError(404, { title: "Mailing not found", detail: "There is no mailing m9 of yours.", code: "MailingNotFound", args: { id: "m9" } });
    expect([en.titleText, en.messages]).toEqual(["Mailing not found", ["There is no mailing m9 of yours."]]);
  });

  it("reads template errors at the top level too", () => {
    const e = problemToError(400, { title: "bad", templateErrors: [{ part: "body", line: 2, column: 5, message: "'{{' inside a tag" }] });
    expect(e.templateErrors[0]).toMatchObject({ part: "body", line: 2, column: 5, message: "'{{' inside a tag" });
  });

  it("copes with a body that is not problem details", () => {
    const e = problemToError(502, "<html>Bad gateway</html>", "Bad Gateway");
    expect(e.title).toBe("Bad Gateway");
    expect(e.detail).toContain("Bad gateway");
    expect(e.messages).toEqual(["<html>Bad gateway</html>"]);
  });

  it("turns an application/problem+json answer into a thrown ApiError", async () => {
    mockFetch({
      "POST /api/mailings/preview": () =>
        problem({ title: "The mailing has invalid input; nothing was stored.", status: 400, errors: { mode: ["bad mode"] } }),
    });
    const err = await previewMailing({ mode: "Resumes", scope: { kind: "Checked", ids: [1] }, mailFields: [], subject: "s", body: "b" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).fieldErrors.mode).toEqual(["bad mode"]);
  });

  it("words 429 RateLimited in the user's language with the policy said, and reads Retry-After when the body has no args", async () => {
    const body = {
      status: 429, title: "Too many requests", code: "RateLimited", args: { policy: "submits", retryAfterSeconds: "42" },
      detail: "Too many requests of this kind (submits); try again in 42 seconds.",
    };
    const en = problemToError(429, body);
    expect([en.titleText, en.detailText, en.retryAfterSeconds]).toEqual(["Too many requests", "Too many sends in a short time. Try again in 42 seconds.", 42]);
    configureClient({ language: "ja" });
    try {
      const ja = problemToError(429, body);
      expect([ja.titleText, ja.messages]).toEqual(["リクエストが多すぎます", ["短時間の送信が多すぎます。42 秒後にもう一度お試しください。"]]);
      expect(problemToError(409, { status: 409, title: "Conflict", code: "TooManyRunningMailings", args: { max: "5" }, detail: "You have 5 mailings running already; …" }).messages).toEqual([
        "実行中のメール送信がすでに 5 件あります。どれかが終わる（または中止する）のを待ってから、もう一度お試しください。",
      ]);
    } finally {
      configureClient({ language: "en" });
    }
    // A proxy's bare 429: the header's seconds.
    mockFetch({ "POST /api/mailings": () => new Response("slow down", { status: 429, headers: { "Retry-After": "7" } }) });
    const bare = (await submitMailing({ mode: "Resumes", scope: { kind: "Checked", ids: [1] }, mailFields: [], subject: "s", body: "b" }).catch((e: unknown) => e)) as ApiError;
    expect([bare.status, bare.retryAfterSeconds, bare.messages]).toEqual([429, 7, ["slow down"]]);
  });

  it("reports a network failure as an ApiError with network set", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const err = (await searchRecords("resumes", {}).catch((e: unknown) => e)) as ApiError;
    expect(err.network).toBe(true);
    expect(err.status).toBe(0);
  });
});

describe("requests", () => {
  it("searches with keywords, condition, start and count", async () => {
    const { calls } = mockFetch({ "GET /api/hrbc/resumes": () => ({ resource: "resumes", total: 0, start: 0, count: 0, items: [] }) });
    await searchRecords("resumes", { keywords: " 鈴木 ", condition: "Resume.P_Phase:or=Option.X", start: 20, count: 20 });
    const url = new URL(calls[0]!.url, "http://x");
    expect(url.pathname).toBe("/api/hrbc/resumes");
    expect(url.searchParams.get("keywords")).toBe("鈴木");
    expect(url.searchParams.get("condition")).toBe("Resume.P_Phase:or=Option.X");
    expect(url.searchParams.get("start")).toBe("20");
    expect(url.searchParams.get("count")).toBe("20");
  });

  it("sends the bearer token when signed in and none in the demo", async () => {
    const { calls } = mockFetch({ "POST /api/mailings": () => json({ id: "m1", state: "Preparing" }, 202) });
    configureClient({ getToken: async () => "access-token" });
    await submitMailing({ mode: "Resumes", scope: { kind: "Checked", ids: [1] }, mailFields: ["Resume.P_Mail"], subject: "s", body: "b" });
    expect(calls[0]!.headers.get("Authorization")).toBe("Bearer access-token");
    configureClient({ getToken: async () => null });
    await submitMailing({ mode: "Resumes", scope: { kind: "Checked", ids: [1] }, mailFields: ["Resume.P_Mail"], subject: "s", body: "b" });
    expect(calls[1]!.headers.get("Authorization")).toBeNull();
    expect(calls[1]!.headers.get("Content-Type")).toBe("application/json");
  });

  it("passes a sign-in error on to the screen as it is, and sends nothing without a token", async () => {
    const { calls } = mockFetch({ "POST /api/mailings": () => json({ id: "m1", state: "Preparing" }, 202) });
    configureClient({ getToken: async () => Promise.reject(new SignInError("cancelled", 12006)) });
    const error = await submitMailing({ mode: "Resumes", scope: { kind: "Checked", ids: [1] }, mailFields: ["Resume.P_Mail"], subject: "s", body: "b" }).catch(
      (e: unknown) => e,
    );
    configureClient({ getToken: async () => null });
    expect(error).toBeInstanceOf(SignInError);
    expect(error).toMatchObject({ kind: "cancelled" });
    expect(calls).toHaveLength(0);
  });

  it("asks for problems in the pane's language", async () => {
    const { calls } = mockFetch({ "POST /api/mailings": () => json({ id: "m1", state: "Preparing" }, 202) });
    configureClient({ language: "ja" });
    await submitMailing({ mode: "Resumes", scope: { kind: "Checked", ids: [1] }, mailFields: ["Resume.P_Mail"], subject: "s", body: "b" });
    expect(calls[0]!.headers.get("Accept-Language")).toBe("ja");
    configureClient({ language: "en" });
  });

  it("uploads a file as multipart with the field name file", async () => {
    const { calls } = mockFetch({ "POST /api/uploads": () => ({ id: "u1", name: "a.pdf", size: 3 }) });
    const r = await uploadFile(new File(["abc"], "a.pdf", { type: "application/pdf" }));
    expect(r).toEqual({ id: "u1", name: "a.pdf", size: 3 });
    const form = calls[0]!.body as FormData;
    expect(form).toBeInstanceOf(FormData);
    expect((form.get("file") as File).name).toBe("a.pdf");
    expect(calls[0]!.headers.get("Content-Type")).toBeNull(); // the browser sets the multipart boundary
  });

  it("downloads the result file with the name the server gives", async () => {
    mockFetch({
      "GET /api/mailings/m1/results.csv": () =>
        new Response("\uFEFFMailingId\r\n", { headers: { "Content-Type": "text/csv", "Content-Disposition": 'attachment; filename="bulkmail-m1.csv"' } }),
    });
    const r = await downloadResults("m1", "ja");
    expect(r.fileName).toBe("bulkmail-m1.csv");
    expect(await r.blob.text()).toContain("MailingId");
    // the UTF-8 name (a Japanese subject) wins over the ASCII fallback
    mockFetch({
      "GET /api/mailings/m2/results.csv": () =>
        new Response("x", {
          headers: {
            "Content-Disposition": `attachment; filename=BulkMail_20261201-1752_11.csv; filename*=UTF-8''${encodeURIComponent("BulkMail_20261201-1752_11月のお知らせ.csv")}`,
          },
        }),
    });
    expect((await downloadResults("m2", "ja")).fileName).toBe("BulkMail_20261201-1752_11月のお知らせ.csv");
  });
});

describe("server-sent events", () => {
  it("parses events split across chunks", () => {
    const a = parseSse('event: status\ndata: {"id":"m1"}\n\nevent: status\ndata: {"id"');
    expect(a.events).toEqual([{ event: "status", data: '{"id":"m1"}' }]);
    const b = parseSse(a.rest + ':"m2"}\r\n\r\n');
    expect(b.events).toEqual([{ event: "status", data: '{"id":"m2"}' }]);
    expect(b.rest).toBe("");
  });

  it("follows a mailing until it is done", async () => {
    const enc = new TextEncoder();
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(enc.encode(`event: status\ndata: ${JSON.stringify(status())}\n\n`));
        c.enqueue(enc.encode(`event: status\ndata: ${JSON.stringify(status({ state: "Completed", sent: 3, pending: 0 }))}\n\n`));
        c.close();
      },
    });
    mockFetch({ "GET /api/mailings/m1/events": () => new Response(stream, { headers: { "Content-Type": "text/event-stream" } }) });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      followMailing("m1", (s) => {
        seen.push(s.state);
        if (s.state === "Completed") resolve();
      });
    });
    expect(seen).toEqual(["Sending", "Completed"]);
  });

  it("falls back to polling when the stream is unavailable", async () => {
    let n = 0;
    mockFetch({
      "GET /api/mailings/m1/events": () => problem({ title: "nope" }, 500),
      "GET /api/mailings/m1": () => (++n < 2 ? status() : status({ state: "Completed", pending: 0, sent: 3 })),
    });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      followMailing(
        "m1",
        (s) => {
          seen.push(s.state);
          if (s.state === "Completed") resolve();
        },
        { pollMs: 5 },
      );
    });
    expect(seen).toEqual(["Sending", "Completed"]);
  });

  it("follows all the user's mailings on one stream, skipping heartbeats and what is not a status", async () => {
    const enc = new TextEncoder();
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(enc.encode(`event: status\ndata: ${JSON.stringify(status({ id: "a" }))}\n\n:\n\n`));
        c.enqueue(enc.encode(`event: status\ndata: {}\n\nevent: status\ndata: ${JSON.stringify(status({ id: "b", state: "Queued" }))}\n\n`));
        c.enqueue(enc.encode(`event: status\ndata: ${JSON.stringify(status({ id: "a", state: "Completed" }))}\n\n`));
      },
    });
    const { calls } = mockFetch({ "GET /api/mailings/events": () => new Response(stream, { headers: { "Content-Type": "text/event-stream" } }) });
    const seen: string[] = [];
    let stop: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      stop = followMyMailings((s) => {
        seen.push(`${s.id}:${s.state}`);
        if (seen.length === 3) resolve();
      });
    });
    stop?.();
    expect(seen).toEqual(["a:Sending", "b:Queued", "a:Completed"]);
    expect(calls.filter((c) => c.url.endsWith("/api/mailings/events"))).toHaveLength(1);
    expect(calls[0]!.headers.get("Accept")).toBe("text/event-stream");
  });

  it("reads the list when the stream fails and opens it again", async () => {
    let opened = 0;
    const { calls } = mockFetch({
      "GET /api/mailings/events": () => {
        opened += 1;
        if (opened === 1) return problem({ title: "nope" }, 503);
        return new Response(`event: status\ndata: ${JSON.stringify(status({ state: "Completed" }))}\n\n`, { headers: { "Content-Type": "text/event-stream" } });
      },
      "GET /api/mailings": () => [status({ sent: 2 })],
    });
    const seen: string[] = [];
    let stop: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      stop = followMyMailings(
        (s) => {
          seen.push(`${s.state}:${s.sent}`);
          if (s.state === "Completed") resolve();
        },
        { retryMs: 5 },
      );
    });
    stop?.();
    expect(seen).toEqual(["Sending:2", "Completed:1"]);
    expect(calls.map((c) => c.url.replace(/^https?:\/\/[^/]+/, ""))).toEqual(["/api/mailings/events", "/api/mailings", "/api/mailings/events"]);
  });

  it("knows whether the server holds mailings from the OpenAPI document, and starts a held one", async () => {
    const { calls } = mockFetch({
      "GET /openapi/v1.json": () => ({ components: { schemas: { MailingRequest: { properties: { mode: {}, hold: { type: "boolean" } } } } } }),
      "POST /api/mailings/m1/start": () => status({ state: "Queued" }),
    });
    expect(await serverHolds()).toBe(true);
    expect((await startMailing("m1")).value.state).toBe("Queued");
    expect(calls.find((c) => c.url.endsWith("/start"))).toMatchObject({ method: "POST", body: {} });

    mockFetch({ "GET /openapi/v1.json": () => ({ components: { schemas: { MailingRequest: { properties: { mode: {} } } } } }) });
    expect(await serverHolds()).toBe(false);
    mockFetch({});
    expect(await serverHolds()).toBe(false);
  });

  it("starts with a schedule, reads the server's clock from the Date header, undoes, and pages deliveries", async () => {
    const { calls } = mockFetch({
      "POST /api/mailings/m1/start": () =>
        json({ ...status({ state: "Scheduled" }), undoUntil: "2026-12-01T09:00:30Z" }, 200, { Date: "Tue, 01 Dec 2026 09:00:00 GMT" }),
      "POST /api/mailings/m1/undo": () => status({ state: "Cancelled" }),
      "GET /api/mailings/m1/deliveries": () => ({ items: [], nextCursor: null }),
    });
    const window = { days: ["Mon" as const], from: "09:00", to: "18:00", timeZone: "Asia/Tokyo", skipHolidays: true };
    const r = await startMailing("m1", { sendAt: "2026-12-02T09:00:00+09:00", window, dryRun: true });
    expect(r.serverNow).toBe(Date.parse("2026-12-01T09:00:00Z"));
    expect(r.value.undoUntil).toBe("2026-12-01T09:00:30Z");
    expect(calls[0]!.body).toEqual({ sendAt: "2026-12-02T09:00:00+09:00", window, dryRun: true });
    expect((await undoMailing("m1")).state).toBe("Cancelled");
    await getDeliveries("m1", { filter: "replied", cursor: "abc", count: 20 });
    expect(calls[2]!.url).toMatch(/\/api\/mailings\/m1\/deliveries\?filter=replied&cursor=abc&count=20$/);
  });
});
