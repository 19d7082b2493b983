using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Puts the code sets (<see cref="ServerText.CodeTypes"/>) and the problem shape into the OpenAPI document, so the
/// task pane's generated types (addin/src/api/schema.d.ts) carry the unions of codes its translation table is keyed
/// by. The document names no server: the pane calls its own origin, and the document stays the same wherever it is
/// served (the generated types are compared with it).
/// </summary>
public sealed class CodeSchemas : IOpenApiDocumentTransformer
{
    /// <summary>Numbers are numbers: the Web JSON defaults also read numbers written as strings, which the generated
    /// document states as <c>integer | string</c>; the API answers numbers, and clients should send them.</summary>
    public static Task NumbersAreNumbers(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Servers = [];
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        var schemas = document.Components.Schemas;
        foreach (var type in ServerText.CodeTypes)
        {
            schemas[type.Name] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Enum = [.. Enum.GetNames(type).Select(n => (JsonNode)JsonValue.Create(n))],
            };
        }
        var args = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.String },
            Description = "The values the code's sentence names.",
        };
        schemas["CodedText"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "A stable code and its arguments (translated by clients).",
            Required = new HashSet<string> { "code", "args" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["code"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["args"] = args,
            },
        };
        schemas["TemplateErrorDetail"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "code", "args", "part", "line", "column", "message" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["code"] = new OpenApiSchemaReference(nameof(TemplateErrorCode), document),
                ["args"] = args,
                ["part"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["line"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
                ["column"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
                ["tag"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["message"] = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };
        schemas["Problem"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "Every error of the API (RFC 7807) with its code; validation problems add errors and fieldCodes.",
            Required = new HashSet<string> { "code", "args" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer | JsonSchemaType.Null },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["code"] = new OpenApiSchemaReference(nameof(ProblemCode), document),
                ["args"] = args,
                ["errors"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
                ["fieldCodes"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchemaReference("CodedText", document) },
                },
                ["details"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["templateErrors"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchemaReference("TemplateErrorDetail", document) },
                    },
                },
            },
        };
        return Task.CompletedTask;
    }
}
