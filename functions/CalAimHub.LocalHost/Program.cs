using CalAimHub.LocalHost;

return await HubCli.InvokeAsync(args);
