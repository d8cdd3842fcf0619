using System.Globalization;

namespace CalAimHub.LocalHost;

/// <summary>
/// Who holds a listening TCP port. A free port is found, let go and then bound by a child process; in between, another
/// process (a parallel test run, another hub) can bind it. The child then fails with EADDRINUSE and exits, but a probe
/// that only asks "is anything listening?" is answered by the stranger, and the hub talks to someone else's storage or
/// handler. Reading /proc tells whose socket it is.
/// </summary>
internal static class LoopbackListener
{
    private const string ListenState = "0A";

    /// <summary>
    /// True if <paramref name="processId"/> holds a listening socket on <paramref name="port"/>, false if it does not
    /// (someone else does, or nobody yet), null where /proc cannot tell (not Linux).
    /// </summary>
    public static bool? IsHeldBy(int processId, int port)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/net/tcp"))
        {
            return null;
        }

        var inodes = ListeningSocketInodes(port);
        if (inodes.Count == 0)
        {
            return false;
        }

        // A handler may be a script that starts the real server as its child, so the process's descendants count too.
        return ProcessAndDescendants(processId).Any(pid => HoldsAny(pid, inodes));
    }

    private static bool HoldsAny(int processId, HashSet<string> inodes)
    {
        try
        {
            foreach (var descriptor in Directory.EnumerateFiles($"/proc/{processId}/fd"))
            {
                var target = new FileInfo(descriptor).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal)
                    && inodes.Contains(target["socket:[".Length..^1]))
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            // The process has exited (or is not ours to read): it holds nothing we can use.
        }

        return false;
    }

    private static List<int> ProcessAndDescendants(int processId)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // stat is "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
            {
                // Gone between the listing and the read.
            }
        }

        var result = new List<int> { processId };
        for (var i = 0; i < result.Count; i++)
        {
            if (children.TryGetValue(result[i], out var list))
            {
                result.AddRange(list);
            }
        }

        return result;
    }

    /// <summary>
    /// Runs a child's start (<paramref name="start"/> gets the attempt number, 1 first) and, when another process took a
    /// port it had chosen as free, starts it again on newly chosen ports, at most <see cref="MaxStarts"/> times in all.
    /// Ports the caller was given (<paramref name="mayMove"/> false) are never swapped for others.
    /// </summary>
    public static async Task<T> StartWhereFreeAsync<T>(Func<int, Task<T>> start, bool mayMove, Action<string>? log = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start(attempt);
            }
            catch (PortTakenException e) when (mayMove && attempt < MaxStarts)
            {
                log?.Invoke($"{e.Message} Starting again on other ports.");
            }
        }
    }

    public const int MaxStarts = 3;

    /// <summary>Throws <see cref="PortTakenException"/> when another process holds the port the child was meant to bind.</summary>
    public static void EnsureHeldBy(int processId, int port, string what)
    {
        if (IsHeldBy(processId, port) == false)
        {
            throw new PortTakenException(
                $"{what} was to listen on 127.0.0.1:{port}, but another process took that port first; the answers there are not {what}'s.");
        }
    }

    private static HashSet<string> ListeningSocketInodes(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 10 || fields[3] != ListenState)
                {
                    continue;
                }

                var local = fields[1];
                var colon = local.LastIndexOf(':');
                if (colon > 0 && int.Parse(local[(colon + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add(fields[9]);
                }
            }
        }

        return inodes;
    }
}

/// <summary>A port chosen as free was bound by another process before the child could bind it; starting again on new ports is safe.</summary>
public sealed class PortTakenException(string message) : LocalHubException(message);
