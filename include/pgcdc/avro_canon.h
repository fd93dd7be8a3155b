/*
 * avro_canon.h - Avro Parsing Canonical Form and CRC-64-AVRO fingerprints.
 *
 * avro-c 1.11.1 has neither, and its schema printer drops logical types and
 * custom attributes, so pgcdc keeps its own schema JSON text and derives the
 * canonical form from that text (Avro 1.11 specification, "Parsing Canonical
 * Form for Schemas" and "Schema Fingerprints"):
 *
 *  - PRIMITIVES  {"type":"int", ...} becomes "int";
 *  - FULLNAMES   record, enum and fixed names, and every later reference to
 *                them by name, become full names (a dotted name is already
 *                full; otherwise the "namespace" attribute, else the namespace
 *                of the most tightly enclosing named type applies; a short
 *                reference not defined in that namespace falls back to the
 *                null namespace, as Java's parser does); "namespace" goes;
 *  - STRIP       only name, type, fields, symbols, items, values and size
 *                remain (doc, aliases, default, order, logicalType,
 *                connect.* and any other attribute go);
 *  - ORDER       attributes in the order name, type, fields, symbols, items,
 *                values, size;
 *  - STRINGS     escapes are decoded to UTF-8 (names are checked against
 *                [A-Za-z_][A-Za-z0-9_]*, so nothing needs escaping again);
 *  - INTEGERS    a fixed's size is written without quotes or leading zeros;
 *  - WHITESPACE  none outside strings.
 *
 * The input must be a valid schema: undefined or doubly defined names, bad
 * names, missing attributes, duplicate fields or symbols and malformed JSON
 * are errors.
 *
 * The fingerprint is the 64-bit Rabin fingerprint of the specification
 * (polynomial/empty value 0xc15d213aa4d7a795); single-object encoding writes
 * it little-endian.
 */
#ifndef PGCDC_AVRO_CANON_H
#define PGCDC_AVRO_CANON_H

#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"

/* CRC-64-AVRO of zero bytes (the algorithm's starting value). */
#define PGCDC_AVRO_FP_EMPTY UINT64_C(0xc15d213aa4d7a795)

/*
 * Writes the Parsing Canonical Form of the schema JSON text at schema_json
 * (len bytes, UTF-8) into out, replacing what out held; out->data is then a
 * NUL-terminated string of out->len bytes. Returns 0; -EINVAL when the text
 * is not JSON or not a valid schema (the reason, naming the type or field,
 * in err; out is then empty); -ENOMEM.
 */
int pgcdc_avro_canonical(const char *schema_json, size_t len, struct pgcdc_buf *out /* OUT */,
                         char *err, size_t errlen);

/* CRC-64-AVRO (Rabin) fingerprint of len bytes at data. Thread-safe. */
uint64_t pgcdc_avro_fingerprint64(const void *data, size_t len);

#endif
