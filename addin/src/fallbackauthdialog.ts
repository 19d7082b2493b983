// Entry of fallbackauthdialog.html: the Office dialog in which Outlook clients without nested app authentication
// sign in (see src/office/fallbackDialog.ts). No React: the page only shows "Signing in…".
import { startFallbackDialog } from "./office/fallbackDialog";

void startFallbackDialog();
