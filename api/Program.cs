using BulkMail.Api;
using BulkMail.Api.Addin;

if (args is ["write-manifest", ..])
{
    return AddinManifestCommand.Run(args[1..], Console.Out, Console.Error);
}

BulkMailServer.Build(args).Run();
return 0;

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
