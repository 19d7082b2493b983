using System.Globalization;
using System.Text.RegularExpressions;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// The one table of the server's words: for every code (<see cref="ProblemCode"/>, <see cref="TemplateErrorCode"/>,
/// <see cref="ReasonCode"/>, <see cref="WaitCode"/>, <see cref="PausedCode"/>, <see cref="PhaseUpdateCode"/>, and the
/// delivery status words) its English and Japanese, with <c>{arg}</c> placeholders. The English sentences of the API
/// are made from it too, so the two languages cannot drift apart; problems in Japanese, the Japanese CSV and the
/// Japanese status reasons all read it. The task pane's table (addin/src/i18n/codes.json) is written from it.
/// </summary>
public static partial class ServerText
{
    public sealed record Text(string En, string Ja);

    private static readonly Text TitleInvalidFile = new("This file cannot be attached", "このファイルは添付できません");
    private static readonly Text TitleNotPossible = new("Not possible in this state", "この状態ではできません");
    private static readonly Text TitleNotFound = new("Not found", "見つかりません");

    /// <summary>Titles of problems by code (the sentence is the detail); codes without a title keep the problem's own.</summary>
    private static readonly Dictionary<ProblemCode, Text> Titles = new()
    {
        [ProblemCode.InvalidMailing] = new("The mailing has invalid input; nothing was stored.", "入力に誤りがあります（何も保存していません）。"),
        [ProblemCode.InvalidSearch] = new("The search has invalid parameters.", "検索条件に誤りがあります。"),
        [ProblemCode.ValidationFailed] = new("One or more validation errors occurred.", "入力に誤りがあります。"),
        [ProblemCode.HrbcError] = new("HRBC returned an error", "HRBC がエラーを返しました"),
        [ProblemCode.HrbcFailed] = new("HRBC returned an error", "HRBC がエラーを返しました"),
        [ProblemCode.HrbcTimeout] = new("HRBC did not answer in time", "HRBC から時間内に応答がありませんでした"),
        [ProblemCode.HrbcUnreachable] = new("HRBC is unreachable", "HRBC に接続できません"),
        [ProblemCode.UnknownResource] = new("Unknown HRBC resource", "HRBC のリソースが不明です"),
        [ProblemCode.RecordNotFound] = TitleNotFound,
        [ProblemCode.MailingNotFound] = new("Mailing not found", "メール送信が見つかりません"),
        [ProblemCode.NotPossibleInState] = TitleNotPossible,
        [ProblemCode.NothingToRetry] = TitleNotPossible,
        [ProblemCode.TemplateNotFound] = new("Template not found", "テンプレートが見つかりません"),
        [ProblemCode.MailingNotReady] = TitleNotPossible,
        [ProblemCode.UndoExpired] = new("Too late to undo", "取り消せる時間を過ぎました"),
        [ProblemCode.PreviewTargetRequired] = new("seq or recordId is required", "seq か recordId を指定してください"),
        [ProblemCode.DeliveryNotFound] = new("Delivery not found", "配信が見つかりません"),
        [ProblemCode.DeliveryNotFoundForRecord] = new("Delivery not found", "配信が見つかりません"),
        [ProblemCode.MailingNotDeletable] = TitleNotPossible,
        [ProblemCode.MailingStillStopping] = TitleNotPossible,
        [ProblemCode.TooManyRunningMailings] = new("Too many mailings running", "実行中のメール送信が多すぎます"),
        [ProblemCode.TooManyTemplates] = new("Too many templates", "テンプレートが多すぎます"),
        [ProblemCode.RateLimited] = new("Too many requests", "リクエストが多すぎます"),
        [ProblemCode.StoreUnavailable] = new("BulkMail's store is not answering", "BulkMail のデータストアが応答していません"),
        [ProblemCode.SuppressionNotFound] = TitleNotFound,
        [ProblemCode.SuppressionImportTooLarge] = new("The import is too large", "インポートが大きすぎます"),
        [ProblemCode.UnsubscribeLinkInvalid] = TitleNotFound,
        [ProblemCode.HrbcRequestTooLong] = new("The search is too long for HRBC", "検索条件が HRBC には長すぎます"),
        [ProblemCode.ContentTypeUnsupported] = new("Unsupported content type", "この形式の送信には対応していません"),
        [ProblemCode.HostInvalid] = new("Invalid Host header", "Host ヘッダーが正しくありません"),
        [ProblemCode.MultipartMalformed] = new("The upload is malformed", "アップロードの形式が正しくありません"),
        [ProblemCode.FileNameEmpty] = TitleInvalidFile,
        [ProblemCode.FileNameInvalidCharacter] = TitleInvalidFile,
        [ProblemCode.FileNameReserved] = TitleInvalidFile,
        [ProblemCode.FileIsProgram] = TitleInvalidFile,
        [ProblemCode.NotMultipart] = new("Send the file as multipart/form-data", "ファイルは multipart/form-data で送ってください"),
        [ProblemCode.NoFile] = new("No file", "ファイルがありません"),
        [ProblemCode.FileEmpty] = new("The file is empty", "ファイルが空です"),
        [ProblemCode.FileTooLarge] = new("The file is too large", "ファイルが大きすぎます"),
        [ProblemCode.UploadQuotaExceeded] = new("Too many uploads", "アップロードが多すぎます"),
        [ProblemCode.FileNameMissing] = TitleInvalidFile,
        [ProblemCode.FileNameInvalid] = TitleInvalidFile,
        [ProblemCode.FileNameTooLong] = TitleInvalidFile,
        [ProblemCode.FileTypeBlocked] = TitleInvalidFile,
        [ProblemCode.SignInRequired] = new("Sign-in required", "サインインが必要です"),
        [ProblemCode.SendAsForbidden] = new("BulkMail may not send as you", "BulkMail にはあなたとして送信する権限がありません"),
        [ProblemCode.SignInUnavailable] = new("Microsoft 365 sign-in is unavailable", "Microsoft 365 のサインインを利用できません"),
        [ProblemCode.ManifestNeedsHttps] = new("The manifest needs an HTTPS address", "マニフェストには HTTPS のアドレスが必要です"),
        [ProblemCode.AddinNotBuilt] = new("The task pane is not built", "作業ウィンドウがビルドされていません"),
    };

