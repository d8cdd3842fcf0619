using System.Text.Json;

namespace CalAimHub.Functions.Extensions;

public static class RequestBody
{
    /// <summary>
    /// The JSON body as the strict input edge checked it (JSON content type, size, well formed, no duplicate keys), parsed
    /// once; false when the request had no body. A handler answers for what the body means, never again for its format.
    /// </summary>
    public static bool TryCheckedJson(this HttpRequest request, out JsonElement body)
    {
        if (request.HttpContext.Features.Get<CheckedBody>() is { } checkedBody)
        {
            using var document = JsonDocument.Parse(checkedBody.Bytes);
            body = document.RootElement.Clone();
            return true;
        }

        body = default;
        return false;
    }

    /// <summary>
    /// The raw request body, or null when it is longer than <paramref name="maxBytes"/>: checked while reading, not only
    /// by Content-Length, which a client may omit or understate. Raw bytes, because a signature covers them exactly.
    /// </summary>
    public static async Task<byte[]?> ReadLimitedAsync(this HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        // The input edge has read and checked the body already: hand over the same bytes instead of copying them again.
        if (request.HttpContext.Features.Get<CheckedBody>() is { } checkedBody)
        {
            return checkedBody.Bytes.Length > maxBytes ? null : checkedBody.Bytes;
        }

        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}

/// <summary>The request body as the strict input edge read and accepted it (<see cref="StrictInput"/>).</summary>
public sealed record CheckedBody(byte[] Bytes);
