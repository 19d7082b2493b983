// Every call to the BulkMail API goes through this file. Errors come back as RFC 7807 problem details
// (application/problem+json) and are turned into ApiError, which the screens show to the user.
import type {
  FieldResource,
  HrbcField,
  HrbcListResponse,
  HrbcPhase,
  HrbcRecord,
  ListResource,
  MailingAction,
  MailingRequest,
  MailingStatus,
  MatchConditions,
  PhaseResource,
  PreviewResponse,
  SavedTemplate,
  SearchQuery,
  SubmitResponse,
  TemplateRequest,
  TestSendResponse,
  UploadedFile,
} from "./types";
import type { DeliveriesFilter, DeliveriesPage, StartRequest } from "./types";
import { codeTables, codeText, messageText, paneWorded, type Args, type CodeLang } from "../i18n/codes";

export interface TemplateError {
  part: string;
  line: number | null;
  column: number | null;
  message: string;
  code?: string;
  tag?: string | null;
  args?: Record<string, string>;
}

/** A field's code and arguments (validation problems' `fieldCodes`). */
export interface FieldCode {
  code: string;
  args: Record<string, string>;
}

/** A failed API call: the problem details the server sent, or what went wrong on the way. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | null;
  readonly type: string | null;
  /** Field → messages (validation problems). */
  readonly fieldErrors: Record<string, string[]>;
  /** Template syntax / unknown tag errors with their position, from `details.templateErrors` or top-level `templateErrors`. */
  readonly templateErrors: TemplateError[];
  /** True when the request never got an answer (network down, server stopped). */
  readonly network: boolean;
  /** The problem's stable code and arguments (every problem of the API has one). */
  readonly code: string | null;
  readonly args: Record<string, string>;
  /** Field → codes, parallel to fieldErrors. */
  readonly fieldCodes: Record<string, FieldCode[]>;
  /** The language the messages are shown in (the pane's). */
  readonly lang: CodeLang;
  /** 429 (and 503): seconds the server asked to wait (Retry-After), else null. */
  readonly retryAfterSeconds: number | null;

  constructor(init: {
    status: number;
    title: string;
    detail?: string | null;
    type?: string | null;
    fieldErrors?: Record<string, string[]>;
    templateErrors?: TemplateError[];
    network?: boolean;
    code?: string | null;
    args?: Record<string, string>;
    fieldCodes?: Record<string, FieldCode[]>;
    lang?: CodeLang;
    retryAfterSeconds?: number | null;
  }) {
    super(init.detail ? `${init.title}: ${init.detail}` : init.title);
    this.name = "ApiError";
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail ?? null;
    this.type = init.type ?? null;
    this.fieldErrors = init.fieldErrors ?? {};
    this.templateErrors = init.templateErrors ?? [];
    this.network = init.network ?? false;
    this.code = init.code ?? null;
    this.args = init.args ?? {};
    this.fieldCodes = init.fieldCodes ?? {};
    this.lang = init.lang ?? "en";
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
  }

  /** Every message for the user, field errors first-to-last, without duplicates: the pane's text of each code, else
   * the server's words. */
  get messages(): string[] {
    const all = [...this.templateErrors.map((e) => this.templateText(e)), ...this.fieldTexts];
    if (all.length === 0 && this.detail) all.push(this.detailText);
    return [...new Set(all)];
  }

  /** A template error in the pane's language (by code), else the server's message. English is the server's own
   * sentence (the code's English, sometimes with more detail). */
  templateText(e: TemplateError): string {
    return (this.lang !== "en" && messageText(e.code, this.lang, withTag(e))) || e.message;
  }

  /** The field errors in the pane's language (by their codes), else the server's messages. */
  get fieldTexts(): string[] {
    return Object.entries(this.fieldErrors).flatMap(([field, msgs]) =>
      msgs.map((m, i) => {
        const codes = this.fieldCodes[field];
        const c = codes?.length === msgs.length ? codes[i] : undefined;
        return (c && this.lang !== "en" && messageText(c.code, this.lang, c.args)) || m;
      }),
    );
  }

  /** The title in the pane's language (by code), else the server's. */
  get titleText(): string {
    const title = this.code ? codeTables.problemTitle[this.code as keyof typeof codeTables.problemTitle] : undefined;
    return (this.lang !== "en" && title?.[this.lang]) || this.title;
  }

  /** The detail in the pane's language (by code), else the server's. */
  get detailText(): string {
    const own = this.lang !== "en" || (this.code !== null && paneWorded.has(this.code));
    return (this.detail !== null && own && codeText("problem", this.code, this.lang, this.args)) || this.detail || this.title;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function parseTemplateErrors(v: unknown): TemplateError[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isRecord).map((e) => ({
    part: str(e.part) ?? "",
    line: num(e.line),
    column: num(e.column),
    message: str(e.message) ?? "",
    code: str(e.code) ?? undefined,
    tag: str(e.tag),
    args: parseArgs(e.args),
  }));
}

