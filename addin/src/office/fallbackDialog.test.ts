import { afterEach, describe, expect, it, vi } from "vitest";
import { OfficeMockObject } from "office-addin-mock";
import type { AccountInfo, AuthenticationResult } from "@azure/msal-browser";
import { DEFAULT_CONFIG, type RuntimeConfig } from "../config";
import { parseDialogMessage } from "./auth";
import { runFallbackDialog, startFallbackDialog, type DialogPca } from "./fallbackDialog";
import { initOfficeDialog, looksLikeOfficeDialog } from "./loader";

const g = globalThis as unknown as { Office?: unknown };
const SCOPES = ["api://api-app/access_as_user"];
const ACCOUNT = { homeAccountId: "h", username: "hanako@contoso.example" } as AccountInfo;
const EXPIRES = new Date("2026-11-27T10:00:00Z");

const result = (accessToken: string): AuthenticationResult =>
  ({ accessToken, idToken: "id-token-never-sent", expiresOn: EXPIRES, account: ACCOUNT }) as unknown as AuthenticationResult;

/** MSAL's PublicClientApplication as the dialog page uses it. */
function fakePca(opts: { redirect?: AuthenticationResult | null | Error; account?: AccountInfo | null; silent?: AuthenticationResult | Error } = {}) {
  return {
    handleRedirectPromise: vi.fn(async () => {
      if (opts.redirect instanceof Error) throw opts.redirect;
      return opts.redirect ?? null;
    }),
    acquireTokenRedirect: vi.fn(async () => undefined),
    acquireTokenSilent: vi.fn(async () => {
      if (opts.silent instanceof Error) throw opts.silent;
      return opts.silent ?? result("silent-access");
    }),
    getActiveAccount: vi.fn(() => null),
    getAllAccounts: vi.fn(() => (opts.account ? [opts.account] : [])),
    setActiveAccount: vi.fn(),
  };
}

const asPca = (p: ReturnType<typeof fakePca>) => p as unknown as DialogPca;
const sent = (messageParent: ReturnType<typeof vi.fn>) => messageParent.mock.calls.map((c) => JSON.parse(String(c[0])) as unknown);

afterEach(() => {
  delete g.Office;
  sessionStorage.clear();
});

describe("the sign-in dialog page", () => {
  it("sends the redirect's access token and expiry to the pane", async () => {
    const pca = fakePca({ redirect: result("redirect-access") });
    const messageParent = vi.fn();
    expect(await runFallbackDialog(asPca(pca), "api-app", messageParent)).toBe("sent");
    expect(pca.handleRedirectPromise).toHaveBeenCalledWith({ navigateToLoginRequestUrl: false });
    expect(sent(messageParent)).toEqual([{ status: "success", accessToken: "redirect-access", expiresOn: EXPIRES.getTime() }]);
    expect(pca.acquireTokenRedirect).not.toHaveBeenCalled();
    expect(pca.setActiveAccount).toHaveBeenCalledWith(ACCOUNT);
    // What the pane reads back from that message.
    expect(parseDialogMessage(String(messageParent.mock.calls[0]![0]))).toEqual({ accessToken: "redirect-access", expiresOn: EXPIRES.getTime() });
  });

  it("goes to Microsoft's sign-in for api://<apiAppId>/access_as_user when there is no result and no account", async () => {
    const pca = fakePca();
    const messageParent = vi.fn();
    expect(await runFallbackDialog(asPca(pca), "api-app", messageParent)).toBe("redirecting");
    expect(pca.acquireTokenRedirect).toHaveBeenCalledWith({ scopes: SCOPES });
    expect(pca.acquireTokenSilent).not.toHaveBeenCalled();
    expect(messageParent).not.toHaveBeenCalled();
  });

  it("signs in silently with a cached account, without a redirect", async () => {
    const pca = fakePca({ account: ACCOUNT });
    const messageParent = vi.fn();
    expect(await runFallbackDialog(asPca(pca), "api://api-app", messageParent)).toBe("sent");
    expect(pca.acquireTokenSilent).toHaveBeenCalledWith({ scopes: SCOPES, account: ACCOUNT });
    expect(pca.acquireTokenRedirect).not.toHaveBeenCalled();
    expect(sent(messageParent)).toEqual([{ status: "success", accessToken: "silent-access", expiresOn: EXPIRES.getTime() }]);
  });

  it("redirects with the account as a hint when the silent sign-in fails", async () => {
    const pca = fakePca({ account: ACCOUNT, silent: Object.assign(new Error("login required"), { errorCode: "interaction_required" }) });
    const messageParent = vi.fn();
    expect(await runFallbackDialog(asPca(pca), "api-app", messageParent)).toBe("redirecting");
    expect(pca.acquireTokenRedirect).toHaveBeenCalledWith({ scopes: SCOPES, account: ACCOUNT });
    expect(messageParent).not.toHaveBeenCalled();
  });

  it("sends an error with MSAL's code and message, and logs nothing", async () => {
    const logs = (["log", "info", "warn", "error", "debug"] as const).map((m) => vi.spyOn(console, m));
    const declined = Object.assign(new Error("AADSTS65004: User declined to consent to access the app."), {
      name: "ServerError",
      errorCode: "access_denied",
      errorMessage: "AADSTS65004: User declined to consent to access the app.",
    });
    const pca = fakePca({ redirect: declined });
    const messageParent = vi.fn();
    expect(await runFallbackDialog(asPca(pca), "api-app", messageParent)).toBe("failed");
    expect(sent(messageParent)).toEqual([
      { status: "error", code: "access_denied", message: "AADSTS65004: User declined to consent to access the app." },
    ]);
    expect(pca.acquireTokenRedirect).not.toHaveBeenCalled();
    for (const spy of logs) expect(spy).not.toHaveBeenCalled();
  });

  it("sends an error when the redirect itself fails", async () => {
    const pca = fakePca();
    pca.acquireTokenRedirect.mockRejectedValue(Object.assign(new Error("Interaction is in progress"), { errorCode: "interaction_in_progress" }));
    const messageParent = vi.fn();
    expect(await runFallbackDialog(asPca(pca), "api-app", messageParent)).toBe("failed");
    expect(sent(messageParent)).toEqual([{ status: "error", code: "interaction_in_progress", message: "Interaction is in progress" }]);
  });
});

