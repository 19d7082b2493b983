using System.Net.Http.Headers;

namespace BulkMail.Tests.Support;

/// <summary>POST /api/uploads as the task pane sends it: one file in a multipart form field named <c>file</c>.</summary>
public static class UploadForm
{
    public static MultipartFormDataContent Form(string name, byte[] content, string type = "application/pdf")
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        form.Add(file, "file", name);
        return form;
    }

    public static async Task<HttpResponseMessage> PostAsync(HttpClient http, string name, byte[] content, string type = "application/pdf")
    {
        using var form = Form(name, content, type);
        return await http.PostAsync("/api/uploads", form, TestContext.Current.CancellationToken);
    }
}
