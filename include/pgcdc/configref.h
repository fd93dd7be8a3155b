/*
 * configref.h - references to secrets kept outside the configuration file.
 *
 * A configuration value may hold references in Kafka Connect's
 * config-provider syntax, "${provider:[path:]key}", resolved once when the
 * value is set:
 *
 *     ${env:NAME}            the environment variable NAME (Kafka's
 *                            EnvVarConfigProvider; "${env::NAME}" alike)
 *     ${file:PATH:KEY}       KEY of the Java properties file PATH (Kafka's
 *                            FileConfigProvider)
 *     ${file:PATH}           the whole content of PATH, trailing line breaks
 *                            dropped (pgcdc's own: Kafka leaves it as is)
 *     ${directory:DIR:NAME}  the whole content of the regular file NAME in
 *                            DIR, as is (Kafka's DirectoryConfigProvider)
 *
 * A reference runs from "${" to the next "}"; the provider ends at its first
 * ':', the path at the next one. Anything else that looks like "${...}" (no
 * ':', as Debezium's "${routedByValue}", or another provider's name) is left
 * as written, as Kafka Connect leaves a variable of a provider it does not
 * know. A value may hold several references and text around them; what a
 * reference resolves to is not searched for further references. There is no
 * escape: a value cannot hold a literal "${env:...}".
 */
#ifndef PGCDC_CONFIGREF_H
#define PGCDC_CONFIGREF_H

#include <stddef.h>

/*
 * Resolves every reference in value. 0 with *out NULL when value holds none
 * (use it as is); 0 with *out a malloc'd resolved copy, which the caller
 * frees; or a negative errno with "reference '${...}': why" in err, never a
 * resolved value: -ENOENT (variable not set, file or key missing), -EACCES,
 * -EINVAL (a path where none is allowed, a NUL byte in a file, a file over
 * 1 MiB), -EIO, -ENOMEM.
 */
int pgcdc_configref_expand(const char *value, char **out /* OUT */, char *err, size_t errlen);

/* Looks key up in the Java properties text[0..len) (Properties.load()'s
 * syntax: '#'/'!' comments, '=', ':' or blanks between key and value, '\'
 * line continuations and escapes, \uXXXX). 0 with *out a malloc'd value;
 * -ENOENT when the key is absent; -ENOMEM. A key set twice keeps the later
 * value, as in Java. */
int pgcdc_configref_properties_get(const char *text, size_t len, const char *key,
                                   char **out /* OUT */);

#endif