    private static readonly Dictionary<Enum, Text> Table = new()
    {
        // ---- problems by status
        [ProblemCode.BadRequest] = new("The request is not valid.", "リクエストが正しくありません。"),
        [ProblemCode.Unauthorized] = new("Sign in first.", "サインインしてください。"),
        [ProblemCode.Forbidden] = new("You may not do this.", "この操作は許可されていません。"),
        [ProblemCode.NotFound] = new("There is nothing at this address.", "このアドレスには何もありません。"),
        [ProblemCode.MethodNotAllowed] = new("This method is not allowed here.", "この操作はここでは使えません。"),
        [ProblemCode.Conflict] = new("Not possible in this state.", "この状態ではできません。"),
        [ProblemCode.PayloadTooLarge] = new("The request is too large.", "リクエストが大きすぎます。"),
        [ProblemCode.UnsupportedMediaType] = new("This content type is not accepted.", "この形式のデータは受け付けられません。"),
        [ProblemCode.TooManyRequests] = new("Too many requests; try again in a moment.", "リクエストが多すぎます。少し待ってからもう一度お試しください。"),
        [ProblemCode.InternalError] = new("An error occurred on the server.", "サーバーでエラーが発生しました。"),
        [ProblemCode.BadGateway] = new("A system BulkMail depends on answered with an error.", "BulkMail が利用しているシステムがエラーを返しました。"),
        [ProblemCode.ServiceUnavailable] = new("The service is unavailable; try again in a moment.", "サービスを利用できません。少し待ってからもう一度お試しください。"),
        [ProblemCode.GatewayTimeout] = new("A system BulkMail depends on did not answer in time.", "BulkMail が利用しているシステムから時間内に応答がありませんでした。"),
        [ProblemCode.HttpError] = new("The request failed (HTTP {status}).", "リクエストが失敗しました（HTTP {status}）。"),
        // ---- validation titles
        [ProblemCode.InvalidMailing] = new("The mailing has invalid input; nothing was stored.", "入力に誤りがあります（何も保存していません）。"),
        [ProblemCode.InvalidSearch] = new("The search has invalid parameters.", "検索条件に誤りがあります。"),
        [ProblemCode.ValidationFailed] = new("One or more validation errors occurred.", "入力に誤りがあります。"),
        // ---- HRBC
        [ProblemCode.HrbcError] = new("HRBC answered result code {hrbcCode}: {hrbcMessage}", "HRBC がエラーを返しました（結果コード {hrbcCode}: {hrbcMessage}）。"),
        [ProblemCode.HrbcFailed] = new("{hrbcMessage}", "HRBC がエラーを返しました（{hrbcMessage}）。"),
        [ProblemCode.HrbcTimeout] = new("HRBC did not answer in time, even after retries. Try again in a moment.",
            "再試行しましたが、HRBC から時間内に応答がありませんでした。少し待ってからもう一度お試しください。"),
        [ProblemCode.HrbcUnreachable] = new("The connection to HRBC failed, even after retries. Try again in a moment.",
            "再試行しましたが、HRBC に接続できませんでした。少し待ってからもう一度お試しください。"),
        [ProblemCode.UnknownResource] = new("'{resource}' is not available here; use {allowed}.", "「{resource}」はここでは使えません。使えるのは {allowed} です。"),
        [ProblemCode.RecordNotFound] = new("{resource} {id} does not exist in HRBC.", "HRBC に {resource} {id} が存在しません。"),
        // ---- mailings, templates
        [ProblemCode.MailingNotFound] = new("There is no mailing {id} of yours.", "あなたのメール送信 {id} はありません。"),
        [ProblemCode.NotPossibleInState] = new("Mailing {id} is {state}; it cannot {action}.", "メール送信 {id} は「{state}」のため、「{action}」できません。"),
        [ProblemCode.NothingToRetry] = new("Mailing {id} is {state} and has no failed deliveries to retry.", "メール送信 {id} は「{state}」で、再送する失敗分がありません。"),
        [ProblemCode.TemplateNotFound] = new("There is no template {id} of yours.", "あなたのテンプレート {id} はありません。"),
        [ProblemCode.MailingNotReady] = new("Mailing {id} is {state}; only a Ready mailing can start.", "メール送信 {id} は「{state}」です。開始できるのは送信待ちのメール送信だけです。"),
        [ProblemCode.PreviewTargetRequired] = new("Name the delivery to preview: ?seq=N (1-based) or ?recordId=ID.", "プレビューする配信を ?seq=N（1 から）か ?recordId=ID で指定してください。"),
        [ProblemCode.DeliveryNotFound] = new("Mailing {id} has no delivery {seq}.", "メール送信 {id} に配信 {seq} はありません。"),
        [ProblemCode.DeliveryNotFoundForRecord] = new("Mailing {id} has no delivery for record {recordId}.", "メール送信 {id} にレコード {recordId} への配信はありません。"),
        [ProblemCode.MailingNotDeletable] = new("Mailing {id} is {state} and still running; cancel it first, then delete it once it has stopped.", "メール送信 {id} は実行中（{state}）です。先に中止し、止まってから削除してください。"),
        [ProblemCode.MailingStillStopping] = new("Mailing {id} is Cancelled but its last messages are still going out; delete it in a moment.", "メール送信 {id} は中止しましたが、最後のメッセージがまだ送信中です。少し待ってから削除してください。"),
        [ProblemCode.UndoExpired] = new("Mailing {id} can no longer be undone: the undo window has passed or messages were handed to Microsoft 365. Cancel stops what is not sent yet.",
            "メール送信 {id} はもう取り消せません（取り消せる時間を過ぎたか、Microsoft 365 に渡したメッセージがあります）。まだ送っていない分は「中止」で止められます。"),
        [ProblemCode.SendAtInvalid] = new("sendAt must be a date and time with its offset (ISO 8601), such as 2026-12-02T09:00:00+09:00.",
            "送信日時は 2026-12-02T09:00:00+09:00 のように、時差（オフセット）付きの ISO 8601 形式で指定してください。"),
        [ProblemCode.SendAtInPast] = new("sendAt {sendAt} has passed; choose a later time or start now.", "送信日時 {sendAt} は過ぎています。これより後の日時にするか、今すぐ開始してください。"),
        [ProblemCode.SendAtTooFar] = new("sendAt may be at most {days} days ahead.", "送信日時は {days} 日後までにしてください。"),
        [ProblemCode.WindowDaysInvalid] = new("Name the days of the sending window once each, from Mon, Tue, Wed, Thu, Fri, Sat, Sun.",
            "送信する曜日を Mon, Tue, Wed, Thu, Fri, Sat, Sun から重複なく 1 つ以上選んでください。"),
        [ProblemCode.WindowTimeInvalid] = new("Give the time as HH:mm (00:00 to 24:00).", "時刻は HH:mm（00:00〜24:00）で指定してください。"),
        [ProblemCode.WindowEmpty] = new("The sending window must end after it begins ({from} to {to}).", "送信時間帯の終わりは始まりより後にしてください（{from}〜{to}）。"),
        [ProblemCode.WindowNeverOpens] = new("This sending window does not open within {days} days.", "この送信時間帯では {days} 日以内に送信できる時間がありません。"),
        [ProblemCode.UndoSecondsOutOfRange] = new("undoSeconds must be a whole number from {min} to {max}.", "取り消しできる時間は {min}〜{max} 秒の整数にしてください。"),
        [ProblemCode.TooManyRunningMailings] = new("You have {max} mailings running already; wait until one finishes (or cancel one), then try again.", "実行中のメール送信がすでに {max} 件あります。どれかが終わる（または中止する）のを待ってから、もう一度お試しください。"),
        [ProblemCode.TooManyTemplates] = new("You can keep at most {max} templates. Delete one you no longer use, then save again.", "テンプレートは {max} 件まで保存できます。使わないものを削除してから、もう一度保存してください。"),
        [ProblemCode.RateLimited] = new("Too many requests of this kind ({policy}); try again in {retryAfterSeconds} seconds.", "この操作（{policy}）のリクエストが多すぎます。{retryAfterSeconds} 秒後にもう一度お試しください。"),
        [ProblemCode.StoreUnavailable] = new("BulkMail's store did not answer in time; nothing was changed by this request. Try again in {retryAfterSeconds} seconds.",
            "BulkMail のデータストアが時間内に応答しませんでした。この操作では何も変更していません。{retryAfterSeconds} 秒後にもう一度お試しください。"),
        [ProblemCode.HrbcRequestTooLong] = new("The search makes an HRBC request of {length} characters; HRBC accepts at most {max}. Shorten the condition or the keywords.", "検索条件から作る HRBC へのリクエストが {length} 文字になり、上限の {max} 文字を超えます。条件かキーワードを短くしてください。"),
        [ProblemCode.ContentTypeUnsupported] = new("Send the body as JSON with Content-Type: application/json ({field}).", "本文は JSON（Content-Type: application/json）で送ってください（{field}）。"),
        [ProblemCode.HostInvalid] = new("The request's Host header is not a valid host and port.", "リクエストの Host ヘッダーが正しいホストとポートではありません。"),
        [ProblemCode.MultipartMalformed] = new("The multipart body does not match its boundary or is cut short; send the file again.", "multipart の本文が境界と合わないか、途中で切れています。もう一度送ってください。"),
        [ProblemCode.FileNameEmpty] = new("The file has no name.", "ファイル名がありません。"),
        [ProblemCode.FileNameInvalidCharacter] = new("The file name {name} contains a character Windows does not allow (\\ / : * ? \" < > |).", "ファイル名 {name} に Windows で使えない文字（\\ / : * ? \" < > |）が含まれています。"),
        [ProblemCode.FileNameReserved] = new("The file name {name} is a name Windows reserves for a device ({reserved}); rename the file.", "ファイル名 {name} は Windows がデバイス用に予約している名前（{reserved}）です。名前を変えてください。"),
        [ProblemCode.FileIsProgram] = new("{name} is a program (its content is an executable, whatever its name says); Outlook blocks programs for their recipients.", "{name} はプログラムです（名前に関係なく中身が実行ファイル）。Outlook は受信者に対してプログラムをブロックします。"),
        // ---- uploads and files
        [ProblemCode.NotMultipart] = new("POST one file in the form field `file`.", "フォーム項目 file にファイルを 1 つ入れて送ってください。"),
        [ProblemCode.NoFile] = new("POST one file in the form field `file`.", "フォーム項目 file にファイルを 1 つ入れて送ってください。"),
        [ProblemCode.FileEmpty] = new("{file} has no content.", "{file} は中身が空です。"),
        [ProblemCode.FileTooLarge] = new("A file can be at most {max} MB (Uploads:MaxFileBytes).", "1 ファイル {max} MB までです。"),
        [ProblemCode.UploadQuotaExceeded] = new(
            "Your uploads of the last {hours} hours come to {used} MB; with this file they would pass {max} MB (Uploads:MaxBytesPerUser). Uploads are freed {hours} hours after they were made.",
            "過去 {hours} 時間のアップロードが合計 {used} MB あり、このファイルを加えると上限の {max} MB を超えます。アップロードしたファイルは {hours} 時間後に解放されます。"),
        [ProblemCode.FileNameMissing] = new("The file has no name.", "ファイルに名前がありません。"),
        [ProblemCode.FileNameInvalid] = new("The file name {name} contains a character Windows does not allow (\\ / : * ? \" < > |).",
            "ファイル名 {name} に Windows で使えない文字（\\ / : * ? \" < > |）が含まれています。"),
        [ProblemCode.FileNameTooLong] = new("The file name is longer than {max} bytes.", "ファイル名が長すぎます（{max} バイトまで）。"),
        [ProblemCode.FileTypeBlocked] = new("{extension} files are blocked by Outlook for their recipients; zip it or send a link instead.",
            "{extension} ファイルは受信者の Outlook でブロックされます。zip にするか、リンクで送ってください。"),
        // ---- sending as the user
        [ProblemCode.SignInRequired] = new("Sending as you needs your Microsoft 365 sign-in: open BulkMail in Outlook and sign in.",
            "あなたとして送信するには Microsoft 365 へのサインインが必要です。Outlook で BulkMail を開いてサインインしてください。"),
        [ProblemCode.SendAsForbidden] = new(
            "Microsoft 365 refused to let BulkMail send as you ({entraCode}: {entraMessage}). Sign in again; if it persists, ask your administrator to grant BulkMail the Mail.Send and Mail.ReadWrite permissions.",
            "Microsoft 365 が BulkMail によるあなたとしての送信を拒否しました（{entraCode}: {entraMessage}）。もう一度サインインしてください。解決しない場合は、管理者に BulkMail への Mail.Send と Mail.ReadWrite の許可（同意）を依頼してください。"),
        [ProblemCode.SignInUnavailable] = new("Entra ID did not answer; nothing was sent or stored. Try again in a minute.",
            "Entra ID から応答がありませんでした。何も送信・保存していません。少し待ってからもう一度お試しください。"),
        // ---- add-in hosting
        [ProblemCode.ManifestNeedsHttps] = new(
            "Outlook loads add-ins only over HTTPS. Set Addin:PublicBaseUrl to the HTTPS address users reach this server at, or write one with scripts/manifest.sh <https-base-url> [api-app-id].",
            "Outlook はアドインを HTTPS でしか読み込みません。Addin:PublicBaseUrl に利用者がこのサーバーに接続する HTTPS のアドレスを設定するか、scripts/manifest.sh <https-base-url> [api-app-id] で作成してください。"),
        [ProblemCode.AddinNotBuilt] = new("Run `npm ci && npm run build` in addin/ (scripts/demo.sh does this), or set Addin:Path.",
            "addin/ で `npm ci && npm run build` を実行するか（scripts/demo.sh が行います）、Addin:Path を設定してください。"),
        // ---- fields
        [ProblemCode.ModeInvalid] = new("mode must be one of {modes}.", "モードは次のいずれかです: {modes}。"),
        [ProblemCode.AnchorRequired] = new("The {mode} mode needs anchorId: the {resource} the matching list started from.",
            "このモード（{mode}）では、起点となる {resource} が必要です。"),
        [ProblemCode.ScopeKindInvalid] = new("scope.kind must be All, Displayed or Checked.",
            "対象範囲は All（すべて）、Displayed（表示中）、Checked（チェックしたもの）のいずれかです。"),
        [ProblemCode.ScopeEmpty] = new("The {kind} scope has no records: check at least one.", "対象のレコードがありません。1 件以上チェックしてください。"),
        [ProblemCode.TooManyIds] = new("At most {max} records can be mailed at once ({count} sent).", "一度に送信できるのは {max} 件までです（{count} 件が指定されました）。"),
        [ProblemCode.IdsNotPositive] = new("Record ids must be positive.", "レコード ID は正の数にしてください。"),
        [ProblemCode.ScopeNoMatch] = new("No record matches the search: the All scope is empty.", "検索条件に一致するレコードがありません。"),
        [ProblemCode.NoValidAddress] = new("No record in the scope has a valid address in the ticked mail fields.", "選んだメール項目に有効なアドレスを持つレコードがありません。"),
        [ProblemCode.KeywordsTooLong] = new("keywords must be at most {max} characters (commas included).", "キーワードは {max} 文字まで（カンマを含む）です。"),
        [ProblemCode.KeywordsControlCharacters] = new("keywords cannot contain control characters.", "キーワードに制御文字は使えません。"),
        [ProblemCode.NumberTooSmall] = new("{name} must be a whole number of {min} or more.", "{name} は {min} 以上の整数にしてください。"),
        [ProblemCode.NumberOutOfRange] = new("{name} must be a whole number from {min} to {max}.", "{name} は {min}〜{max} の整数にしてください。"),
        [ProblemCode.ConditionNotATerm] = new("'{term}' is not a condition of the form Alias:suffix=value.", "「{term}」は「エイリアス:サフィックス=値」の形の条件ではありません。"),
        [ProblemCode.ConditionSuffixUnknown] = new("'{suffix}' in '{term}' is not a condition suffix ({suffixes}).", "「{term}」の「{suffix}」は条件のサフィックスではありません（{suffixes}）。"),
        [ProblemCode.ConditionNoValue] = new("'{term}' has no value.", "「{term}」に値がありません。"),
        [ProblemCode.ConditionEmptyValue] = new("'{term}' has an empty value.", "「{term}」の値が空です。"),
        [ProblemCode.ConditionForeignField] = new("'{alias}' is not a field of {resource}; HRBC searches only the resource's own fields.",
            "「{alias}」は {resource} の項目ではありません。HRBC はそのリソース自身の項目でしか検索できません。"),
        [ProblemCode.ConditionUnknownField] = new("{resource} has no field '{alias}'.", "{resource} に項目「{alias}」はありません。"),
        [ProblemCode.ConditionNotANumber] = new("{alias} takes numbers only; '{value}' is not one.", "{alias} には数値だけを指定できます。「{value}」は数値ではありません。"),
        [ProblemCode.TemplateMissing] = new("Template {id} does not exist.", "テンプレート {id} がありません。"),
        [ProblemCode.TemplateNameInvalid] = new("A name of 1 to 100 characters is required.", "名前を 1〜100 文字で入力してください。"),
        [ProblemCode.SubjectRequired] = new("The subject is required.", "件名を入力してください。"),
        [ProblemCode.SubjectTooLong] = new("The subject can be at most {max} characters.", "件名は {max} 文字までです。"),
        [ProblemCode.BodyRequired] = new("The body is required.", "本文を入力してください。"),
        [ProblemCode.BodyTooLarge] = new("The body is {bytes} bytes; at most 1 MB (1,048,576 bytes) is allowed.", "本文が {bytes} バイトあります。1 MB（1,048,576 バイト）までにしてください。"),
        [ProblemCode.BodyTooLargeMb] = new("The body can be at most 1 MB.", "本文は 1 MB までです。"),
        [ProblemCode.MailFieldsRequired] = new("Tick at least one mail field to send to.", "送信先のメール項目を 1 つ以上選んでください。"),
        [ProblemCode.MailFieldUnknown] = new("Not a mail field of {resource}: {fields}. Mail fields: {known}.", "{resource} のメール項目ではありません: {fields}。選べるメール項目: {known}。"),
        [ProblemCode.PhaseUnknown] = new("{alias} is not a {resource} phase, which is what the {mode} mode updates. {resource} phases: {phases}.",
            "{alias} は {resource} のフェーズではありません（このモードで更新するのは {resource} のフェーズです）。選べるフェーズ: {phases}。"),
        [ProblemCode.PhaseMemoTooLong] = new("The phase memo can be at most {max} characters.", "フェーズメモは {max} 文字までです。"),
        [ProblemCode.PhaseMemoWithoutPhase] = new("A phase memo was given without a phase: choose the phase to set.", "フェーズメモだけでは更新できません。設定するフェーズを選んでください。"),
        [ProblemCode.IdempotencyKeyTooLong] = new("idempotencyKey can be at most {max} characters.", "idempotencyKey は {max} 文字までです。"),
        [ProblemCode.RecruiterRecommendationFiles] = new("A recommendation to a recruiter may not carry the resumes' HRBC files; attach uploads only.",
            "企業担当者への推薦メールにはレジュメの HRBC 添付ファイルを付けられません。アップロードしたファイルのみ添付できます。"),
        [ProblemCode.JobOfferFiles] = new("Offering several jobs to one candidate may not carry the jobs' HRBC files; attach uploads only.",
            "複数 JOB の打診メールには JOB の HRBC 添付ファイルを付けられません。アップロードしたファイルのみ添付できます。"),
        [ProblemCode.ModeHasNoFiles] = new("The {mode} mode has no record files to attach; attach uploads only.", "このモードでは HRBC の添付ファイルは使えません。アップロードしたファイルのみ添付できます。"),
        [ProblemCode.NotAFileOf] = new("Not a file of {resource} {id}: {ids}.", "{resource} {id} の添付ファイルではありません: {ids}。"),
        [ProblemCode.FileUnreadable] = new("The file {file} of {resource} {id} could not be read from HRBC.", "{resource} {id} の添付ファイル {file} を HRBC から読めませんでした。"),
        [ProblemCode.UploadMissing] = new("Upload {id} does not exist or has expired (uploads are kept for {hours} hours); upload the file again.",
            "アップロードしたファイルが見つからないか、期限（{hours} 時間）が切れています。もう一度アップロードしてください。"),
        [ProblemCode.ZipPasswordWithoutFiles] = new("A zip password was given but there is no file to zip.", "zip のパスワードが指定されていますが、添付ファイルがありません。"),
        [ProblemCode.ZipPasswordLength] = new("The zip password must be {min} to {max} characters long.", "zip のパスワードは {min}〜{max} 文字にしてください。"),
        [ProblemCode.ZipPasswordCharacters] = new("Use only letters, digits and symbols (ASCII, no spaces) in the zip password, so that every zip tool can open it.",
            "zip のパスワードには半角の英数字と記号だけを使ってください（空白不可）。どの解凍ツールでも開けるようにするためです。"),
        [ProblemCode.ZipEncryptionInvalid] = new("zipEncryption must be {a} or {b}.", "暗号化方式は {a} か {b} を選んでください。"),
        [ProblemCode.DuplicateFileNames] = new("Two files have the same name: {names}. Rename one.", "同じ名前のファイルがあります: {names}。どちらかの名前を変えてください。"),
        [ProblemCode.AttachmentsTooLarge] = new("The attachments come to {total} MB; a message can carry at most {max} MB (Uploads:MaxMessageBytes).",
            "添付ファイルの合計が {total} MB です。1 通に添付できるのは {max} MB までです。"),

        [ProblemCode.TimeZoneUnknown] = new("{tz} is not a time zone; use an IANA name such as Asia/Tokyo.", "{tz} はタイムゾーンではありません。Asia/Tokyo のような IANA の名前を指定してください。"),
        [ProblemCode.DeliveriesFilterInvalid] = new("{filter} is not a filter of the deliveries list; use replied, bounced or all.",
            "{filter} は配信一覧の絞り込みではありません。replied、bounced、all のいずれかを指定してください。"),
        [ProblemCode.DeliveriesCursorInvalid] = new("The cursor is not one this list gave; start again without it.",
            "カーソルがこの一覧のものではありません。カーソルを付けずに最初から読み直してください。"),
        [ProblemCode.SuppressionAddressInvalid] = new("{value} is not one mail address.", "{value} は 1 つのメールアドレスではありません。"),
        [ProblemCode.SuppressionReasonTooLong] = new("The reason can be at most {max} characters.", "理由は {max} 文字までです。"),
        [ProblemCode.SuppressionNotFound] = new("{address} is not on the suppression list.", "{address} は配信停止リストにありません。"),
        [ProblemCode.SuppressionImportTooLarge] = new("An import can be at most {max} bytes (Suppressions:MaxImportBytes); nothing was stored.",
            "インポートできるのは {max} バイトまでです（何も保存していません）。"),
        [ProblemCode.SuppressionImportTooMany] = new("An import can hold at most {max} addresses; this has {count}. Nothing was stored.",
            "一度にインポートできるのは {max} 件までです（{count} 件あります）。何も保存していません。"),
        [ProblemCode.SuppressionImportEmpty] = new("There is no address to add.", "追加するアドレスがありません。"),
        [ProblemCode.SuppressionImportLineInvalid] = new("Line {line}: {value} is not one mail address. Nothing was stored.",
            "{line} 行目: {value} は 1 つのメールアドレスではありません。何も保存していません。"),
        [ProblemCode.SuppressionCursorInvalid] = new("The cursor is not one this API gave out.", "cursor が正しくありません。"),
        [ProblemCode.UnsubscribeLinkInvalid] = new("This unsubscribe link is not valid (or no longer).", "この配信停止リンクは無効です（または期限が切れています）。"),

        // ---- template errors (as MailTemplate states them; the place is in part/line/column)
        [TemplateErrorCode.UnknownTag] = new("Unknown tag {{{tag}}}: tags are field aliases such as {{Person.P_Name}}.",
            "{{{tag}}} は使えない差し込みタグです（HRBC の項目エイリアス、例: {{Person.P_Name}}）。"),
        [TemplateErrorCode.EmptyTag] = new("An empty tag {{}}.", "空のタグ {{}} があります。"),
        [TemplateErrorCode.Unclosed] = new("'{open}' is never closed with '{close}'.", "'{open}' が '{close}' で閉じられていません。"),
        [TemplateErrorCode.StrayClose] = new("'{close}' closes no tag.", "対応する '{{' のない '{close}' があります。"),
        [TemplateErrorCode.UnclosedBlock] = new("{{#{block}}} is never closed with {{/{block}}}.", "{{#{block}}} が {{/{block}}} で閉じられていません。"),
        [TemplateErrorCode.Syntax] = new("Template syntax error: {detail}", "書式に誤りがあります: {detail}"),
        [TemplateErrorCode.TooDeep] = new("Blocks are nested more than {max} deep; at most {max} are allowed.", "ブロック（{{#if}} など）の入れ子は {max} 段までです。"),
        [TemplateErrorCode.TooManyTags] = new("More than {max} tags; at most {max} are allowed.", "差し込みタグは {max} 個までです。"),
        [TemplateErrorCode.TooLong] = new("At most {max} {unit} are allowed; this is {actual}.", "{max} {unit}までです（{actual} {unit}あります）。"),
        [TemplateErrorCode.NearMissTag] = new("{found} is not a tag and would be sent as typed.", "{found} はタグではないため、そのまま送られます。"),

        // ---- delivery reasons
        [ReasonCode.NoAddress] = new("No address in the ticked mail fields", "選んだメール項目にアドレスがありません"),
        [ReasonCode.InvalidAddress] = new("Invalid address", "メールアドレスが正しくありません"),
        [ReasonCode.RecordGone] = new("Record not found in HRBC", "HRBC にレコードがありません"),
        [ReasonCode.AnchorGone] = new("The {resource} the mailing started from no longer exists in HRBC", "起点の {resource} が HRBC にもうありません"),
        [ReasonCode.CancelledBeforeSend] = new("Cancelled before it was sent", "送信前に中止されました"),
        [ReasonCode.GraphRefused] = new("{graphCode}: {graphMessage}", "Microsoft 365 が送信を拒否しました（{graphCode}: {graphMessage}）"),
        [ReasonCode.GaveUp] = new("Gave up after {attempts} attempts: {last}", "{attempts} 回試みましたが送信できませんでした（最後の応答: {last}）"),
        [ReasonCode.Throttled] = new("Throttled ({graphCode})", "Microsoft 365 の送信制限のため待機中（{graphCode}）"),
        [ReasonCode.GraphTransient] = new("{graphCode}: {graphMessage}", "Microsoft 365 の一時的なエラーのため再試行待ち（{graphCode}: {graphMessage}）"),
        [ReasonCode.Suppressed] = new("The address is on the suppression list", "配信停止リストにあるアドレスです"),
        [ReasonCode.OptedOutInHrbc] = new("The recipient opted out of mail in HRBC", "HRBC でメール配信を希望しない設定です"),

        // ---- why a mailing waits (waitCode) and is paused (pausedCode)
        [WaitCode.PacingWindow] = new("Waiting for the sending window: at most the configured messages per minute are sent.",
            "1 分あたりの送信数の上限に達したため待機しています。"),
        [WaitCode.DailyQuota] = new("The daily limit of {limit} recipients per 24 hours is reached; sending continues when earlier sends leave the window.",
            "24 時間あたりの宛先数の上限（{limit} 件）に達しました。時間がたって送信済みの分が枠から外れると、自動で送信を再開します。"),
        [WaitCode.RetryAfter] = new("Microsoft 365 asked to wait {seconds} seconds before sending more.", "Microsoft 365 から {seconds} 秒待つよう指示があったため待機しています。"),
        [WaitCode.GraphErrors] = new("Microsoft 365 answered with errors ({graphCode}: {graphMessage}); trying again shortly.",
            "Microsoft 365 がエラーを返したため（{graphCode}: {graphMessage}）、少し待って再試行します。"),
        [WaitCode.UploadBudget] = new("Waiting: the attachments uploaded in the last 5 minutes reach the mailbox's limit.",
            "直近 5 分間の添付ファイルのアップロード量が上限に達したため待機しています。"),
        [WaitCode.Expanding] = new("Reading the records in scope: {counted} of {total}.", "対象のレコードを読み込んでいます（{total} 件中 {counted} 件）。"),
        [WaitCode.Scheduled] = new("Scheduled: sending begins at {at}.", "予約済みです。{at} に送信を始めます。"),
        [WaitCode.UndoWindow] = new("Nothing is handed to Microsoft 365 before {at}: until then Undo cancels the mailing with nothing sent.",
            "{at} までは Microsoft 365 に何も渡しません。それまでは「取り消し」で、何も送らずに中止できます。"),
        [WaitCode.OutsideWindow] = new("Outside the sending window; sending goes on at {at}.", "送信時間帯の外です。{at} に送信を再開します。"),
        [PausedCode.PausedByUser] = new("Paused by the user.", "ユーザーが一時停止しました。"),
        [PausedCode.FailureStreak] = new("Paused after {count} failures in a row. Check the failures in the result file, then resume or retry failed.",
            "送信の失敗が {count} 件続いたため一時停止しました。結果ファイルで失敗の内容を確認し、「再開」または「失敗分を再送」を押してください。"),
        [PausedCode.AttachmentsMissing] = new("The mailing's attachments are missing from the store (expired?); cancel it and submit again.",
            "添付ファイルが保存領域に見つかりません（期限切れの可能性があります）。この送信を中止し、もう一度送信してください。"),
        [PausedCode.SignInRefused] = new(
            "Microsoft 365 refused BulkMail's sign-in for {mailbox} ({entraCode}: {entraMessage}). Open BulkMail in Outlook and press Resume; if it happens again, ask your administrator to check the app's consent.",
            "Microsoft 365 が {mailbox} としての BulkMail のサインインを拒否しました（{entraCode}: {entraMessage}）。Outlook で BulkMail を開き「再開」を押してください。繰り返す場合は、管理者にアプリの同意（許可）の確認を依頼してください。"),

        // ---- follow-up outcomes (the CSV's PhaseUpdate, parts joined by "; ")
        [PhaseUpdateCode.Pending] = new("Pending", "HRBC への書き込み待ち"),
        [PhaseUpdateCode.ProcessCreated] = new("Process {processId} created: {phase} ({date})", "プロセス {processId} を作成: {phase}（{date}）"),
        [PhaseUpdateCode.ProcessUpdated] = new("Process {processId} updated: {phase} ({date})", "プロセス {processId} を更新: {phase}（{date}）"),
        [PhaseUpdateCode.PhaseUpdated] = new("{resource} phase updated: {phase} ({date})", "{resource}のフェーズを更新: {phase}（{date}）"),
        [PhaseUpdateCode.PhaseFailed] = new("Phase failed: HRBC code {hrbcCode} {hrbcMessage}", "フェーズ更新に失敗: HRBC コード {hrbcCode} {hrbcMessage}"),
        [PhaseUpdateCode.ActivityLogged] = new("Activity {activityId}", "アクティビティ {activityId} を登録"),
        [PhaseUpdateCode.ActivityFailed] = new("Activity failed: HRBC code {hrbcCode} {hrbcMessage}", "アクティビティ登録に失敗: HRBC コード {hrbcCode} {hrbcMessage}"),
        [PhaseUpdateCode.Retrying] = new("Pending (attempt {attempt} failed: {step}: {error})", "再試行待ち（{attempt} 回目の{step}の書き込みに失敗: {error}）"),
        [PhaseUpdateCode.GaveUp] = new("Failed after {attempts} attempts: {step}: {error}", "{attempts} 回試みましたが{step}を書き込めませんでした: {error}"),

        // ---- delivery status words (the CSV's Status; the pane's count words are the same)
        [Mailings.DeliveryStatus.Pending] = new("Pending", "未送信"),
        [Mailings.DeliveryStatus.Sent] = new("Sent", "送信済み"),
        [Mailings.DeliveryStatus.Failed] = new("Failed", "失敗"),
        [Mailings.DeliveryStatus.Skipped] = new("Skipped", "送信対象外"),
        [Mailings.DeliveryStatus.Bounced] = new("Bounced", "不達"),
        [Mailings.DeliveryStatus.Cancelled] = new("Cancelled", "中止"),
    };

