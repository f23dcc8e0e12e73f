/*
 * The printf family's `...` entry points, which stable Rust cannot define.
 *
 * Each shim gathers its arguments into a va_list and calls the matching va_list function:
 * fprintf(s, f, ...) is exactly vfprintf(s, f, ap). The call goes through the PLT, so it
 * reaches our own exported wrapper (the preload comes first in the lookup order), which
 * decides for the same point (`sys:fprintf`, `sys:printf`, `sys:dprintf`) and calls libc.
 *
 * The shims are hidden; the exported names are Rust naked functions in `wrappers.rs` that
 * jump here with every register and stack argument untouched.
 */
#include <stdarg.h>
#include <stdio.h>

int __vfprintf_chk(FILE *stream, int flag, const char *format, va_list ap);
int __vprintf_chk(int flag, const char *format, va_list ap);
int __vdprintf_chk(int fd, int flag, const char *format, va_list ap);

#define SHIM(name, params, last, call)                                                     \
    int failinject_shim_##name params {                                                    \
        va_list ap;                                                                        \
        va_start(ap, last);                                                                \
        int r = call;                                                                      \
        va_end(ap);                                                                        \
        return r;                                                                          \
    }

SHIM(fprintf, (FILE *stream, const char *format, ...), format, vfprintf(stream, format, ap))
SHIM(_IO_fprintf, (FILE *stream, const char *format, ...), format, vfprintf(stream, format, ap))
SHIM(__fprintf_chk, (FILE *stream, int flag, const char *format, ...), format,
     __vfprintf_chk(stream, flag, format, ap))
SHIM(printf, (const char *format, ...), format, vprintf(format, ap))
SHIM(_IO_printf, (const char *format, ...), format, vprintf(format, ap))
SHIM(__printf_chk, (int flag, const char *format, ...), format, __vprintf_chk(flag, format, ap))
SHIM(dprintf, (int fd, const char *format, ...), format, vdprintf(fd, format, ap))
SHIM(__dprintf_chk, (int fd, int flag, const char *format, ...), format,
     __vdprintf_chk(fd, flag, format, ap))
