import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { QueryClientProvider } from "@tanstack/react-query";
import { configureClient } from "./api/client";
import { App } from "./components/App";
import { isDemo, loadRuntimeConfig } from "./config";
import { detectLanguage, I18nProvider } from "./i18n";
import { initOffice } from "./office/loader";
import { EnvContext } from "./state/env";
import { MailingsProvider } from "./state/mailings";
import { createQueryClient } from "./state/queryClient";

async function boot() {
  // Office.onReady first (or host "none" at once in a plain browser), then render inside FluentProvider.
  const [office, config] = await Promise.all([initOffice(), loadRuntimeConfig()]);
  const demo = isDemo(config, office);
  configureClient({
    baseUrl: config.apiBaseUrl,
    // MSAL is loaded only when signing in (not in the demo).
    getToken: demo
      ? async () => null
      : await import("./office/auth").then((m) =>
          // NAA where Outlook supports it, otherwise the Office dialog (fallbackauthdialog.html).
          m.createTokenProvider({ clientId: config.clientId, apiAppId: config.apiAppId, authority: config.authority }),
        ),
  });
  const lang = detectLanguage({
    search: window.location.search,
    officeLanguage: office.displayLanguage,
    browserLanguage: navigator.language,
  });
  document.documentElement.lang = lang;
  configureClient({ language: lang });
  document.title = "BulkMail";
  // The one cache of the page: every read of the API goes through it (state/queries.ts).
  const queryClient = createQueryClient();
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <FluentProvider theme={webLightTheme} style={{ minHeight: "100vh" }}>
          <I18nProvider lang={lang} locale={office.displayLanguage ?? navigator.language}>
            <EnvContext.Provider value={{ office, demo }}>
              <MailingsProvider>
                <App />
              </MailingsProvider>
            </EnvContext.Provider>
          </I18nProvider>
        </FluentProvider>
      </QueryClientProvider>
    </StrictMode>,
  );
}

void boot();
