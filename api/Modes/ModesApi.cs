using Microsoft.AspNetCore.Http.HttpResults;

namespace BulkMail.Api.Modes;

/// <summary><c>GET /api/modes</c>: the mode table, so the task pane's copy is the API's (addin/src/model/modes.json).</summary>
public static class ModesApi
{
    public static IEndpointRouteBuilder MapModesApi(this IEndpointRouteBuilder app)
    {
        // Facts of the product, the same for everyone: signed in or not.
        app.MapGet("/api/modes", List).WithTags("Modes").WithSummary("The six modes and what each lists, anchors, sends to, attaches, updates and tags");
        return app;
    }

    public static Ok<IReadOnlyList<ModeInfo>> List() => TypedResults.Ok<IReadOnlyList<ModeInfo>>([.. ModeShape.All.Select(s => s.ToInfo())]);
}
