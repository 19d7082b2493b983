import type { ReactElement, ReactNode } from "react";
import { render } from "@testing-library/react";
import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { I18nProvider, type Lang } from "../i18n";
import { NO_HOST, type OfficeEnvironment } from "../office/loader";
import { EnvContext } from "../state/env";
import { MailingsProvider } from "../state/mailings";
import { createQueryClient } from "../state/queryClient";

/** The providers of main.tsx around a test's UI; each render gets its own cache unless one is passed (`client`). */
export function Providers({
  children,
  client,
  lang = "en",
  office = NO_HOST,
  mailings = false,
}: {
  children: ReactNode;
  client: QueryClient;
  lang?: Lang;
  office?: OfficeEnvironment;
  mailings?: boolean;
}) {
  return (
    <QueryClientProvider client={client}>
      <FluentProvider theme={webLightTheme}>
        <I18nProvider lang={lang}>
          <EnvContext.Provider value={{ office, demo: true }}>
            {mailings ? <MailingsProvider>{children}</MailingsProvider> : children}
          </EnvContext.Provider>
        </I18nProvider>
      </FluentProvider>
    </QueryClientProvider>
  );
}

export function renderPane(
  ui: ReactElement,
  {
    lang = "en",
    office = NO_HOST,
    mailings = false,
    client = createQueryClient(),
  }: { lang?: Lang; office?: OfficeEnvironment; mailings?: boolean; client?: QueryClient } = {},
) {
  const Wrapper = ({ children }: { children: ReactNode }) => (
    <Providers client={client} lang={lang} office={office} mailings={mailings}>
      {children}
    </Providers>
  );
  return { ...render(ui, { wrapper: Wrapper }), client };
}