    /// <summary>The texts of codes whose sentence adds "did you mean …?" when the args carry a <c>suggestion</c>.</summary>
    private static readonly Dictionary<Enum, Text> WithSuggestion = new()
    {
        [TemplateErrorCode.UnknownTag] = new("Unknown tag {{{tag}}}: did you mean {{{suggestion}}}?", "{{{tag}}} は使えない差し込みタグです。{{{suggestion}}} のことですか？"),
        [TemplateErrorCode.Unclosed] = new("'{open}' is never closed with '{close}': did you mean {suggestion}?", "'{open}' が '{close}' で閉じられていません。{suggestion} のことですか？"),
        [TemplateErrorCode.StrayClose] = new("'{close}' closes no tag: did you mean {suggestion}?", "対応する '{{' のない '{close}' があります。{suggestion} のことですか？"),
        [TemplateErrorCode.NearMissTag] = new("{found} is not a tag and would be sent as typed: did you mean {suggestion}?", "{found} はタグではないため、そのまま送られます。{suggestion} のことですか？"),
    };

    /// <summary>Codes whose sentence depends on the value of one argument: code → (argument, value → text). A value not
    /// listed takes the code's own sentence.</summary>
    private static readonly Dictionary<Enum, (string Arg, Dictionary<string, Text> Texts)> ByArgument = new()
    {
        // Status streams are a count of open connections, not a rate: the sentence says which limit it is.
        [ProblemCode.RateLimited] = ("policy", new()
        {
            ["streams"] = new("You have {limit} status streams open already; close one or try again in {retryAfterSeconds} seconds.",
                "状況表示のストリームをすでに {limit} 本開いています。1 本閉じるか、{retryAfterSeconds} 秒後にもう一度お試しください。"),
        }),
    };

