using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CalAimHub.LocalHost;

/// <summary>A child process (Azurite, the handler) whose stdout/stderr lines are captured, stopped with SIGTERM then a kill.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int MaxKeptLines = 20_000;
    private readonly Process _process;
    private readonly OutputLines _output;
    private readonly Action<string>? _sink;

    private ChildProcess(Process process, OutputLines output, Action<string>? sink)
    {
        _process = process;
        _output = output;
        _sink = sink;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public OutputLines Output => _output;

    public static ChildProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string> environment,
        Action<string>? sink = null,
        OutputLines? output = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process, output ?? new OutputLines(), sink);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Add(line);
        _sink?.Invoke(line);
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>SIGTERM, up to <paramref name="grace"/> to exit, then kill the whole tree.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            await DrainOutputAsync();
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            _process.Kill(entireProcessTree: true);
        }
        else
        {
            _ = Kill(_process.Id, SigTerm);
        }

        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }

            await _process.WaitForExitAsync(CancellationToken.None);
        }

        await DrainOutputAsync();
    }

    // WaitForExit() without a timeout also waits for the redirected streams to reach end of file.
    private Task DrainOutputAsync() => Task.Run(() => _process.WaitForExit(5000));

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Captured output lines, thread-safe; keeps the most recent <see cref="MaxKeptLines"/>.</summary>
    internal sealed class OutputLines : IReadOnlyCollection<string>
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public int Count => _lines.Count;

        public void Add(string line)
        {
            _lines.Enqueue(line);
            while (_lines.Count > MaxKeptLines && _lines.TryDequeue(out _))
            {
            }
        }

        public IReadOnlyList<string> Last(int count)
        {
            var all = _lines.ToArray();
            return all[Math.Max(0, all.Length - count)..];
        }

        public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_lines.ToArray()).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
