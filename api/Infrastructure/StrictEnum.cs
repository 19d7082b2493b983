using System.Text.Json;
using System.Text.Json.Serialization;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Enums from outside parsed by their exact names only. <see cref="Enum.TryParse{TEnum}(string?, out TEnum)"/> and
/// <see cref="JsonStringEnumConverter"/> also accept numbers ("3"), padding and flag syntax ("JobToResumes, Recruiters"
/// is Recruiters | JobToResumes), which turned one mode into another and a scope kind into nothing.
/// </summary>
public static class StrictEnum
{
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum
    {
        foreach (var name in Enum.GetNames<T>())
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                value = Enum.Parse<T>(name);
                return true;
            }
        }
        value = default;
        return false;
    }

    public static string Names<T>() where T : struct, Enum => string.Join(", ", Enum.GetNames<T>());
}

/// <summary>JSON strings of the enum's exact names, nothing else (no numbers, no "A, B"); written as names.</summary>
public sealed class StrictEnumConverter<T> : JsonConverter<T> where T : struct, Enum
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String && StrictEnum.TryParse<T>(reader.GetString(), out var value))
        {
            return value;
        }
        // The serializer adds the JSON path; the exception handler names it.
        throw new JsonException($"Expected one of {StrictEnum.Names<T>()}.");
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Enum.IsDefined(value) ? value.ToString() : throw new JsonException($"{value} is not a {typeof(T).Name}."));
}

/// <summary>OpenAPI does not see through a custom converter (it wrote <c>{}</c>): the strict enums are strings of their names.</summary>
public static class StrictEnumSchema
{
    public static Task TransformAsync(Microsoft.OpenApi.OpenApiSchema schema, Microsoft.AspNetCore.OpenApi.OpenApiSchemaTransformerContext context,
        CancellationToken cancellationToken)
    {
        var type = Nullable.GetUnderlyingType(context.JsonTypeInfo.Type) ?? context.JsonTypeInfo.Type;
        if (type.IsEnum && context.JsonTypeInfo.Converter.GetType() is { IsGenericType: true } converter
            && converter.GetGenericTypeDefinition() == typeof(StrictEnumConverter<>))
        {
            schema.Type = Microsoft.OpenApi.JsonSchemaType.String;
            schema.Enum = [.. Enum.GetNames(type).Select(n => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(n))];
        }
        return Task.CompletedTask;
    }
}