    /// <summary>Japanese for argument values that are words of the API (parts, resources, steps, states, actions).</summary>
    private static readonly Dictionary<string, Dictionary<string, string>> ArgWords = new()
    {
        ["part"] = new() { ["subject"] = "件名", ["body"] = "本文" },
        ["resource"] = new()
        {
            ["Resume"] = "レジュメ", ["Job"] = "JOB", ["Recruiter"] = "企業担当者", ["Process"] = "プロセス", ["Client"] = "企業",
            ["Person"] = "候補者", ["Candidate"] = "候補者",
        },
        ["step"] = new() { ["phase"] = "フェーズ", ["activity"] = "アクティビティ" },
        ["state"] = new()
        {
            ["Preparing"] = "準備中", ["Ready"] = "送信待ち", ["Scheduled"] = "予約済み", ["Queued"] = "待機中", ["Sending"] = "送信中",
            ["Paused"] = "一時停止", ["Completed"] = "完了", ["Cancelled"] = "中止", ["Failed"] = "失敗",
        },
        ["action"] = new() { ["pause"] = "一時停止", ["resume"] = "再開", ["cancel"] = "中止", ["retry-failed"] = "失敗分を再送", ["start"] = "開始" },
        ["unit"] = new() { ["characters"] = "文字", ["bytes"] = "バイト" },
    };

