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
