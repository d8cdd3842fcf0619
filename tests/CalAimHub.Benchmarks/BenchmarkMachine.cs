using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Validation;
using CalAimHub.LocalHost;

namespace CalAimHub.Benchmarks;

/// <summary>What several benchmark cases need from the machine: ports, publishing as deployed, process memory.</summary>
internal static class BenchmarkMachine
{
    /// <summary>Each route asked <paramref name="requests"/> times, round-robin: every answer's milliseconds, read to the end.</summary>
    public static async Task<Dictionary<string, List<double>>> TimeRoutesAsync(HttpClient client, IReadOnlyList<string> routes, int requests)
    {
        var times = routes.ToDictionary(r => r, _ => new List<double>());
        for (var i = 0; i < requests; i++)
        {
            foreach (var route in routes)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(new Uri(route, UriKind.Relative));
                await response.Content.ReadAsByteArrayAsync();
                times[route].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        return times;
    }

    /// <summary>The hub the read-model query benchmarks seed and ask: in-memory Azurite, no blob events, no settings file.</summary>
    public static Task<LocalHub> QueryHubAsync() => LocalHub.StartAsync(new LocalHubOptions
    {
        InMemoryStorage = true,
        HttpPort = 0,
        UseLocalSettingsFile = false,
        EnableBlobEvents = false,
        AppSettings = new Dictionary<string, string> { ["Notifications__RequireHttps"] = "false" },
    });

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Publishes as deployed (self-contained linux-x64; the handler's project adds ReadyToRun) into <paramref name="output"/>.</summary>
    public static async Task<string> PublishAsync(string project, string output)
    {
        using var publish = Process.Start(new ProcessStartInfo("dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", output, "--nologo", "-v", "quiet"])
        {
            RedirectStandardOutput = true,
        })!;
        var log = await publish.StandardOutput.ReadToEndAsync();
        await publish.WaitForExitAsync();
        return publish.ExitCode == 0 ? output : throw new InvalidOperationException($"dotnet publish {project} failed:\n{log}");
    }

    /// <summary>Resets a process's peak resident set (VmHWM), so the next peak belongs to the next phase.</summary>
    public static void ResetPeakWorkingSet(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A size from /proc/&lt;pid&gt;/status in bytes: <c>VmHWM:</c> (peak resident set since the last reset) or <c>VmRSS:</c>.</summary>
    public static long MemoryStatus(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>User + system CPU seconds of a process so far (Linux /proc), NaN where unreadable.</summary>
    public static double CpuSeconds(int? pid)
    {
        try
        {
            // Fields after the parenthesized command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks of 1/100 s.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return double.NaN;
        }
    }

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
}

/// <summary>The ingestion benchmarks' file: RTF version A, every row valid, unique members, a referral status on every row
/// (one domain event each).</summary>
internal static class RtfBenchmarkFile
{
    /// <summary>Writes up to <paramref name="rows"/> rows, stopping before <paramref name="maxBytes"/>; returns the rows written.</summary>
    public static int Generate(string path, int rows, long maxBytes = long.MaxValue)
    {
        var schema = FormatCatalog.Default.Schema("rtf-a");
        var npis = Enumerable.Range(0, 50).Select(i => { var nine = (100000000 + (i * 7919)).ToString(CultureInfo.InvariantCulture); return nine + Identifiers.NpiCheckDigit(nine); }).ToArray();
        string[] pofs = ["1a", "1b", "2", "3", "4", "5", "6", "7", "8", "9"];
        string[] statuses = ["Pending", "Accepted", "Declined", "Outreach Initiated", "Referral Loop Closed"];
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var header = string.Join(',', schema.Columns.Select(c => c.Name)) + "\r\n";
        writer.Write(header);
        long bytes = header.Length; // ASCII throughout: one byte per character
        for (var n = 0; n < rows; n++)
        {
            var status = statuses[n % statuses.Length];
            var line = string.Create(CultureInfo.InvariantCulture,
                $"MCP001,Example Health Plan,{10000000 + n}{(char)('A' + (n % 26))},Member{n},Pat,N,N,,,,,N,,Y,{pofs[n % pofs.Length]},Enrolled,High,07/01/2025,,11/20/2025,,07/02/2025,07/09/2025,12/18/2025,Casey Caremanager,(555) 555-0100,casey@provider.example,,,,2,1,01/05/2026,12/2025,Example ECM Provider,{npis[n % npis.Length]},12-3456789,555-555-0101,{status},12/{(n % 28) + 1:00}/2025,{(status == "Referral Loop Closed" ? "Services Received" : "")}\r\n");
            if (bytes + line.Length > maxBytes)
            {
                return n;
            }

            writer.Write(line);
            bytes += line.Length;
        }

        return rows;
    }
}
