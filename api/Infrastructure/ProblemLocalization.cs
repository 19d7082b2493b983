using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Problem details in Japanese for clients that ask for it (<c>Accept-Language: ja</c>; the task pane sends its UI
/// language): title, detail, per-field errors and template error messages are translated from one table of the
/// server's English messages, so every endpoint's problems are covered in one place. A message without a translation
/// stays in English rather than being lost.
/// </summary>
public static partial class ProblemLocalization
{
    private static readonly (Regex Pattern, string Japanese)[] Table =
    [
        // titles
        (R("^The mailing has invalid input; nothing was stored\\.$"), "入力に誤りがあります（何も保存していません）。"),
        (R("^The search has invalid parameters\\.$"), "検索条件に誤りがあります。"),
        (R("^HRBC returned an error$"), "HRBC がエラーを返しました"),
        (R("^HRBC did not answer in time$"), "HRBC から時間内に応答がありませんでした"),
        (R("^HRBC is unreachable$"), "HRBC に接続できません"),
        (R("^Not possible in this state$"), "この状態ではできません"),
        (R("^Mailing not found$"), "メール送信が見つかりません"),
        (R("^Template not found$"), "テンプレートが見つかりません"),
        (R("^The file is too large$"), "ファイルが大きすぎます"),
        (R("^This file cannot be attached$"), "このファイルは添付できません"),
        (R("^The file is empty$"), "ファイルが空です"),
        (R("^Too many uploads$"), "アップロードが多すぎます"),
        (R("^Your uploads of the last (?<h>\\d+) hours come to (?<u>[\\d.]+) MB; with this file they would pass (?<m>[\\d.]+) MB \\(Uploads:MaxBytesPerUser\\)\\. Uploads are freed \\d+ hours after they were made\\.$"),
            "過去 ${h} 時間のアップロードが合計 ${u} MB あり、このファイルを加えると上限の ${m} MB を超えます。アップロードしたファイルは ${h} 時間後に解放されます。"),
        (R("^No file$"), "ファイルがありません"),
        (R("^One or more validation errors occurred\\.$"), "入力に誤りがあります。"),
        (R("^Sign-in required$"), "サインインが必要です"),
        (R("^BulkMail may not send as you$"), "BulkMail にはあなたとして送信する権限がありません"),
        (R("^Microsoft 365 sign-in is unavailable$"), "Microsoft 365 のサインインを利用できません"),
        // sending as the user (Graph:Auth=OnBehalfOf)
        (R("^Sending as you needs your Microsoft 365 sign-in: open BulkMail in Outlook and sign in\\.$"), "あなたとして送信するには Microsoft 365 へのサインインが必要です。Outlook で BulkMail を開いてサインインしてください。"),
        (R("^Microsoft 365 refused to let BulkMail send as you \\((?<m>.+)\\)\\. Sign in again; if it persists, ask your administrator to grant BulkMail the Mail\\.Send and Mail\\.ReadWrite permissions\\.$"),
            "Microsoft 365 が BulkMail によるあなたとしての送信を拒否しました（${m}）。もう一度サインインしてください。解決しない場合は、管理者に BulkMail への Mail.Send と Mail.ReadWrite の許可（同意）を依頼してください。"),
        (R("^Entra ID did not answer; nothing was sent or stored\\. Try again in a minute\\.$"), "Entra ID から応答がありませんでした。何も送信・保存していません。少し待ってからもう一度お試しください。"),
        // mailing input
        (R("^The subject is required\\.$"), "件名を入力してください。"),
        (R("^The body is required\\.$"), "本文を入力してください。"),
        (R("^The subject can be at most (?<n>\\d+) characters\\.$"), "件名は ${n} 文字までです。"),
        (R("^The body is (?<b>[\\d,]+) bytes; at most 1 MB \\(1,048,576 bytes\\) is allowed\\.$"), "本文が ${b} バイトあります。1 MB（1,048,576 バイト）までにしてください。"),
        (R("^Tick at least one mail field to send to\\.$"), "送信先のメール項目を 1 つ以上選んでください。"),
        (R("^Not a mail field of (?<r>\\w+): (?<f>.+?)\\. Mail fields: (?<all>.*)\\.$"), "${r} のメール項目ではありません: ${f}。選べるメール項目: ${all}。"),
        (R("^The (?<k>\\w+) scope has no records: check at least one\\.$"), "対象のレコードがありません。1 件以上チェックしてください。"),
        (R("^At most (?<n>[\\d,]+) records can be mailed at once \\((?<m>[\\d,]+) sent\\)\\.$"), "一度に送信できるのは ${n} 件までです（${m} 件が指定されました）。"),
        (R("^No record matches the search: the All scope is empty\\.$"), "検索条件に一致するレコードがありません。"),
        (R("^scope\\.kind must be All, Displayed or Checked\\.$"), "対象範囲は All（すべて）、Displayed（表示中）、Checked（チェックしたもの）のいずれかです。"),
        (R("^mode must be one of (?<m>.+)\\.$"), "モードは次のいずれかです: ${m}。"),
        (R("^The (?<m>\\w+) mode needs anchorId: the (?<r>\\w+) the matching list started from\\.$"), "このモード（${m}）では、起点となる ${r} が必要です。"),
        (R("^(?<r>\\w+) (?<id>\\d+) does not exist in HRBC\\.$"), "HRBC に ${r} ${id} が存在しません。"),
        (R("^Template (?<id>\\S+) does not exist\\.$"), "テンプレート ${id} がありません。"),
        (R("^No record in the scope has a valid address in the ticked mail fields\\.$"), "選んだメール項目に有効なアドレスを持つレコードがありません。"),
        (R("^(?<a>\\S+) is not a (?<r>\\w+) phase, which is what the (?<m>\\w+) mode updates\\. (?<r2>\\w+) phases: (?<list>.*)\\.$"), "${a} は ${r} のフェーズではありません（このモードで更新するのは ${r} のフェーズです）。選べるフェーズ: ${list}。"),
        (R("^A phase memo was given without a phase: choose the phase to set\\.$"), "フェーズメモだけでは更新できません。設定するフェーズを選んでください。"),
        (R("^The phase memo can be at most (?<n>\\d+) characters\\.$"), "フェーズメモは ${n} 文字までです。"),
        // limits and deletion (codes RateLimited, TooManyRunningMailings, TooManyTemplates, MailingNotDeletable)
        (R("^Too many requests$"), "リクエストが多すぎます"),
        (R("^Too many requests of this kind \\((?<p>[\\w-]+)\\); try again in (?<s>\\d+) seconds\\.$"), "この操作（${p}）のリクエストが多すぎます。${s} 秒後にもう一度お試しください。"),
        (R("^You have (?<n>\\d+) status streams open already; close one or try again in (?<s>\\d+) seconds\\.$"), "状況の表示がすでに ${n} 件開いています。どれかを閉じるか、${s} 秒後にもう一度お試しください。"),
        (R("^Too many mailings running$"), "実行中のメール送信が多すぎます"),
        (R("^You have (?<n>\\d+) mailings running already; wait until one finishes \\(or cancel one\\), then try again\\.$"), "実行中のメール送信がすでに ${n} 件あります。どれかが終わる（または中止する）のを待ってから、もう一度お試しください。"),
        (R("^Too many templates$"), "テンプレートが多すぎます"),
        (R("^You can keep at most (?<n>\\d+) templates\\. Delete one you no longer use, then save again\\.$"), "テンプレートは ${n} 件まで保存できます。使わないものを削除してから、もう一度保存してください。"),
        (R("^Mailing (?<id>\\w+) is (?<s>\\w+) and still running; cancel it first, then delete it once it has stopped\\.$"), "メール送信 ${id} は実行中（${s}）です。先に中止し、止まってから削除してください。"),
        (R("^Mailing (?<id>\\w+) is Cancelled but its last messages are still going out; delete it in a moment\\.$"), "メール送信 ${id} は中止しましたが、最後のメッセージがまだ送信中です。少し待ってから削除してください。"),
        // attachments
        (R("^A recommendation to a recruiter may not carry the resumes' HRBC files; attach uploads only\\.$"), "企業担当者への推薦メールにはレジュメの HRBC 添付ファイルを付けられません。アップロードしたファイルのみ添付できます。"),
        (R("^Offering several jobs to one candidate may not carry the jobs' HRBC files; attach uploads only\\.$"), "複数 JOB の打診メールには JOB の HRBC 添付ファイルを付けられません。アップロードしたファイルのみ添付できます。"),
        (R("^The (?<m>\\w+) mode has no record files to attach; attach uploads only\\.$"), "このモードでは HRBC の添付ファイルは使えません。アップロードしたファイルのみ添付できます。"),
        (R("^Not a file of (?<r>\\w+) (?<id>\\d+): (?<ids>.+)\\.$"), "${r} ${id} の添付ファイルではありません: ${ids}。"),
        (R("^The file (?<f>.+) of (?<r>\\w+) (?<id>\\d+) could not be read from HRBC\\.$"), "${r} ${id} の添付ファイル ${f} を HRBC から読めませんでした。"),
        (R("^Upload (?<id>\\S+) does not exist or has expired \\(uploads are kept for (?<h>\\d+) hours\\); upload the file again\\.$"), "アップロードしたファイルが見つからないか、期限（${h} 時間）が切れています。もう一度アップロードしてください。"),
        (R("^A zip password was given but there is no file to zip\\.$"), "zip のパスワードが指定されていますが、添付ファイルがありません。"),
        (R("^The zip password must be (?<a>\\d+) to (?<b>\\d+) characters long\\.$"), "zip のパスワードは ${a}〜${b} 文字にしてください。"),
        (R("^Use only letters, digits and symbols \\(ASCII, no spaces\\) in the zip password, so that every zip tool can open it\\.$"), "zip のパスワードには半角の英数字と記号だけを使ってください（空白不可）。どの解凍ツールでも開けるようにするためです。"),
        (R("^zipEncryption must be (?<a>\\w+) or (?<b>\\w+)\\.$"), "暗号化方式は ${a} か ${b} を選んでください。"),
        (R("^Two files have the same name: (?<n>.+)\\. Rename one\\.$"), "同じ名前のファイルがあります: ${n}。どちらかの名前を変えてください。"),
        (R("^The attachments come to (?<t>[\\d.]+) MB; a message can carry at most (?<m>[\\d.]+) MB \\(Uploads:MaxMessageBytes\\)\\.$"), "添付ファイルの合計が ${t} MB です。1 通に添付できるのは ${m} MB までです。"),
        (R("^A file can be at most (?<m>[\\d.]+) MB \\(Uploads:MaxFileBytes\\)\\.$"), "1 ファイル ${m} MB までです。"),
        (R("^(?<e>\\.\\w+) files are blocked by Outlook for their recipients; zip it or send a link instead\\.$"), "${e} ファイルは受信者の Outlook でブロックされます。zip にするか、リンクで送ってください。"),
        (R("^The file name (?<n>.+) contains a character Windows does not allow \\(.+\\)\\.$"), "ファイル名 ${n} に Windows で使えない文字（\\ / : * ? \" < > |）が含まれています。"),
        (R("^(?<f>.+) has no content\\.$"), "${f} は中身が空です。"),
        // mailing status (pausedReason, waitReason)
        (R("^Paused by the user\\.$"), "ユーザーが一時停止しました。"),
        (R("^Paused after (?<n>\\d+) failures in a row\\. Check the failures in the result file, then resume or retry failed\\.$"),
            "送信の失敗が ${n} 件続いたため一時停止しました。結果ファイルで失敗の内容を確認し、「再開」または「失敗分を再送」を押してください。"),
        (R("^The mailing's attachments are missing from the store \\(expired\\?\\); cancel it and submit again\\.$"),
            "添付ファイルが保存領域に見つかりません（期限切れの可能性があります）。この送信を中止し、もう一度送信してください。"),
        (R("^Microsoft 365 refused BulkMail's sign-in for (?<mb>\\S+) \\((?<m>.+)\\)\\. Open BulkMail in Outlook and press Resume; if it happens again, ask your administrator to check the app's consent\\.$"),
            "Microsoft 365 が ${mb} としての BulkMail のサインインを拒否しました（${m}）。Outlook で BulkMail を開き「再開」を押してください。繰り返す場合は、管理者にアプリの同意（許可）の確認を依頼してください。"),
        (R("^The daily limit of (?<n>[\\d,]+) recipients per 24 hours is reached; sending continues when earlier sends leave the window\\.$"),
            "24 時間あたりの宛先数の上限（${n} 件）に達しました。時間がたって送信済みの分が枠から外れると、自動で送信を再開します。"),
        // template errors
        (R("^Unknown tag (?<t>\\{\\{.*?\\}\\}) in the (?<p>subject|body) at line (?<l>\\d+), column (?<c>\\d+)(: tags are field aliases such as \\{\\{Person\\.P_Name\\}\\})?\\.$"), "${p} の ${l} 行 ${c} 列: ${t} は使えない差し込みタグです（HRBC の項目エイリアス、例: {{Person.P_Name}}）。"),
        (R("^An empty tag at line (?<l>\\d+), column (?<c>\\d+) of the (?<p>subject|body)\\.$"), "${p} の ${l} 行 ${c} 列: 空のタグ {{}} があります。"),
        (R("^'(?<o>\\{\\{\\{?)' at line (?<l>\\d+), column (?<c>\\d+) of the (?<p>subject|body) is never closed with '(?<x>\\}\\}\\}?)'\\.$"), "${p} の ${l} 行 ${c} 列: '${o}' が '${x}' で閉じられていません。"),
        (R("^'\\}\\}' at line (?<l>\\d+), column (?<c>\\d+) of the (?<p>subject|body) closes no tag\\.$"), "${p} の ${l} 行 ${c} 列: 対応する '{{' のない '}}' があります。"),
        (R("^\\{\\{#(?<n>\\w+)\\}\\} at line (?<l>\\d+), column (?<c>\\d+) of the (?<p>subject|body) is never closed with \\{\\{/\\w+\\}\\}\\.$"), "${p} の ${l} 行 ${c} 列: {{#${n}}} が {{/${n}}} で閉じられていません。"),
        (R("^The (?<p>subject|body) has a template syntax error: (?<m>.*)$"), "${p} の書式に誤りがあります: ${m}"),
        // template errors as MailTemplate states them (the place is in part/line/column; the pane composes it)
        (R("^Unknown tag (?<t>\\{\\{.*?\\}\\}): tags are field aliases such as \\{\\{Person\\.P_Name\\}\\}\\.$"), "${t} は使えない差し込みタグです（HRBC の項目エイリアス、例: {{Person.P_Name}}）。"),
        (R("^Unknown tag (?<t>\\{\\{.*?\\}\\}): did you mean (?<s>\\{\\{.*\\}\\})\\?$"), "${t} は使えない差し込みタグです。${s} のことですか？"),
        (R("^An empty tag (?<t>\\{\\{\\{?\\}?\\}\\})\\.$"), "空のタグ ${t} があります。"),
        (R("^'(?<o>\\{\\{[{!]?)' is never closed with '(?<x>\\}\\}\\}?)'\\.$"), "'${o}' が '${x}' で閉じられていません。"),
        (R("^'(?<o>\\{\\{\\{?)' is never closed with '(?<x>\\}\\}\\}?)': did you mean (?<s>.+)\\?$"), "'${o}' が '${x}' で閉じられていません。${s} のことですか？"),
        (R("^'\\}\\}' closes no tag\\.$"), "対応する '{{' のない '}}' があります。"),
        (R("^'\\}\\}' closes no tag: did you mean (?<s>.+)\\?$"), "対応する '{{' のない '}}' があります。${s} のことですか？"),
        (R("^\\{\\{/(?<n>\\w+)\\}\\} closes no open \\{\\{#\\w+\\}\\}\\.$"), "{{/${n}}} に対応する {{#${n}}} がありません。"),
        (R("^\\{\\{#(?<n>\\w+)\\}\\} is never closed with \\{\\{/\\w+\\}\\}\\.$"), "{{#${n}}} が {{/${n}}} で閉じられていません。"),
        (R("^\\{\\{else\\}\\} is outside \\{\\{#if\\}\\} … \\{\\{/if\\}\\}\\.$"), "{{else}} が {{#if}} … {{/if}} の外にあります。"),
        (R("^Template syntax error: (?<m>.*)$"), "書式に誤りがあります: ${m}"),
        (R("^Blocks are nested more than (?<n>\\d+) deep; at most \\d+ are allowed\\.$"), "ブロック（{{#if}} など）の入れ子は ${n} 段までです。"),
        (R("^More than (?<n>[\\d,]+) tags; at most [\\d,]+ are allowed\\.$"), "差し込みタグは ${n} 個までです。"),
        (R("^At most (?<n>[\\d,]+) characters are allowed; this is (?<m>[\\d,]+)\\.$"), "${n} 文字までです（${m} 文字あります）。"),
        (R("^At most (?<s>[\\d.]+ [KM]B) \\((?<n>[\\d,]+) bytes\\) is allowed; this is (?<m>[\\d,]+) bytes\\.$"), "${s}（${n} バイト）までです（${m} バイトあります）。"),
        (R("^(?<f>.+) is not a tag and would be sent as typed: did you mean (?<s>.+)\\?$"), "${f} はタグではないため、そのまま送られます。${s} のことですか？"),
        (R("^(?<f>.+) is not a tag and would be sent as typed\\.$"), "${f} はタグではないため、そのまま送られます。"),
    ];

    private static Regex R(string pattern) => new(pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    /// <summary>Whether the client prefers Japanese: the first language of Accept-Language.</summary>
    public static bool WantsJapanese(HttpContext http)
    {
        var header = http.Request.Headers.AcceptLanguage.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return false;
        }
        var best = header.Split(',').Select(p => p.Split(';')).Select(p => (Tag: p[0].Trim(), Q: QualityOf(p)))
            .OrderByDescending(p => p.Q).FirstOrDefault();
        return best.Tag.StartsWith("ja", StringComparison.OrdinalIgnoreCase);
    }

    private static double QualityOf(string[] parts) =>
        parts.Skip(1).Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("q=", StringComparison.Ordinal)) is { } q
        && double.TryParse(q[2..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 1.0;

    /// <summary>The Japanese of one English message, or the message itself when the table has none.</summary>
    public static string Translate(string message)
    {
        foreach (var (pattern, japanese) in Table)
        {
            var m = pattern.Match(message);
            if (m.Success)
            {
                // the part names of template errors
                return m.Result(japanese).Replace("subject の", "件名の", StringComparison.Ordinal).Replace("body の", "本文の", StringComparison.Ordinal);
            }
        }
        return message;
    }

    /// <summary>Translates a problem in place when the client asked for Japanese.</summary>
    public static void Apply(ProblemDetailsContext context)
    {
        if (!WantsJapanese(context.HttpContext))
        {
            return;
        }
        var p = context.ProblemDetails;
        p.Title = p.Title is null ? null : Translate(p.Title);
        p.Detail = p.Detail is null ? null : Translate(p.Detail);
        if (p is HttpValidationProblemDetails v)
        {
            foreach (var key in v.Errors.Keys.ToList())
            {
                v.Errors[key] = [.. v.Errors[key].Select(Translate)];
            }
        }
        if (p.Extensions.TryGetValue("details", out var details) && details is not null)
        {
            p.Extensions["details"] = TranslateTemplateErrors(details);
        }
        context.HttpContext.Response.Headers.ContentLanguage = "ja";
    }

    private static object TranslateTemplateErrors(object details)
    {
        var node = JsonSerializer.SerializeToNode(details, JsonSerializerOptions.Web);
        if (node?["templateErrors"] is System.Text.Json.Nodes.JsonArray errors)
        {
            foreach (var e in errors.OfType<System.Text.Json.Nodes.JsonObject>())
            {
                if (e["message"]?.GetValue<string>() is { } message)
                {
                    e["message"] = Translate(message);
                }
            }
        }
        return node ?? (object)details;
    }
}
