/*
 * hex.h - the value of a hexadecimal digit, for the parsers that read
 * LSNs, bytea's hex format and percent-encoded URIs.
 */
#ifndef PGCDC_HEX_H
#define PGCDC_HEX_H

/* 0 to 15 for [0-9a-fA-F], else -1. */
static inline int pgcdc_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
