import { afterEach, describe, expect, it, vi } from "vitest";
import { OfficeMockObject } from "office-addin-mock";
import type { IPublicClientApplication } from "@azure/msal-browser";
import {
  createNaaTokenProvider,
  createTokenProvider,
  defaultDialogUrl,
  DIALOG_OPTIONS,
  SignInError,
  type OfficeApi,
  type TokenProviderDeps,
} from "./auth";

const SETTINGS = { clientId: "pane-client", apiAppId: "api-app" };
const DIALOG_URL = "https://bulkmail.example/addin/fallbackauthdialog.html?office=1";
const HOUR = 3600_000;

type DialogArg = { message: string; origin: string | undefined } | { error: number };

/** The Dialog object Office.js hands back from displayDialogAsync. */
class FakeDialog {
  readonly handlers = new Map<string, (arg: DialogArg) => void>();
  closed = 0;
  addEventHandler(type: string, handler: (arg: DialogArg) => void) {
    this.handlers.set(type, handler);
  }
  close() {
    this.closed++;
  }
  /** What fallbackauthdialog.html sends with messageParent. */
  send(message: unknown, origin: string | undefined = "https://bulkmail.example") {
    this.handlers.get("dialogMessageReceived")!({ message: typeof message === "string" ? message : JSON.stringify(message), origin });
  }
  /** Office's DialogEventReceived, e.g. 12006 when the user closes the window. */
  event(error: number) {
    this.handlers.get("dialogEventReceived")!({ error });
  }
}

