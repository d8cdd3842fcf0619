// The bicep CLI comes from Azure.Bicep.CommandLine.linux-x64 and the app is published for linux-x64: these tests run on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
