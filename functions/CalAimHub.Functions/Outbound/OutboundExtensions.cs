using CalAimHub.Functions.Invocations;

namespace CalAimHub.Functions.Outbound;

public static class OutboundExtensions
{
    /// <summary>Outbound files (MIF, CS MIF, mini-MIF, CS authorization status): profile from section <c>Outbound</c>, the assignment index, the generator.</summary>
    public static void AddOutbound(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(OutboundOptions.Section).Get<OutboundOptions>() ?? new OutboundOptions();
        options.Validate();
        builder.Services.Configure<OutboundOptions>(builder.Configuration.GetSection(OutboundOptions.Section));
        builder.Services.AddSingleton<OutboundAssignments>();
        builder.Services.AddSingleton<OutboundLedger>();
        builder.Services.AddSingleton<OutboundGenerationQueue>();
        builder.Services.AddSingleton<IMemberFacts, HubMemberFacts>();
        builder.Services.AddSingleton<OutboundGenerator>();
        builder.Services.AddSingleton<OutboundSchedule>();
        builder.Services.AddSingleton<OutboundFiles>();
    }

    public static void MapOutbound(this WebApplication app)
    {
        app.MapQueueFunction<AssignmentEventsFunction>("AssignmentEvents");
        app.MapQueueFunction<OutboundGenerationFunction>("OutboundGeneration");
        app.MapTimerFunction<OutboundScheduleTimer>("OutboundSchedule");
        app.MapOutboundApi();
    }
}
