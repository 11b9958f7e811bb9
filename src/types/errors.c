/*
 * errors.c — the heap's error slot: the code of the last failure
 * (rc_last_error), its message, and the runtime's own exception object.
 *
 * Calls only rc_incref/rc_decref (for the exception) and vsnprintf.  Every
 * library file records failures through rci_fail or, with a message,
 * rc_error_setf / rci_failf_null.
 *
 * Recording a failure never allocates and never runs user code: the
 * message is formatted into a fixed buffer in the heap (truncated to
 * RCI_ERROR_MSG - 1 bytes), and the exception object is not released but
 * only marked as describing an older failure (exception_of != error).  It is
 * released when it is replaced (rc_error_raise), by rc_clear_error, and at
 * rc_heap_free, so a finalizer it runs sees a heap between calls.  A few
 * layers below the types (allocator, collector, weak references) store
 * their code without a message: rc_error_message then gives the code's
 * own text, as it does after rci_fail.
 *
 * The exception is held by a plain strong reference: the collector treats
 * an object referenced from outside the heap's objects as a root (its
 * refcount exceeds the references it finds), so it stays alive, with
 * everything it references, until released.
 */
#include "types.h"

#include <stdarg.h>

/* Record err with a message formatted from fmt/ap ("" when fmt is NULL),
   and no exception. */
static void record(rc_heap *h, rc_error err, const char *fmt, va_list ap)
{
    h->error = h->msg_of = err;
    h->exception_of = RC_OK;
    h->error_msg[0] = '\0';
    if (fmt && vsnprintf(h->error_msg, sizeof h->error_msg, fmt, ap) < 0)
        h->error_msg[0] = '\0';
}

int rci_fail(rc_heap *h, rc_error err)
{
    h->error = h->msg_of = err;
    h->exception_of = RC_OK;
    h->error_msg[0] = '\0';
    return -1;
}

void *rci_fail_null(rc_heap *h, rc_error err)
{
    rci_fail(h, err);
    return NULL;
}

void *rci_failf_null(rc_heap *h, rc_error err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(h, err, fmt, ap);
    va_end(ap);
    return NULL;
}

rc_error rc_last_error(const rc_heap *h)
{
    return h->error;
}

void rci_error_release(rc_heap *h)
{
    void *exc = h->exception;
    h->exception = NULL;
    rc_decref(exc); /* last: its finalizer may record errors of its own */
}

void rc_clear_error(rc_heap *h)
{
    h->error = h->msg_of = h->exception_of = RC_OK;
    h->error_msg[0] = '\0';
    rci_error_release(h);
}

int rc_error_set(rc_heap *h, rc_error err)
{
    return rci_fail(h, err);
}

int rc_error_setf(rc_heap *h, rc_error err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(h, err, fmt, ap);
    va_end(ap);
    return -1;
}

int rc_error_raise(rc_heap *h, rc_error err, void *exc, const char *fmt, ...)
{
    if (exc && rci_heap_of(exc) != h)
        return rci_foreign(h, "rc_error_raise", exc);
    void *old = h->exception;
    rc_incref(exc);
    h->exception = NULL;
    va_list ap;
    va_start(ap, fmt);
    record(h, err, fmt, ap);
    va_end(ap);
    h->exception = exc;
    h->exception_of = exc ? err : RC_OK;
    rc_decref(old); /* after the slot is whole: its finalizer may fail calls */
    return -1;
}

void *rc_error_exception(const rc_heap *h)
{
    return h->error != RC_OK && h->exception_of == h->error ? h->exception : NULL;
}

void *rc_error_take(rc_heap *h, rc_error *err)
{
    void *exc = rc_error_exception(h);
    if (err)
        *err = h->error;
    if (exc)
        h->exception = NULL; /* the heap's reference is the caller's now */
    rc_clear_error(h);
    return exc;
}

/* Each code's name and the text rc_error_message gives when the failure
   came without a message. */
static const struct {
    const char *name, *text;
} codes[] = {
    {"RC_OK", ""},
    {"RC_ENOMEM", "out of memory"},
    {"RC_EUNHASHABLE", "unhashable object"},
    {"RC_ETYPE", "wrong type"},
    {"RC_EINDEX", "index out of range"},
    {"RC_EKEY", "key not found"},
    {"RC_EMUTATED", "container changed during the operation"},
    {"RC_EOVERFLOW", "size or value too large"},
    {"RC_EVALUE", "bad value"},
    {"RC_EFOREIGN", "object of another heap"},
};

const char *rc_error_name(rc_error e)
{
    return (unsigned)e < sizeof codes / sizeof *codes ? codes[e].name : "RC_E?";
}

const char *rc_error_message(const rc_heap *h)
{
    if (h->msg_of == h->error && h->error_msg[0])
        return h->error_msg;
    return (unsigned)h->error < sizeof codes / sizeof *codes ? codes[h->error].text : "";
}
