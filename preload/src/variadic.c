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

/* Declared here rather than taken from <stdio.h>: with optimization, glibc's header defines
 * vprintf as an inline vfprintf(stdout, ...), and printf would then be decided as
 * `sys:fprintf`, never as `sys:printf`. Each shim must call the very function it names. */
typedef struct _IO_FILE FILE;
int vfprintf(FILE *stream, const char *format, va_list ap);
int vprintf(const char *format, va_list ap);
int vdprintf(int fd, const char *format, va_list ap);

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

/*
 * The exec family's list forms: the arguments up to the terminating NULL become an argv
 * array on the stack, and the call goes to the vector form (our wrapper), exactly as glibc's
 * own execl does.
 */
#include <unistd.h>

static size_t count_args(const char *arg, va_list ap) {
    size_t n = 0;
    if (arg == NULL)
        return 0;
    n = 1;
    while (va_arg(ap, const char *) != NULL)
        n++;
    return n;
}

#define EXEC_LIST(name, call, with_env)                                                    \
    int failinject_shim_##name(const char *path, const char *arg, ...) {                   \
        va_list ap, count;                                                                 \
        va_start(ap, arg);                                                                 \
        va_copy(count, ap);                                                                \
        size_t n = count_args(arg, count);                                                 \
        va_end(count);                                                                     \
        const char *argv[n + 1];                                                           \
        argv[0] = arg;                                                                     \
        for (size_t i = 1; i < n; i++)                                                     \
            argv[i] = va_arg(ap, const char *);                                            \
        argv[n] = NULL;                                                                    \
        char *const *envp = NULL;                                                          \
        if (with_env) {                                                                    \
            if (n > 0)                                                                     \
                (void)va_arg(ap, const char *); /* the terminating NULL */                 \
            envp = va_arg(ap, char *const *);                                              \
        }                                                                                  \
        va_end(ap);                                                                        \
        (void)envp;                                                                        \
        return call;                                                                       \
    }

EXEC_LIST(execl, execv(path, (char *const *)argv), 0)
EXEC_LIST(execlp, execvp(path, (char *const *)argv), 0)
EXEC_LIST(execle, execve(path, (char *const *)argv, envp), 1)
