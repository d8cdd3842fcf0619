namespace CalAimHub.Ingestion;

/// <summary>
/// Every rule id a result report can name. File rules reject the whole file; header rules reject it before any row is read;
/// the others reject one row. The fix hints live next to the checks in <see cref="Validation.RowValidator"/>.
/// </summary>
public static class Rules
{
    public const string FileEmpty = "file.empty";
    public const string FileBinary = "file.binary";
    public const string FileEncoding = "file.encoding";
    public const string FileTooLarge = "file.too-large";
    public const string FileNoRows = "file.no-rows";
    public const string FilePath = "file.path";
    public const string FileUnknownKind = "file.unknown-kind";
    public const string FileUnknownPartner = "file.unknown-partner";
    public const string FileKindNotAllowed = "file.kind-not-allowed";
    public const string FileDelimiter = "file.delimiter";

    public const string HeaderMissing = "header.missing";
    public const string HeaderMissingColumn = "header.missing-column";
    public const string HeaderDuplicateColumn = "header.duplicate-column";
    public const string HeaderUnknownColumn = "header.unknown-column";

    public const string CsvUnbalancedQuote = "csv.unbalanced-quote";
    public const string CsvColumnCount = "csv.column-count";
    public const string CsvRecordTooLong = "csv.record-too-long";

    public const string Required = "value.required";
    public const string RequiredWhen = "value.required-when";
    public const string RequiredUnless = "value.required-unless";
    public const string Date = "value.date";
    public const string DateFuture = "value.date-future";
    public const string DateRange = "value.date-range";
    public const string Month = "value.month";
    public const string Cin = "value.cin";
    public const string Npi = "value.npi";
    public const string Tin = "value.tin";
    public const string Integer = "value.integer";
    public const string Decimal = "value.decimal";
    public const string Range = "value.range";
    public const string Phone = "value.phone";
    public const string Zip = "value.zip";
    public const string Email = "value.email";
    public const string State = "value.state";
    public const string Code = "value.code";
    public const string TooLong = "value.too-long";
    public const string InvalidCharacters = "value.encoding";
    public const string NulCharacter = "value.nul";
    public const string Hcpcs = "value.hcpcs";
    public const string Modifier = "value.modifier";

    public const string DateOrder = "row.date-order";
    public const string Duplicate = "row.duplicate";

    public const string HcpcsUnknown = "invoice.hcpcs-unknown";
    public const string ModifierNotAllowed = "invoice.modifier-not-allowed";
    public const string ModifierRepeated = "invoice.modifier-repeated";
    public const string ModifierCombination = "invoice.modifier-combination";
}