    /// <summary>Every code enum the table covers (the OpenAPI document lists them; the completeness test walks them).</summary>
    public static readonly IReadOnlyList<Type> CodeTypes =
        [typeof(ProblemCode), typeof(TemplateErrorCode), typeof(ReasonCode), typeof(WaitCode), typeof(PausedCode), typeof(PhaseUpdateCode),
         typeof(Mailings.DeliveryStatus)];

    public static IReadOnlyDictionary<Enum, Text> Entries => Table;
    public static IReadOnlyDictionary<Enum, Text> SuggestionEntries => WithSuggestion;
    public static IReadOnlyDictionary<Enum, (string Arg, Dictionary<string, Text> Texts)> ArgumentEntries => ByArgument;
    public static IReadOnlyDictionary<ProblemCode, Text> ProblemTitles => Titles;
    public static IReadOnlyDictionary<string, Dictionary<string, string>> ArgumentWords => ArgWords;

    public static Text? Find(Enum code) => Table.GetValueOrDefault(code);

    /// <summary>The sentence of a code in English or Japanese with its arguments filled in.</summary>
    public static string Format(Enum code, IReadOnlyDictionary<string, string>? args, bool japanese)
    {
        var entry = args is not null && args.TryGetValue("suggestion", out var suggestion) && suggestion.Length > 0 && WithSuggestion.TryGetValue(code, out var w)
            ? w
            : args is not null && ByArgument.TryGetValue(code, out var variants) && args.TryGetValue(variants.Arg, out var value)
                && variants.Texts.TryGetValue(value, out var v)
                ? v : Table.GetValueOrDefault(code);
        var text = entry is null ? code.ToString() : japanese ? entry.Ja : entry.En;
        return Fill(text, args, japanese);
    }

