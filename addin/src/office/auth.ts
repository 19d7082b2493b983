// Sign-in inside Outlook with nested app authentication (NAA): MSAL.js createNestablePublicClientApplication,
// acquireTokenSilent then acquireTokenPopup, for the API's scope api://<apiAppId>/access_as_user. The ACCESS token
// (never the ID token) is sent to the API as the bearer. In demo mode there is no sign-in and no header.
import {
  createNestablePublicClientApplication,
  type AuthenticationResult,
  type IPublicClientApplication,
} from "@azure/msal-browser";

export interface AuthSettings {
  clientId: string;
  apiAppId: string;
  authority?: string;
}

export const apiScope = (apiAppId: string): string =>
  apiAppId.startsWith("api://") ? `${apiAppId.replace(/\/$/, "")}/access_as_user` : `api://${apiAppId}/access_as_user`;

export type PcaFactory = (s: AuthSettings) => Promise<IPublicClientApplication>;

const defaultFactory: PcaFactory = (s) =>
  createNestablePublicClientApplication({
    auth: { clientId: s.clientId, authority: s.authority ?? "https://login.microsoftonline.com/common" },
  });

/** A token provider for api/client.ts: caches the token until five minutes before it expires. */
export function createNaaTokenProvider(settings: AuthSettings, factory: PcaFactory = defaultFactory): () => Promise<string> {
  const scopes = [apiScope(settings.apiAppId)];
  let pca: Promise<IPublicClientApplication> | null = null;
  let cached: AuthenticationResult | null = null;
  return async () => {
    const now = Date.now();
    if (cached?.accessToken && cached.expiresOn && cached.expiresOn.getTime() - 5 * 60_000 > now) return cached.accessToken;
    pca ??= factory(settings);
    const app = await pca;
    let result: AuthenticationResult;
    try {
      const account = app.getActiveAccount() ?? app.getAllAccounts()[0];
      result = await app.acquireTokenSilent({ scopes, ...(account ? { account } : {}) });
    } catch {
      // Consent needed, or no cached sign-in: Office shows Microsoft's sign-in in a popup.
      result = await app.acquireTokenPopup({ scopes });
    }
    if (result.account) app.setActiveAccount(result.account);
    cached = result;
    return result.accessToken;
  };
}
