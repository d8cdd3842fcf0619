namespace CalAimHub.Hosting.FunctionApp;

/// <summary>A host.json, function.json or storage-layout.json that the Functions host would refuse.</summary>
public sealed class FunctionAppDefinitionException(string message) : Exception(message);
