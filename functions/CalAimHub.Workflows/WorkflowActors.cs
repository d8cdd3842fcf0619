using System.Security.Claims;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Staff;

namespace CalAimHub.Workflows;

public static class WorkflowActors
{
    /// <summary>The signed-in staff member as recorded in workflow history; null when the request carried no principal.</summary>
    public static WorkflowActor? Of(ClaimsPrincipal? user) =>
        user?.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name }
            ? new WorkflowActor(name, user.FindFirst(ClientPrincipal.ObjectIdType)?.Value)
            : null;
}
