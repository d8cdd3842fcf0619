using System.Diagnostics;
using System.Globalization;

namespace CalAimHub.Benchmarks;

/// <summary>
/// The <c>hub</c> command line as a user types it (the repository's <c>./hub</c> script) on a built tree: how long
/// <c>./hub run</c> takes to its banner, and each of status, notify, replay and drop (upload to the summary of its report),
/// against a hub of its own (a temporary repo folder: its own .hub/, in-memory Azurite and the API on free ports).
/// Baseline, same run: status the way the script ran it before (a no-op <c>dotnet build</c>, then <c>dotnet run --no-build</c>).
/// </summary>
public static class CliBenchmark
{
    public static async Task RunAsync(string root, int runs)
    {
        var hub = Path.Combine(root, "hub");
        var repo = Directory.CreateTempSubdirectory("calaimhub-bench-cli-").FullName;
        Directory.CreateSymbolicLink(Path.Combine(repo, "node_modules"), Path.Combine(root, "node_modules"));
        var file = Path.Combine(repo, "bench-referrals.csv");
        await File.WriteAllTextAsync(file, "ReferralId,MemberCin\nR-1,\n");
        Process? running = null;
        try
        {
            // Builds when a source changed since the last ./hub run, so what follows is measured on a built tree.
            var build = await TimeAsync(hub, ["run", "--help"]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cli benchmark: {runs} runs per command, {Environment.ProcessorCount} cores, load average {LoadAverage()}; build check {build.Milliseconds:0} ms"));

            var started = Stopwatch.StartNew();
            running = Start(hub, ["run", "--repo", repo, "--in-memory", "--port", "0", "--blob-port", "0", "--queue-port", "0", "--table-port", "0"]);
            var banner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            running.OutputDataReceived += (_, e) =>
            {
                if (e.Data == "CalAimHub local host is running.")
                {
                    banner.TrySetResult();
                }
            };
            running.BeginOutputReadLine();
            running.BeginErrorReadLine();
            await banner.Task.WaitAsync(TimeSpan.FromMinutes(3));
            var runToBanner = started.Elapsed.TotalMilliseconds;

            (string Name, string[] Args)[] commands =
            [
                ("status", ["status", "--repo", repo]),
                ("notify", ["notify", "--repo", repo, "--subscriber", "bench", "--url", "http://127.0.0.1:9/hook"]),
                ("replay notifications", ["replay", "notifications", "--repo", repo]),
                ("drop (upload → report summary)", ["drop", file, "--partner", "bench", "--kind", "referral", "--repo", repo, "--timeout", "60"]),
                ("--help", ["--help"]),
            ];
            var rows = new List<(string, List<double>)>();
            foreach (var (name, args) in commands)
            {
                await TimeAsync(hub, args); // warm-up: the OS file cache
                var times = new List<double>();
                for (var i = 0; i < runs; i++)
                {
                    times.Add((await TimeAsync(hub, args)).Milliseconds);
                }

                rows.Add((name, times));
            }

            var project = Path.Combine(root, "functions", "CalAimHub.LocalHost");
            var before = new List<double>();
            for (var i = 0; i < Math.Min(runs, 3); i++)
            {
                var stopwatch = Stopwatch.StartNew();
                await TimeAsync("dotnet", ["build", project, "-c", "Debug", "--verbosity", "quiet", "-nologo"]);
                await TimeAsync("dotnet", ["run", "--project", project, "-c", "Debug", "--no-build", "--no-launch-profile", "--", "status", "--repo", repo]);
                before.Add(stopwatch.Elapsed.TotalMilliseconds);
            }

            Console.WriteLine("| command | median ms | min | max |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| ./hub run → banner (built tree, in-memory Azurite) | {runToBanner:0} | | |"));
            foreach (var (name, times) in rows)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| ./hub {name} | {Median(times):0} | {times.Min():0} | {times.Max():0} |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| before: dotnet build (no-op) + dotnet run -- status | {Median(before):0} | {before.Min():0} | {before.Max():0} |"));
        }
        finally
        {
            if (running is { HasExited: false })
            {
                using var interrupt = Process.Start("kill", ["-INT", running.Id.ToString(CultureInfo.InvariantCulture)]);
                await interrupt.WaitForExitAsync();
                if (!running.WaitForExit(30_000))
                {
                    running.Kill(entireProcessTree: true);
                }
            }

            running?.Dispose();
            Directory.Delete(repo, recursive: true);
        }
    }

    private static Process Start(string fileName, string[] args)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    /// <summary>Runs to exit; the time from start to exit. A non-zero exit is fine (drop of a rejected file exits 2).</summary>
    private static async Task<(double Milliseconds, int ExitCode)> TimeAsync(string fileName, string[] args)
    {
        var stopwatch = Stopwatch.StartNew();
        using var process = Start(fileName, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await Task.WhenAll(output, error);
        return (stopwatch.Elapsed.TotalMilliseconds, process.ExitCode);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
