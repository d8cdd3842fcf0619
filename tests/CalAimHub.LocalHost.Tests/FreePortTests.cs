namespace CalAimHub.LocalHost.Tests;

public sealed class FreePortTests
{
    [Fact]
    public void Ports_handed_out_in_one_process_are_never_the_same_twice()
    {
        // The OS often returns a port it has just released; Azurite once got the same port for blob and table.
        var ports = Enumerable.Range(0, 200).Select(_ => FreePort.Next()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
    }
}