    /// <summary>The sentence of a code given as a string (from stored data or a problem), null when it is not a code of
    /// <typeparamref name="TCode"/>.</summary>
    public static string? Format<TCode>(string? code, IReadOnlyDictionary<string, string>? args, bool japanese) where TCode : struct, Enum =>
        TryParse<TCode>(code) is { } c ? Format(c, args, japanese) : null;

    public static TCode? TryParse<TCode>(string? code) where TCode : struct, Enum =>
        code is not null && Enum.TryParse<TCode>(code, ignoreCase: false, out var c) && Enum.IsDefined(c) && !char.IsDigit(code[0]) ? c : null;

    public static string? Title(ProblemCode code, bool japanese) =>
        Titles.TryGetValue(code, out var t) ? japanese ? t.Ja : t.En : null;

    private static string Fill(string text, IReadOnlyDictionary<string, string>? args, bool japanese) =>
        Placeholder().Replace(text, m =>
        {
            var name = m.Groups[1].Value;
            if (args is null || !args.TryGetValue(name, out var value))
            {
                return m.Value;
            }
            return japanese && ArgWords.TryGetValue(name, out var words) && words.TryGetValue(value, out var word) ? word : value;
        });

    /// <summary>The placeholders of a text: <c>{name}</c>, also inside braces (<c>{{{tag}}}</c> shows the tag as
    /// <c>{{Alias}}</c>); a name that is not an argument stays as written (<c>{{else}}</c>).</summary>
    public static IReadOnlySet<string> PlaceholdersOf(string text) =>
        Placeholder().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();

