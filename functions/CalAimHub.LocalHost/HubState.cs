using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.LocalHost;

/// <summary><c>&lt;repo&gt;/.hub/hub.json</c>: where a running <c>hub run</c> is, for <c>hub status</c>, <c>replay</c> and <c>notify</c>.</summary>
internal sealed record HubState
{
    public required int Pid { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required string ApiBaseAddress { get; init; }
    public required string RoutePrefix { get; init; }
    public required string HandlerAddress { get; init; }
    public int? HandlerPid { get; init; }
    public int? AzuritePid { get; init; }
    public int? BlobPort { get; init; }
    public int? QueuePort { get; init; }
    public int? TablePort { get; init; }
    public string? DataDirectory { get; init; }
    public required string AppDirectory { get; init; }
    public required string StorageConnectionString { get; init; }
    public required string MessageEncoding { get; init; }
    public required IReadOnlyList<string> Queues { get; init; }

    /// <summary>Each handler instance as last seen: rewritten when one restarts, so <c>hub status</c> shows restarts.</summary>
    public IReadOnlyList<InstanceState> Instances { get; init; } = [];

    internal sealed record InstanceState(int Number, int? Pid, string Address, int Restarts, int? LastExitCode);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string PathFor(string repositoryRoot) => Path.Combine(repositoryRoot, ".hub", "hub.json");

    public void Write(string repositoryRoot)
    {
        var path = PathFor(repositoryRoot);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Removes hub.json if it still describes this process.</summary>
    public static void Delete(string repositoryRoot, int pid)
    {
        var path = PathFor(repositoryRoot);
        if (TryRead(path, out var state, out _) && state!.Pid == pid)
        {
            File.Delete(path);
        }
    }

    /// <summary>The running hub's state, or why there is none.</summary>
    public static HubState? ReadRunning(string repositoryRoot, out string reason)
    {
        var path = PathFor(repositoryRoot);
        if (!TryRead(path, out var state, out reason))
        {
            return null;
        }

        if (!IsAlive(state!.Pid))
        {
            reason = $"The hub is not running (process {state.Pid} recorded in {path} has exited). Start it with ./hub run.";
            return null;
        }

        return state;
    }

    private static bool TryRead(string path, out HubState? state, out string reason)
    {
        state = null;
        if (!File.Exists(path))
        {
            reason = $"The hub is not running (no {path}). Start it with ./hub run.";
            return false;
        }

        try
        {
            state = JsonSerializer.Deserialize<HubState>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            reason = $"{path} is not readable ({e.Message}); delete it and start the hub with ./hub run.";
            return false;
        }

        reason = "";
        return state is not null;
    }

    internal static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