function parseArgs(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, a] of Object.entries(v)) if (typeof a === "string" || typeof a === "number") out[k] = String(a);
  return out;
}

function parseFieldCodes(v: unknown): Record<string, FieldCode[]> {
  const out: Record<string, FieldCode[]> = {};
  if (!isRecord(v)) return out;
  for (const [k, list] of Object.entries(v)) {
    if (Array.isArray(list)) out[k] = list.filter(isRecord).map((c) => ({ code: str(c.code) ?? "", args: parseArgs(c.args) }));
  }
  return out;
}

/** A template error's args with its position fields (older servers send no args). */
function withTag(e: TemplateError): Args {
  return { part: e.part, line: e.line ?? "", column: e.column ?? "", tag: e.tag ?? "", ...e.args };
}

function parseFieldErrors(v: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!isRecord(v)) return out;
  for (const [k, msgs] of Object.entries(v)) {
    if (Array.isArray(msgs)) out[k] = msgs.filter((m): m is string => typeof m === "string");
    else if (typeof msgs === "string") out[k] = [msgs];
  }
  return out;
}

/** Builds an ApiError from a problem-details body (or anything else the server answered). */
export function problemToError(status: number, body: unknown, statusText = "", retryAfter: string | null = null): ApiError {
  // Retry-After in seconds (an HTTP date is turned into seconds from now); the problem's own args win.
  const header = retryAfter === null ? null : /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : Math.max(0, Math.ceil((Date.parse(retryAfter) - Date.now()) / 1000));
  const headerSeconds = header !== null && Number.isFinite(header) ? header : null;
  if (!isRecord(body)) {
    return new ApiError({
      status,
      title: statusText || `HTTP ${status}`,
      detail: typeof body === "string" && body.trim() ? body.trim().slice(0, 500) : null,
      retryAfterSeconds: headerSeconds,
    });
  }
  const details = isRecord(body.details) ? body.details : null;
  const args = parseArgs(body.args);
  const templateErrors = [
    ...parseTemplateErrors(details?.templateErrors),
    ...parseTemplateErrors(body.templateErrors),
  ];
  return new ApiError({
    status: num(body.status) ?? status,
    title: str(body.title) ?? (statusText || `HTTP ${status}`),
    detail: str(body.detail),
    type: str(body.type),
    fieldErrors: parseFieldErrors(body.errors),
    templateErrors,
    code: str(body.code),
    args: { ...(headerSeconds !== null ? { retryAfterSeconds: String(headerSeconds) } : {}), ...args },
    fieldCodes: parseFieldCodes(body.fieldCodes),
    lang: language?.toLowerCase().startsWith("ja") ? "ja" : "en",
    retryAfterSeconds: num(Number(args.retryAfterSeconds)) ?? headerSeconds,
  });
}

export type TokenProvider = () => Promise<string | null>;

let baseUrl = "";
let tokenProvider: TokenProvider = async () => null;
let language: string | null = null;

/** Where the API is (same origin by default), how to get the bearer token (none in demo mode) and the UI language,
 * sent as Accept-Language so that the server's problem details come in the pane's language. */
export function configureClient(options: { baseUrl?: string; getToken?: TokenProvider; language?: string }): void {
  if (options.baseUrl !== undefined) baseUrl = options.baseUrl.replace(/\/$/, "");
  if (options.getToken) tokenProvider = options.getToken;
  if (options.language !== undefined) language = options.language;
}

async function headers(extra?: Record<string, string>): Promise<Headers> {
  const h = new Headers(extra);
  const token = await tokenProvider();
  if (token) h.set("Authorization", `Bearer ${token}`);
  if (language) h.set("Accept-Language", language);
  return h;
}