    [GeneratedRegex(@"\{(\w+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    /// <summary>
    /// The Japanese of a stored English status sentence of <typeparamref name="TCode"/> (pausedReason, waitReason), found
    /// by matching the sentence against the table's own English for that code set (its placeholders as wildcards).
    /// Interim: the status object gains <c>pausedCode</c>/<c>waitCode</c> with arguments (stored beside the sentence),
    /// and then this is looked up by code instead. An unknown sentence stays as it is.
    /// </summary>
    public static string Japanese<TCode>(string english) where TCode : struct, Enum
    {
        foreach (var code in Enum.GetValues<TCode>())
        {
            if (Table.TryGetValue(code, out var t) && PatternOf(t.En).Match(english) is { Success: true } m)
            {
                var args = PlaceholdersOf(t.En).ToDictionary(n => n, n => m.Groups[n].Value);
                return Format(code, args, japanese: true);
            }
        }
        return english;
    }

    private static Regex PatternOf(string english) =>
        new("^" + Placeholder().Replace(Regex.Escape(english).Replace("\\{", "{", StringComparison.Ordinal), m => $"(?<{m.Groups[1].Value}>.+?)") + "$",
            RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    /// <summary>Formats a count the way the English sentences always did (thousands separators).</summary>
    public static string N0(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
