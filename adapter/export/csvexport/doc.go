// Package csvexport writes exported points as CSV (RFC 4180, through
// encoding/csv): one row per point, the columns timestamp (RFC 3339, UTC,
// milliseconds), unix_ms, name, one column per tag key, value, and for
// rollup buckets min, max and count. Text cells a spreadsheet would run
// as a formula (beginning with = + - @, a tab or a carriage return) are
// prefixed with an apostrophe, and so is one already beginning with an
// apostrophe, so that Read gives back exactly what was written — but for a
// carriage return inside a cell, which encoding/csv drops when it writes
// RFC 4180's CRLF line ends (a line break inside a cell stays).
//
// It is the export job's format: Encoder is the use case's export.Encoder
// (usecase/export), gzipping the file when the export asks.
package csvexport
