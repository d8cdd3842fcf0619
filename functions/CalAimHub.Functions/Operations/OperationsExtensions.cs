using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Operations;

public static class OperationsExtensions
{
    public static void AddOperations(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new PoisonQueues(sp.GetRequiredService<StorageAccount>().Queues));
        builder.Services.AddSingleton<OperationsOverview>();
    }
}
