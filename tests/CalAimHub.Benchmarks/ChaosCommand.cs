using System.Globalization;
using CalAimHub.Chaos;

namespace CalAimHub.Benchmarks;

/// <summary>
/// <c>chaos [--trials N] [--kills K] [--referrals R] [--authorizations A] [--files F] [--rows N] [--seed S] [--short]</c>: the full chaos
/// trial of issue 11 (20 kills, 2 instances, thousands of items; <c>--short</c> is the CI size). Prints one table row per trial for
/// docs/performance.md and every broken invariant; exit code 1 when any trial broke one.
/// </summary>
public static class ChaosCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        int? Int(string name) => args.SkipWhile(a => a != name).Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).Cast<int?>().FirstOrDefault();
        var options = args.Contains("--short") ? ChaosTrialOptions.Short : ChaosTrialOptions.Full;
        options = options with
        {
            Kills = Int("--kills") ?? options.Kills,
            Referrals = Int("--referrals") ?? options.Referrals,
            Authorizations = Int("--authorizations") ?? options.Authorizations,
            Files = Int("--files") ?? options.Files,
            RowsPerFile = Int("--rows") ?? options.RowsPerFile,
            Seed = Int("--seed"),
        };
        var trials = Int("--trials") ?? 1;
        var rows = new List<string>();
        var failed = false;
        for (var trial = 1; trial <= trials; trial++)
        {
            var result = await ChaosTrial.RunAsync(options with { Seed = options.Seed is { } seed ? seed + trial - 1 : null }, line => Console.WriteLine($"[trial {trial}] {line}"));
            Console.WriteLine(result.Report());
            rows.Add(result.TableRow(trial));
            failed |= !result.Passed;
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"chaos: {trials} trial(s), {options.Instances} instances, {options.Kills} kills each; {options.Referrals} referrals, {options.Authorizations} authorizations, {options.Files} files × {options.RowsPerFile:N0} rows per trial; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        Console.WriteLine(ChaosResult.TableHeader);
        foreach (var row in rows)
        {
            Console.WriteLine(row);
        }

        return failed ? 1 : 0;
    }
}
