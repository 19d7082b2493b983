import type { ReactElement, ReactNode } from "react";
import { render } from "@testing-library/react";
import { FluentProvider, webLightTheme } from "@fluentui/react-components";
import { I18nProvider, type Lang } from "../i18n";
import { NO_HOST, type OfficeEnvironment } from "../office/loader";
import { EnvContext } from "../state/env";
import { MailingsProvider } from "../state/mailings";

export function renderPane(
  ui: ReactElement,
  { lang = "en", office = NO_HOST, mailings = false }: { lang?: Lang; office?: OfficeEnvironment; mailings?: boolean } = {},
) {
  const Wrapper = ({ children }: { children: ReactNode }) => (
    <FluentProvider theme={webLightTheme}>
      <I18nProvider lang={lang}>
        <EnvContext.Provider value={{ office, demo: true }}>
          {mailings ? <MailingsProvider>{children}</MailingsProvider> : children}
        </EnvContext.Provider>
      </I18nProvider>
    </FluentProvider>
  );
  return render(ui, { wrapper: Wrapper });
}
