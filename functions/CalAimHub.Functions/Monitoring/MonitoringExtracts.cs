using Azure;
using Azure.Storage.Blobs.Models;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Monitoring;

/// <summary>What a generation produced: the month, when, how many rows per tab and where the files are.</summary>
public sealed record MonitoringExtractSummary(
    string Month, DateTimeOffset GeneratedAt, int ReferralTrackingRows, int MembersAndServicesRows, int CsRequestsAndDenialsRows, int ProviderCapacityRows,
    IReadOnlyList<MonitoringExtractFile> Files);

public sealed record MonitoringExtractFile(string Format, string Url);

/// <summary>
/// Generates a month's extract (figures → <see cref="MonitoringExtract.Build"/> → XLSX and JSON) and keeps both in the
/// <c>monitoring-extracts</c> container as <c>{yyyy-MM}/calaimhub-monitoring-{yyyy-MM}.{xlsx|json}</c>; a later
/// generation of the same month replaces them.
/// </summary>
public sealed class MonitoringExtracts(StorageAccount storage, IMonitoringFigures figures, TimeProvider time)
{
    public const string Container = "monitoring-extracts";

    public static IReadOnlyList<string> Formats { get; } = ["xlsx", "json"];

    public static string BlobName(MonitoringMonth month, string format) => $"{month.Text}/calaimhub-monitoring-{month.Text}.{format}";

    public static string Url(MonitoringMonth month, string format) => $"/api/console/extracts/{month.Text}?format={format}";

    public async Task<MonitoringExtractSummary> GenerateAsync(MonitoringMonth month, CancellationToken cancellationToken)
    {
        var inputs = await figures.ReadAsync(month, cancellationToken);
        var extract = MonitoringExtract.Build(month, inputs, time.GetUtcNow());
        var container = storage.Blobs.GetBlobContainerClient(Container);
        await UploadAsync(container.GetBlobClient(BlobName(month, "json")), MonitoringExtractFiles.ToJson(extract), MonitoringExtractFiles.JsonContentType, cancellationToken);
        await UploadAsync(container.GetBlobClient(BlobName(month, "xlsx")), MonitoringExtractFiles.ToXlsx(extract), MonitoringExtractFiles.XlsxContentType, cancellationToken);
        return new MonitoringExtractSummary(
            month.Text, extract.GeneratedAt, extract.ReferralTracking.Count, extract.MembersAndServices.Count, extract.CsRequestsAndDenials.Count, extract.ProviderCapacity.Count,
            [.. Formats.Select(f => new MonitoringExtractFile(f, Url(month, f)))]);
    }

    /// <summary>The stored file, or null when that month was never generated.</summary>
    public async Task<(Stream Content, string ContentType, string FileName)?> OpenAsync(MonitoringMonth month, string format, CancellationToken cancellationToken)
    {
        var blob = storage.Blobs.GetBlobContainerClient(Container).GetBlobClient(BlobName(month, format));
        try
        {
            var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken);
            return (download.Value.Content, format == "xlsx" ? MonitoringExtractFiles.XlsxContentType : MonitoringExtractFiles.JsonContentType, Path.GetFileName(blob.Name));
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status404NotFound)
        {
            return null;
        }
    }

    private static Task UploadAsync(Azure.Storage.Blobs.BlobClient blob, byte[] content, string contentType, CancellationToken cancellationToken) =>
        blob.UploadAsync(new BinaryData(content), new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } }, cancellationToken);
}

/// <summary>Timer (monthly, the 1st): generates the extract of the month that just ended (Pacific time).</summary>
public sealed class MonitoringExtractTimer(MonitoringExtracts extracts, TimeProvider time) : ITimerFunction
{
    public async Task<string> RunAsync(InvocationMetadata metadata, CancellationToken cancellationToken)
    {
        var summary = await extracts.GenerateAsync(MonitoringMonth.Previous(time.GetUtcNow()), cancellationToken);
        return $"Monitoring extract {summary.Month}: {summary.ReferralTrackingRows} referral status updates, {summary.MembersAndServicesRows} member/service rows, "
            + $"{summary.CsRequestsAndDenialsRows} CS request rows, {summary.ProviderCapacityRows} providers";
    }
}