describe("booting the dialog page", () => {
  const config = (over: Partial<RuntimeConfig> = {}): RuntimeConfig => ({
    ...DEFAULT_CONFIG,
    environment: "Production",
    clientId: "pane-client",
    apiAppId: "api-app",
    authority: "https://login.microsoftonline.com/tenant-id",
    ...over,
  });

  it("creates MSAL with the server's ids and this page's address without its query as the redirect URI", async () => {
    const pca = fakePca({ redirect: result("boot-access") });
    const createPca = vi.fn(async () => asPca(pca));
    const messageParent = vi.fn();
    const outcome = await startFallbackDialog({
      messageParent,
      loadConfig: async () => config(),
      createPca,
      location: { origin: "https://bulkmail.example", pathname: "/addin/fallbackauthdialog.html" },
    });
    expect(outcome).toBe("sent");
    expect(createPca).toHaveBeenCalledWith({
      clientId: "pane-client",
      authority: "https://login.microsoftonline.com/tenant-id",
      redirectUri: "https://bulkmail.example/addin/fallbackauthdialog.html",
    });
    expect(sent(messageParent)).toEqual([{ status: "success", accessToken: "boot-access", expiresOn: EXPIRES.getTime() }]);
  });

  it("tells the pane when the server has no Entra ids, without starting MSAL", async () => {
    const createPca = vi.fn();
    const messageParent = vi.fn();
    expect(await startFallbackDialog({ messageParent, loadConfig: async () => config({ clientId: "" }), createPca })).toBe("failed");
    expect(createPca).not.toHaveBeenCalled();
    expect(sent(messageParent)).toEqual([{ status: "error", code: "not_configured", message: expect.stringContaining("Addin:ClientId") }]);
  });

  it("outside an Office dialog only says so and never signs in", async () => {
    document.body.innerHTML = `<p id="status">Signing in…</p>`;
    const createPca = vi.fn();
    const loadConfig = vi.fn();
    expect(await startFallbackDialog({ messageParent: null, loadConfig, createPca })).toBe("no-office");
    expect(createPca).not.toHaveBeenCalled();
    expect(loadConfig).not.toHaveBeenCalled();
    expect(document.getElementById("status")).toHaveTextContent("only works inside Outlook");
  });

  it("remembers that Office opened it across the round trip to the sign-in page", () => {
    const win = (search: string) => {
      const w: Record<string, unknown> = { location: { search }, name: "", sessionStorage };
      w.self = w;
      w.top = w;
      return w as unknown as Window;
    };
    expect(looksLikeOfficeDialog(win(""))).toBe(false); // a plain browser
    expect(looksLikeOfficeDialog(win("?office=1"))).toBe(true); // opened by the pane
    expect(looksLikeOfficeDialog(win("?code=abc&state=xyz"))).toBe(true); // back from Microsoft's sign-in page
    expect(looksLikeOfficeDialog(win("?office=0"))).toBe(false);
  });

  it("hands out Office's messageParent once Office is ready, and nothing without Office", async () => {
    expect(await initOfficeDialog({ load: false })).toBeNull();
    const messageParent = vi.fn();
    g.Office = new OfficeMockObject({
      host: "outlook",
      HostType: { Outlook: "Outlook" },
      onReady: async () => ({ host: null, platform: null }),
      context: { ui: { messageParent } },
    });
    const send = await initOfficeDialog({ load: false });
    expect(send).toBeTypeOf("function");
    send!("{}");
    expect(messageParent).toHaveBeenCalledWith("{}");
  });
});
