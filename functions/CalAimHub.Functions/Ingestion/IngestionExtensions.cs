using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Storage;
using Microsoft.Extensions.Options;

namespace CalAimHub.Functions.Ingestion;

public static class IngestionExtensions
{
    /// <summary>Partner file ingestion: options (section <c>Ingestion</c>), partners, the channel and its storage side.</summary>
    public static void AddIngestion(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<IngestionOptions>(builder.Configuration.GetSection("Ingestion"));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<IngestionOptions>>().Value);
        builder.Services.AddSingleton<PartnerDirectory>();
        builder.Services.AddSingleton(sp => ExchangeAccount.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddSingleton<ExchangeInbound>();
        builder.Services.AddSingleton(sp => new PartnerFileChannel(FormatCatalog.Default, sp.GetRequiredService<IngestionOptions>()));
        builder.Services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<StorageAccount>();
            return new BlobFileIngestion(
                sp.GetRequiredService<PartnerFileChannel>(),
                storage.Blobs,
                storage.Tables,
                storage.Queues,
                sp.GetRequiredService<IngestionOptions>(),
                sp.GetRequiredService<TimeProvider>());
        });
    }
}