/** Outlook as office-addin-mock builds it: requirement sets and the dialog API. `failures` are displayDialogAsync error codes, one per call. */
function outlook(opts: { naa?: boolean; failures?: number[] } = {}) {
  const dialogs: FakeDialog[] = [];
  const opened: { url: string; options: unknown }[] = [];
  const failures = [...(opts.failures ?? [])];
  const isSetSupported = vi.fn((name: string, version?: string) => opts.naa === true && name === "NestedAppAuth" && version === "1.1");
  const mock = new OfficeMockObject({
    host: "outlook",
    EventType: { DialogMessageReceived: "dialogMessageReceived", DialogEventReceived: "dialogEventReceived" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    context: {
      requirements: { isSetSupported },
      ui: {
        displayDialogAsync(url: string, options: unknown, callback: (r: unknown) => void) {
          opened.push({ url, options });
          const code = failures.shift();
          if (code) {
            setTimeout(() => callback({ status: "failed", error: { code, name: "Error", message: `error ${code}` } }), 0);
            return;
          }
          const dialog = new FakeDialog();
          dialogs.push(dialog);
          setTimeout(() => callback({ status: "succeeded", value: dialog }), 0);
        },
      },
    },
  });
  /** The n-th dialog once the pane listens to it. */
  const dialog = async (n: number): Promise<FakeDialog> => {
    await vi.waitFor(() => {
      expect(dialogs[n]?.handlers.size).toBe(2);
    });
    return dialogs[n]!;
  };
  return { office: mock as unknown as OfficeApi, opened, dialogs, dialog, isSetSupported };
}

const success = (accessToken: string, expiresOn: number | null = Date.now() + HOUR) => ({ status: "success", accessToken, expiresOn });

function fakeNaaPca() {
  return {
    getActiveAccount: vi.fn(() => null),
    getAllAccounts: vi.fn(() => []),
    setActiveAccount: vi.fn(),
    acquireTokenSilent: vi.fn(async () => ({ accessToken: "naa-access", expiresOn: new Date(Date.now() + HOUR), account: { username: "u" } })),
    acquireTokenPopup: vi.fn(async () => {
      throw Object.assign(new Error("User cancelled the flow."), { errorCode: "user_cancelled" });
    }),
  };
}

const deps = (office: OfficeApi, extra: Partial<TokenProviderDeps> = {}): TokenProviderDeps => ({
  office,
  dialogUrl: DIALOG_URL,
  retryDelayMs: 5,
  ...extra,
});

afterEach(() => {
  vi.useRealTimers();
});

describe("choosing how to sign in", () => {
  it("uses nested app authentication when Outlook supports NestedAppAuth 1.1, and opens no dialog", async () => {
    const host = outlook({ naa: true });
    const pca = fakeNaaPca();
    const naaFactory = vi.fn(async () => pca as unknown as IPublicClientApplication);
    const get = createTokenProvider(SETTINGS, deps(host.office, { naaFactory }));
    expect(await get()).toBe("naa-access");
    expect(host.isSetSupported).toHaveBeenCalledWith("NestedAppAuth", "1.1");
    expect(naaFactory).toHaveBeenCalledWith(SETTINGS);
    expect(pca.acquireTokenSilent).toHaveBeenCalledWith({ scopes: ["api://api-app/access_as_user"] });
    expect(host.opened).toHaveLength(0);
  });

  it("opens fallbackauthdialog.html in an Office dialog when NestedAppAuth 1.1 is not supported", async () => {
    const host = outlook({ naa: false });
    const naaFactory = vi.fn();
    const get = createTokenProvider(SETTINGS, deps(host.office, { naaFactory }));
    const token = get();
    (await host.dialog(0)).send(success("dialog-access"));
    expect(await token).toBe("dialog-access");
    expect(host.isSetSupported).toHaveBeenCalledWith("NestedAppAuth", "1.1");
    expect(naaFactory).not.toHaveBeenCalled();
    expect(host.opened).toEqual([{ url: DIALOG_URL, options: { height: 60, width: 30, promptBeforeOpen: false } }]);
    expect(DIALOG_OPTIONS).toEqual({ height: 60, width: 30, promptBeforeOpen: false });
  });

  it("puts the dialog next to the pane's page, with ?office=1 so that it loads Office.js", () => {
    expect(defaultDialogUrl("https://bulkmail.example/addin/taskpane.html?office=1&_host_Info=Outlook$Win32$16.02$ja-JP")).toBe(
      "https://bulkmail.example/addin/fallbackauthdialog.html?office=1",
    );
    expect(defaultDialogUrl("https://mail.contoso.co.jp/bulkmail/addin/taskpane.html?office=1")).toBe(
      "https://mail.contoso.co.jp/bulkmail/addin/fallbackauthdialog.html?office=1",
    );
  });
});

describe("the Office dialog sign-in", () => {
  it("returns the access token, closes the dialog and caches the token: the second call opens no dialog", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const first = get();
    const dialog = await host.dialog(0);
    dialog.send(success("access-1"));
    expect(await first).toBe("access-1");
    expect(dialog.closed).toBe(1);
    expect(await get()).toBe("access-1");
    expect(host.opened).toHaveLength(1);
  });

  it("opens a new dialog when the cached token is within five minutes of expiring", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-27T09:00:00Z"));
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const first = get();
    (await host.dialog(0)).send(success("access-1", Date.now() + HOUR));
    expect(await first).toBe("access-1");

    vi.setSystemTime(new Date("2026-11-27T09:54:00Z")); // six minutes left: still cached
    expect(await get()).toBe("access-1");
    expect(host.opened).toHaveLength(1);

    vi.setSystemTime(new Date("2026-11-27T09:56:00Z")); // four minutes left: sign in again
    const second = get();
    (await host.dialog(1)).send(success("access-2", Date.now() + HOUR));
    expect(await second).toBe("access-2");
    expect(host.opened).toHaveLength(2);
  });

  it("does not cache a token without an expiry", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const first = get();
    (await host.dialog(0)).send(success("access-1", null));
    expect(await first).toBe("access-1");
    const second = get();
    (await host.dialog(1)).send(success("access-2"));
    expect(await second).toBe("access-2");
  });

  it("reports a dialog closed by the user (12006) as a cancelled sign-in, and the next call opens a new dialog", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const first = get();
    (await host.dialog(0)).event(12006);
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignInError);
    expect(error).toMatchObject({ kind: "cancelled", code: "12006" });

    const second = get();
    (await host.dialog(1)).send(success("access-2"));
    expect(await second).toBe("access-2");
  });

  it("turns an error from the dialog page into a typed error with its code and closes the dialog", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const token = get();
    const dialog = await host.dialog(0);
    dialog.send({ status: "error", code: "invalid_client", message: "AADSTS700054: response_type 'id_token' is not enabled." });
    const error = await token.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignInError);
    expect(error).toMatchObject({ kind: "failed", code: "invalid_client", detail: "AADSTS700054: response_type 'id_token' is not enabled." });
    expect((error as Error).message).toBe("Sign-in failed (invalid_client)");
    expect(dialog.closed).toBe(1);
  });

  it("treats MSAL's user_cancelled from the dialog page as cancelled, and a garbled message as failed", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const first = get();
    (await host.dialog(0)).send({ status: "error", code: "user_cancelled", message: "User cancelled the flow." });
    await expect(first).rejects.toMatchObject({ kind: "cancelled", code: "user_cancelled" });
    const second = get();
    (await host.dialog(1)).send("not json");
    await expect(second).rejects.toMatchObject({ kind: "failed", code: "invalid_dialog_message" });
  });

  it("ignores a message from another origin", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    let settled = false;
    const token = get().finally(() => {
      settled = true;
    });
    const dialog = await host.dialog(0);
    dialog.send(success("forged"), "https://evil.example");
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    expect(dialog.closed).toBe(0);
    dialog.send(success("genuine"), undefined); // clients without DialogOrigin 1.1 give no origin
    expect(await token).toBe("genuine");
  });

  it("opens one dialog for concurrent calls and gives each the same token", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const calls = [get(), get(), get()];
    (await host.dialog(0)).send(success("shared"));
    expect(await Promise.all(calls)).toEqual(["shared", "shared", "shared"]);
    expect(host.opened).toHaveLength(1);
  });

  it("waits and retries once when Office says a dialog is already open (12007)", async () => {
    const host = outlook({ failures: [12007] });
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const token = get();
    (await host.dialog(0)).send(success("after-retry"));
    expect(await token).toBe("after-retry");
    expect(host.opened).toHaveLength(2);
  });

  it("gives up after the one retry with a typed error", async () => {
    const host = outlook({ failures: [12007, 12007] });
    const get = createTokenProvider(SETTINGS, deps(host.office));
    await expect(get()).rejects.toMatchObject({ name: "SignInError", kind: "alreadyOpen", code: "12007" });
    expect(host.opened).toHaveLength(2);
  });

  it("reports a blocked dialog (12009, 12011) clearly and does not retry it", async () => {
    for (const code of [12009, 12011]) {
      const host = outlook({ failures: [code] });
      const get = createTokenProvider(SETTINGS, deps(host.office));
      await expect(get()).rejects.toMatchObject({ name: "SignInError", kind: "blocked", code: String(code) });
      expect(host.opened).toHaveLength(1);
    }
  });

  it("reports a page that could not load (12002) as a failed sign-in with that code", async () => {
    const host = outlook();
    const get = createTokenProvider(SETTINGS, deps(host.office));
    const token = get();
    const dialog = await host.dialog(0);
    dialog.event(12002);
    await expect(token).rejects.toMatchObject({ kind: "failed", code: "12002" });
    expect(dialog.closed).toBe(1);
  });
});

describe("nested app authentication errors", () => {
  it("turns a cancelled NAA popup into the same typed error", async () => {
    const pca = fakeNaaPca();
    pca.acquireTokenSilent.mockRejectedValue(new Error("interaction_required"));
    const get = createNaaTokenProvider(SETTINGS, async () => pca as unknown as IPublicClientApplication);
    await expect(get()).rejects.toMatchObject({ name: "SignInError", kind: "cancelled", code: "user_cancelled" });
  });
});
