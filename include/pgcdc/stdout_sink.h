/*
 * stdout_sink.h - events as JSON lines on a file descriptor (stdout).
 *
 * Each event becomes one line {"topic":T,"key":K,"value":V}, where K and V
 * are the encoder's JSON text (null for no key or a tombstone). Lines are
 * gathered in a buffer and written with write(2) by a thread of the sink's
 * own, so a slow reader never holds up the loop; an event counts as
 * delivered once its line has been written in full, so pgcdc never confirms
 * an LSN whose events are still in its own memory. The sink's descriptor
 * (an eventfd) becomes readable when a write is done.
 */
#ifndef PGCDC_STDOUT_SINK_H
#define PGCDC_STDOUT_SINK_H

#include <stddef.h>

#include "pgcdc/sink.h"

/* A sink writing to fd (not closed by free); max_in_flight bounds the events
 * buffered before produce answers -EAGAIN. */
int pgcdc_stdout_sink_new(struct pgcdc_sink **out /* OUT */, int fd, size_t max_in_flight,
                          pgcdc_sink_delivery_fn on_delivery, void *arg, char *err, size_t errlen);

#endif