async function send(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const extra: Record<string, string> = { Accept: "application/json, application/problem+json" };
  if (json !== undefined) extra["Content-Type"] = "application/json";
  const h = await headers(extra);
  if (rest.headers) new Headers(rest.headers).forEach((v, k) => h.set(k, v));
  let res: Response;
  try {
    res = await fetch(baseUrl + path, {
      ...rest,
      headers: h,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError({
      status: 0,
      title: "Network error",
      detail: e instanceof Error ? e.message : String(e),
      network: true,
    });
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let body: unknown = text;
  const type = res.headers.get("Content-Type") ?? "";
  if (type.includes("json") || text.trimStart().startsWith("{")) {
    try {
      body = JSON.parse(text);
    } catch {
      /* keep the text */
    }
  }
  return problemToError(res.status, body, res.statusText, res.headers.get("Retry-After"));
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await send(path, { method: "GET", signal });
  return (await res.json()) as T;
}

async function postJson<T>(path: string, json: unknown, signal?: AbortSignal): Promise<T> {
  const res = await send(path, { method: "POST", json, signal });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const qs = (params: Record<string, string | number | undefined | null>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
};

// ---- HRBC -----------------------------------------------------------------------------------------------------

export function searchRecords(
  resource: ListResource,
  query: SearchQuery & { start?: number; count?: number },
  signal?: AbortSignal,
): Promise<HrbcListResponse> {
  return getJson(
    `/api/hrbc/${resource}${qs({ keywords: query.keywords?.trim(), condition: query.condition, start: query.start, count: query.count })}`,
    signal,
  );
}

export function getRecord(resource: "resumes" | "jobs", id: number, signal?: AbortSignal): Promise<HrbcRecord> {
  return getJson(`/api/hrbc/${resource}/${encodeURIComponent(String(id))}`, signal);
}

/** A job's (or resume's) options in the option fields its matching list shares with it: the list's starting conditions. */
export function getMatch(anchor: "jobs" | "resumes", id: number, signal?: AbortSignal): Promise<MatchConditions> {
  return getJson(`/api/hrbc/${anchor}/${encodeURIComponent(String(id))}/match`, signal);
}

export function getFields(resource: FieldResource, signal?: AbortSignal): Promise<HrbcField[]> {
  return getJson(`/api/hrbc/${resource}/fields`, signal);
}

export function getPhases(resource: PhaseResource, signal?: AbortSignal): Promise<HrbcPhase[]> {
  return getJson(`/api/hrbc/phases${qs({ resource })}`, signal);
}

// ---- Templates ------------------------------------------------------------------------------------------------

export function listTemplates(mode?: string, signal?: AbortSignal): Promise<SavedTemplate[]> {
  return getJson(`/api/templates${qs({ mode })}`, signal);
}

export function getTemplate(id: string): Promise<SavedTemplate> {
  return getJson(`/api/templates/${encodeURIComponent(id)}`);
}

export function createTemplate(t: TemplateRequest): Promise<SavedTemplate> {
  return postJson(`/api/templates`, t);
}

export async function updateTemplate(id: string, t: TemplateRequest): Promise<SavedTemplate> {
  const res = await send(`/api/templates/${encodeURIComponent(id)}`, { method: "PUT", json: t });
  return (await res.json()) as SavedTemplate;
}

export async function deleteTemplate(id: string): Promise<void> {
  await send(`/api/templates/${encodeURIComponent(id)}`, { method: "DELETE" });
}

// ---- Uploads --------------------------------------------------------------------------------------------------

export async function uploadFile(file: File | Blob, name?: string): Promise<UploadedFile> {
  const form = new FormData();
  form.append("file", file, name ?? (file instanceof File ? file.name : "attachment"));
  const res = await send(`/api/uploads`, { method: "POST", body: form });
  return (await res.json()) as UploadedFile;
}

// ---- Mailings -------------------------------------------------------------------------------------------------

export function previewMailing(request: MailingRequest, signal?: AbortSignal): Promise<PreviewResponse> {
  return postJson(`/api/mailings/preview`, request, signal);
}

export function testSend(request: MailingRequest): Promise<TestSendResponse> {
  return postJson(`/api/mailings/test`, request);
}

export function submitMailing(request: MailingRequest): Promise<SubmitResponse> {
  return postJson(`/api/mailings`, request);
}

/** An answer with the server's clock when it was sent (its `Date` header, whole seconds) and when it arrived here. */
export interface Timed<T> {
  value: T;
  serverNow: number | null;
  receivedAt: number;
}

/**
 * Hold flow: sends a mailing that is Ready (prepared and counted), now or as scheduled (`sendAt`, `window`), after the
 * undo window; `dryRun: true` changes nothing and answers the status it would have (the finish time while the user
 * edits the schedule). Starting a Scheduled mailing that has sent nothing replaces its schedule. 409 from other states.
 */
export async function startMailing(id: string, body: StartRequest = {}, signal?: AbortSignal): Promise<Timed<MailingStatus>> {
  const res = await send(`/api/mailings/${encodeURIComponent(id)}/start`, { method: "POST", json: body, signal });
  const receivedAt = Date.now();
  const date = Date.parse(res.headers.get("Date") ?? "");
  const text = await res.text();
  return { value: (text ? JSON.parse(text) : { id, state: "Queued" }) as MailingStatus, serverNow: Number.isNaN(date) ? null : date, receivedAt };
}

/** Within the undo window: cancels the started mailing with nothing sent (200, state Cancelled); 409 `UndoExpired` after. */
export function undoMailing(id: string): Promise<MailingStatus> {
  return postJson(`/api/mailings/${encodeURIComponent(id)}/undo`, {});
}

/** A page of a mailing's deliveries: those that were replied to, bounced, or all (cursor paging). */
export function getDeliveries(
  id: string,
  query: { filter: DeliveriesFilter; cursor?: string | null; count?: number },
  signal?: AbortSignal,
): Promise<DeliveriesPage> {
  return getJson(`/api/mailings/${encodeURIComponent(id)}/deliveries${qs({ filter: query.filter, cursor: query.cursor, count: query.count })}`, signal);
}

/** What this server's API can do, read from its OpenAPI document (the pane is served by its own API, so only a mixed
 * deployment differs): the hold flow (`hold` in MailingRequest), scheduling and undo (a start body with `sendAt` and
 * `dryRun`), the deliveries list (replies, bounces). Asked once per page load (state/queries.ts).
 * Transitional: the pane asks before calling `start` with `dryRun`, which a server without it would take as a start. */
export interface ServerFeatures {
  hold: boolean;
  schedule: boolean;
  deliveries: boolean;
}

export function serverFeatures(): Promise<ServerFeatures> {
  return getJson<unknown>(`/openapi/v1.json`)
    .then((doc): ServerFeatures => {
      const schemas = isRecord(doc) && isRecord(doc.components) && isRecord(doc.components.schemas) ? doc.components.schemas : {};
      const props = (v: unknown) => (isRecord(v) && isRecord(v.properties) ? v.properties : {});
      const paths = isRecord(doc) && isRecord(doc.paths) ? doc.paths : {};
      const startBody = Object.values(schemas).some((x) => "sendAt" in props(x) && "dryRun" in props(x));
      return {
        hold: "hold" in props(schemas.MailingRequest),
        schedule: startBody,
        deliveries: Object.keys(paths).some((k) => /^\/api\/mailings\/\{[^}]+\}\/deliveries$/.test(k)),
      };
    })
    .catch(() => ({ hold: false, schedule: false, deliveries: false }));
}

/** Whether the server holds mailings before sending (see serverFeatures). */
export const serverHolds = (): Promise<boolean> => serverFeatures().then((f) => f.hold);

export function listMailings(signal?: AbortSignal): Promise<MailingStatus[]> {
  return getJson(`/api/mailings`, signal);
}

export function getMailing(id: string, signal?: AbortSignal): Promise<MailingStatus> {
  return getJson(`/api/mailings/${encodeURIComponent(id)}`, signal);
}

export async function controlMailing(id: string, action: MailingAction): Promise<MailingStatus | undefined> {
  return postJson(`/api/mailings/${encodeURIComponent(id)}/${action}`, undefined);
}

/** Removes a held or finished mailing and everything stored for it (204); 409 while it runs or is still stopping. */
export async function deleteMailing(id: string): Promise<void> {
  await send(`/api/mailings/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** The result file as a Blob (fetched with the bearer token, so it works signed in too) and its file name. */
export async function downloadResults(id: string, lang: "ja" | "en"): Promise<{ blob: Blob; fileName: string }> {
  const res = await send(`/api/mailings/${encodeURIComponent(id)}/results.csv${qs({ lang })}`, { method: "GET" });
  const disposition = res.headers.get("Content-Disposition") ?? "";
  // filename* (UTF-8: the subject may be Japanese) before the ASCII filename
  const star = /filename\*=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const name = star?.[1] ? decodeURIComponent(star[1]) : plain?.[1];
  return { blob: await res.blob(), fileName: name ?? `bulkmail-${id}.csv` };
}

/** Parses a text/event-stream chunk sequence; returns the events complete so far and the rest. */
export function parseSse(buffer: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  const normalised = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalised.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const idx = line.indexOf(":");
      const field = idx < 0 ? line : line.slice(0, idx);
      const value = idx < 0 ? "" : line.slice(idx + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

/** Reads a text/event-stream response until it ends (or `stop()` says so), handing each status to `onStatus`; heartbeat
 * comments and data that is not a status are skipped. */
async function readStatuses(res: Response, onStatus: (s: MailingStatus) => void, stop: () => boolean): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (!stop()) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const parsed = parseSse(buffer);
    buffer = parsed.rest;
    for (const ev of parsed.events) {
      let s: unknown;
      try {
        s = JSON.parse(ev.data);
      } catch {
        continue; // not a status object: ignore
      }
      if (s && typeof s === "object" && "id" in s && "state" in s) onStatus(s as MailingStatus);
    }
  }
  void reader.cancel().catch(() => undefined);
}

/**
 * Follows GET /api/mailings/{id}/events (server-sent events). Read with fetch rather than EventSource so the
 * bearer token can be sent when signed in. When the stream ends or fails it falls back to polling until the
 * mailing is finished. Returns a function that stops it.
 */
export function followMailing(
  id: string,
  onStatus: (s: MailingStatus) => void,
  options: { pollMs?: number; onError?: (e: unknown) => void } = {},
): () => void {
  const controller = new AbortController();
  const pollMs = options.pollMs ?? 2000;
  let finished = false;
  const deliver = (s: MailingStatus) => {
    onStatus(s);
    if (s.state === "Completed" || s.state === "Cancelled" || s.state === "Failed") finished = true;
  };
  const run = async () => {
    try {
      const res = await send(`/api/mailings/${encodeURIComponent(id)}/events`, {
        method: "GET",
        signal: controller.signal,
        headers: { Accept: "text/event-stream" },
      });
      await readStatuses(res, deliver, () => controller.signal.aborted || finished);
    } catch (e) {
      if (controller.signal.aborted) return;
      options.onError?.(e);
    }
    // Stream closed or unavailable: poll until the mailing is done.
    while (!controller.signal.aborted && !finished) {
      try {
        deliver(await getMailing(id, controller.signal));
      } catch (e) {
        if (controller.signal.aborted) return;
        options.onError?.(e);
      }
      if (finished) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  void run();
  return () => controller.abort();
}

/**
 * Follows GET /api/mailings/events: one stream for all the user's mailings (the header indicator and the list), pushed
 * by the server as the mailings change — first the status of each listed mailing, then of each that changes or is new.
 * When the stream ends or fails, the list is read once (GET /api/mailings) after `retryMs` and the stream opened again,
 * the pause doubling up to a minute while it keeps failing. Returns a function that stops it.
 */
export function followMyMailings(
  onStatus: (s: MailingStatus) => void,
  options: { retryMs?: number; onError?: (e: unknown) => void } = {},
): () => void {
  const controller = new AbortController();
  const signal = controller.signal;
  const first = options.retryMs ?? 2000;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
  const run = async () => {
    let wait = first;
    while (!signal.aborted) {
      let opened = false;
      try {
        const res = await send(`/api/mailings/events`, { method: "GET", signal, headers: { Accept: "text/event-stream" } });
        opened = true;
        await readStatuses(res, onStatus, () => signal.aborted);
      } catch (e) {
        if (signal.aborted) return;
        options.onError?.(e);
      }
      // a stream that was open (the server restarted, a proxy closed it) is retried at the first pace again
      if (opened) wait = first;
      await pause(wait);
      if (!opened) wait = Math.min(wait * 2, 60_000);
      if (signal.aborted) return;
      try {
        for (const s of await listMailings(signal)) onStatus(s);
      } catch (e) {
        if (signal.aborted) return;
        options.onError?.(e);
      }
    }
  };
  void run();
  return () => controller.abort();
}
