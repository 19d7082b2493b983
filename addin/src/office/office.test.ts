import { afterEach, describe, expect, it, vi } from "vitest";
import { OfficeMockObject } from "office-addin-mock";
import { initOffice, looksLikeOfficeHost, NO_HOST } from "./loader";
import { canUseDraft, readComposeDraft, userEmail } from "./mailbox";
import { apiScope, createNaaTokenProvider } from "./auth";
import type { IPublicClientApplication } from "@azure/msal-browser";

const g = globalThis as unknown as { Office?: unknown };

/** An Outlook compose item as office-addin-mock builds it. */
function outlookMock(opts: { compose?: boolean; language?: string } = {}) {
  const compose = opts.compose ?? true;
  const data = {
    host: "outlook",
    HostType: { Outlook: "Outlook", Word: "Word" },
    CoercionType: { Html: "html", Text: "text" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    onReady: async () => ({ host: "Outlook", platform: "OfficeOnline" }),
    context: {
      displayLanguage: opts.language ?? "ja-JP",
      mailbox: {
        userProfile: { emailAddress: "hanako@contoso.example" },
        item: compose
          ? {
              subject: {
                getAsync(cb: (r: unknown) => void) {
                  cb({ status: "succeeded", value: "{{Person.P_Name}} 様 ご案内" });
                },
              },
              body: {
                getAsync(type: string, cb: (r: unknown) => void) {
                  cb(
                    type === "html"
                      ? { status: "succeeded", value: "<html><body><p>{{Person.P_Name}} 様</p></body></html>" }
                      : { status: "failed", error: { message: "wrong coercion" } },
                  );
                },
              },
            }
          : { subject: "A received message" },
      },
    },
  };
  return new OfficeMockObject(data);
}

afterEach(() => {
  delete g.Office;
});

describe("Office host detection", () => {
  it("treats a plain browser as no host and does not wait for Office.js", async () => {
    expect(await initOffice({ load: false })).toEqual(NO_HOST);
  });

  it("recognises Office from the manifest's ?office=1, _host_Info or an iframe", () => {
    const win = (search: string, name = "", framed = false) => {
      const w: Record<string, unknown> = { location: { search }, name };
      w.self = w;
      w.top = framed ? {} : w;
      return w as unknown as Window;
    };
    expect(looksLikeOfficeHost(win(""))).toBe(false);
    expect(looksLikeOfficeHost(win("?office=1"))).toBe(true);
    expect(looksLikeOfficeHost(win("?_host_Info=Outlook$Win32$16.02$ja-JP"))).toBe(true);
    expect(looksLikeOfficeHost(win("", "{\"_host_Info\":1}"))).toBe(true);
    expect(looksLikeOfficeHost(win("", "", true))).toBe(true);
    expect(looksLikeOfficeHost(win("?office=0", "", true))).toBe(false);
  });

  it("reads Outlook's display language and compose mode after Office.onReady", async () => {
    g.Office = outlookMock({ language: "en-GB" });
    expect(await initOffice({ load: false })).toEqual({ host: "outlook", displayLanguage: "en-GB", compose: true });
  });

  it("reports read mode when the item's subject is a string", async () => {
    g.Office = outlookMock({ compose: false });
    const env = await initOffice({ load: false });
    expect(env.compose).toBe(false);
    expect(canUseDraft()).toBe(false);
  });

  it("gives up on an Office.js that never becomes ready", async () => {
    g.Office = { onReady: () => new Promise(() => undefined), HostType: { Outlook: "Outlook" } };
    expect(await initOffice({ load: false, timeoutMs: 20 })).toEqual(NO_HOST);
  });
});

describe("the compose draft", () => {
  it("reads the subject and the HTML body", async () => {
    g.Office = outlookMock();
    expect(canUseDraft()).toBe(true);
    expect(await readComposeDraft()).toEqual({
      subject: "{{Person.P_Name}} 様 ご案内",
      body: "<html><body><p>{{Person.P_Name}} 様</p></body></html>",
    });
    expect(userEmail()).toBe("hanako@contoso.example");
  });

  it("refuses outside compose mode", async () => {
    g.Office = outlookMock({ compose: false });
    await expect(readComposeDraft()).rejects.toThrow(/not a message being composed/);
  });
});

describe("nested app authentication", () => {
  const fakePca = (silent: () => Promise<unknown>) => {
    const pca = {
      getActiveAccount: vi.fn(() => null),
      getAllAccounts: vi.fn(() => []),
      setActiveAccount: vi.fn(),
      acquireTokenSilent: vi.fn(silent),
      acquireTokenPopup: vi.fn(async () => ({
        accessToken: "popup-access",
        idToken: "id-token-never-sent",
        expiresOn: new Date(Date.now() + 3600_000),
        account: { username: "u" },
      })),
    };
    return pca;
  };

  it("asks for api://<apiAppId>/access_as_user", () => {
    expect(apiScope("1111-2222")).toBe("api://1111-2222/access_as_user");
    expect(apiScope("api://1111-2222")).toBe("api://1111-2222/access_as_user");
  });

  it("uses the silent token and caches it", async () => {
    const pca = fakePca(async () => ({ accessToken: "silent-access", idToken: "id", expiresOn: new Date(Date.now() + 3600_000), account: null }));
    const factory = vi.fn(async () => pca as unknown as IPublicClientApplication);
    const get = createNaaTokenProvider({ clientId: "c", apiAppId: "a" }, factory);
    expect(await get()).toBe("silent-access");
    expect(await get()).toBe("silent-access");
    expect(pca.acquireTokenSilent).toHaveBeenCalledTimes(1);
    expect(pca.acquireTokenSilent.mock.calls[0]).toEqual([{ scopes: ["api://a/access_as_user"] }]);
    expect(factory).toHaveBeenCalledWith({ clientId: "c", apiAppId: "a" });
  });

  it("falls back to the popup and returns the access token, never the ID token", async () => {
    const pca = fakePca(async () => {
      throw new Error("interaction_required");
    });
    const get = createNaaTokenProvider({ clientId: "c", apiAppId: "a" }, async () => pca as unknown as IPublicClientApplication);
    expect(await get()).toBe("popup-access");
    expect(pca.acquireTokenPopup).toHaveBeenCalledWith({ scopes: ["api://a/access_as_user"] });
    expect(pca.setActiveAccount).toHaveBeenCalled();
  });
});
