using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CalAimHub.LocalHost.Tests;

/// <summary>
/// A child told to listen on a port that another process took first must not be "ready" because the stranger answers
/// (two test hubs once shared one Azurite table service that way).
/// </summary>
public sealed class LoopbackListenerTests
{
    [Fact]
    public void A_port_this_process_listens_on_is_held_by_it()
    {
        using var listener = Listen(out var port);

        Assert.True(LoopbackListener.IsHeldBy(Environment.ProcessId, port));
    }

    [Fact]
    public void A_port_a_descendant_listens_on_is_held_by_its_ancestor()
    {
        // A handler may be a script whose child is the server; the test process is a descendant of its parent.
        using var listener = Listen(out var port);

        Assert.True(LoopbackListener.IsHeldBy(ParentProcessId(), port));
    }

    [Fact]
    public void A_port_another_process_listens_on_is_not_held_by_the_child_and_starting_fails_with_the_reason()
    {
        using var listener = Listen(out var port);
        using var child = Process.Start(new ProcessStartInfo("sleep", "30"))!;
        try
        {
            Assert.False(LoopbackListener.IsHeldBy(child.Id, port));
            var error = Assert.Throws<PortTakenException>(() => LoopbackListener.EnsureHeldBy(child.Id, port, "Azurite"));
            Assert.Equal(
                $"Azurite was to listen on 127.0.0.1:{port}, but another process took that port first; the answers there are not Azurite's.",
                error.Message);
        }
        finally
        {
            child.Kill();
        }
    }

    [Fact]
    public void A_port_nobody_listens_on_is_not_held()
    {
        int port;
        using (Listen(out port))
        {
        }

        Assert.False(LoopbackListener.IsHeldBy(Environment.ProcessId, port));
    }

    private static TcpListener Listen(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return listener;
    }

    private static int ParentProcessId()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The race itself: the handler's port is free when it is chosen and taken by a stranger before the handler binds it.</summary>
public sealed class HandlerPortRaceTests : IDisposable
{
    // Waits before listening, as a real handler does while it starts, so the stranger gets there first.
    private const string Script = """
        #!/usr/bin/env node
        const http = require('http');
        const port = process.env.FUNCTIONS_CUSTOMHANDLER_PORT;
        setTimeout(() => http.createServer((req, res) => res.end('the handler')).listen(port, '127.0.0.1'), 1500);
        """;

    private readonly TestApp _app;

    public HandlerPortRaceTests()
    {
        _app = TestApp.Create(new() { ["Env"] = TestApp.Http("env", "get") });
        var script = Path.Combine(_app.Directory, "handler.js");
        File.WriteAllText(script, Script.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_handler_whose_port_a_stranger_took_first_is_started_again_on_another_port_and_never_answers_with_the_strangers_voice()
    {
        var port = FreePort.Next();
        var starting = Handler.StartAsync(
            Hosting.FunctionApp.FunctionAppDefinition.Load(_app.Directory), new Dictionary<string, string>(), new ChildProcess.OutputLines(), null,
            TimeSpan.FromSeconds(30), CancellationToken.None, port);
        await Task.Delay(300);
        using var stranger = new TcpListener(IPAddress.Loopback, port);
        stranger.Start();
        _ = AnswerAsync(stranger, "the stranger");

        var (process, address) = await starting;
        await using (process)
        {
            Assert.NotEqual(port, address.Port);
            using var client = new HttpClient();
            Assert.Equal("the handler", await client.GetStringAsync(address));
            Assert.True(LoopbackListener.IsHeldBy(process.Id, address.Port));
        }
    }

    /// <summary>Answers every HTTP request on <paramref name="listener"/> with <paramref name="body"/>, until the listener stops.</summary>
    private static async Task AnswerAsync(TcpListener listener, string body)
    {
        try
        {
            while (true)
            {
                using var connection = await listener.AcceptTcpClientAsync();
                var stream = connection.GetStream();
                var buffer = new byte[4096];
                _ = await stream.ReadAsync(buffer);
                var response = $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(response));
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
    }
}
