/*
 * failinject.h — in-code fail points for C and C++ programs, on the same registry as the
 * libc rules of libfailinject.so.
 *
 *     #include "failinject.h"
 *
 *     int wal_append(struct wal *w, const void *rec, size_t n) {
 *         FAILINJECT_RETURN_ON("wal::append", -EIO);     // rule: wal::append=return
 *         FAILINJECT_POINT("wal::before_fsync");         // sleep, pause, kill, print, panic
 *         ...
 *     }
 *
 * Run the program under the preload with rules for the points:
 *
 *     FAILINJECT='wal::append=1*return; sys:fsync[path=*.wal]=error(EIO)' \
 *         LD_PRELOAD=libfailinject.so ./app
 *
 * Without the preload every macro is one test of a weak symbol's address and does nothing:
 * no library to link, the same binary runs with and without fault injection.
 *
 * THE ABI (version 1). libfailinject.so exports these functions; find them through the weak
 * declarations below (or dlsym(RTLD_DEFAULT, "failinject_v1_eval")). Their one definition is
 * failinject_engine::abi; a test holds these declarations to it:
 *
 *   int failinject_v1_eval(const char *name, const char **arg, size_t *arg_len);
 *       Evaluates the in-code point NAME and marks it reached (for `after=NAME` rules).
 *       Returns FAILINJECT_NONE (go ahead), FAILINJECT_RETURN (return early; arg and arg_len
 *       receive the value given as return(V), the pointer NULL when none), FAILINJECT_PANIC
 *       (abort with the message in *arg) or FAILINJECT_PRINT (log *arg, then go ahead). sleep,
 *       delay, yield, pause and kill happen inside the call. *arg is not NUL-terminated and
 *       stays valid for the life of the process.
 *   int failinject_v1_cfg(const char *rules, char *err, size_t err_len);
 *       Sets one or more rules (in-code or sys:), as in FAILINJECT; a rule with an existing
 *       key replaces it. 0 on success; -1 on a bad rule, with the reason in err.
 *   int failinject_v1_remove(const char *key);
 *       Removes the rule with this key (point[filters]): 1 removed, 0 none, -1 bad key.
 *   ssize_t failinject_v1_list(char *buf, size_t len);
 *       Writes "key\tactions\tmatches\tinjections\n" per rule; returns the full length.
 *   void failinject_v1_scope_enter(const char *name);
 *   void failinject_v1_scope_leave(const char *name);
 *       While inside, `within=NAME` rules apply to the calling thread.
 *   unsigned long long failinject_v1_generation(void);
 *       Changes whenever the rules change.
 *   unsigned long long failinject_v1_seed(void);
 *       The seed of every random choice.
 *   const unsigned long long *failinject_v1_generation_ptr(void);
 *       Where the generation lives: a caller may cache "no rule names this point" with the
 *       generation it saw, and skip evaluating until the number there changes.
 *   long long failinject_v1_lookup(const char *name, unsigned long long *generation);
 *       The point's index in the current configuration (-1: no rule names it) and that
 *       configuration's generation; marks the point reached.
 *   int failinject_v1_restore_launch(void);
 *       Makes the rules the launch configuration again (FAILINJECT, FAILINJECT_FILE,
 *       FAILPOINTS), each launch rule with its counters: a test scenario's teardown. 0 on
 *       success, -1 without a registry.
 *   int failinject_v1_eval_deferred(unsigned long long generation, unsigned index,
 *                                   const char *name, const char **arg, size_t *arg_len,
 *                                   unsigned long long *wait_ms, const void **pause);
 *       failinject_v1_eval_at that leaves sleep, delay, yield and pause to the caller (an
 *       event loop that must not block): FAILINJECT_SLEEP / FAILINJECT_DELAY with *wait_ms,
 *       FAILINJECT_YIELD, FAILINJECT_PAUSE with *pause.
 *   int failinject_v1_pause_done(const void *pause);
 *       1 once the rule of a FAILINJECT_PAUSE was replaced or removed: go on.
 *   unsigned long long failinject_v1_local_new(void);
 *   int failinject_v1_local_cfg(unsigned long long ctx, const char *rules, char *err,
 *                               size_t err_len);
 *   int failinject_v1_local_remove(unsigned long long ctx, const char *key);
 *   void failinject_v1_local_free(unsigned long long ctx);
 *   void failinject_v1_local_bind(unsigned long long ctx);
 *       Thread-scoped libc rules: a context of its own rules and counters, seen only by
 *       the threads bound to it (0: none), before the process-wide rules. powercut, kill,
 *       panic and lose act on the whole process and are refused there.
 *   int failinject_v1_eval_at(unsigned long long generation, unsigned index, const char *name,
 *                             const char **arg, size_t *arg_len);
 *       failinject_v1_eval without the name lookup while the generation still holds.
 */
#ifndef FAILINJECT_H
#define FAILINJECT_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAILINJECT_NONE 0
#define FAILINJECT_RETURN 1
#define FAILINJECT_PANIC 2
#define FAILINJECT_PRINT 3
#define FAILINJECT_SLEEP 4
#define FAILINJECT_DELAY 5
#define FAILINJECT_PAUSE 6
#define FAILINJECT_YIELD 7

int failinject_v1_eval(const char *name, const char **arg, size_t *arg_len) __attribute__((weak));
int failinject_v1_cfg(const char *rules, char *err, size_t err_len) __attribute__((weak));
int failinject_v1_remove(const char *key) __attribute__((weak));
ssize_t failinject_v1_list(char *buf, size_t len) __attribute__((weak));
void failinject_v1_scope_enter(const char *name) __attribute__((weak));
void failinject_v1_scope_leave(const char *name) __attribute__((weak));
unsigned long long failinject_v1_generation(void) __attribute__((weak));
unsigned long long failinject_v1_seed(void) __attribute__((weak));
const unsigned long long *failinject_v1_generation_ptr(void) __attribute__((weak));
long long failinject_v1_lookup(const char *name, unsigned long long *generation) __attribute__((weak));
int failinject_v1_eval_at(unsigned long long generation, unsigned index, const char *name,
                          const char **arg, size_t *arg_len) __attribute__((weak));
int failinject_v1_restore_launch(void) __attribute__((weak));
int failinject_v1_eval_deferred(unsigned long long generation, unsigned index, const char *name,
                                const char **arg, size_t *arg_len, unsigned long long *wait_ms,
                                const void **pause) __attribute__((weak));
int failinject_v1_pause_done(const void *pause) __attribute__((weak));
unsigned long long failinject_v1_local_new(void) __attribute__((weak));
int failinject_v1_local_cfg(unsigned long long ctx, const char *rules, char *err, size_t err_len)
    __attribute__((weak));
int failinject_v1_local_remove(unsigned long long ctx, const char *key) __attribute__((weak));
void failinject_v1_local_free(unsigned long long ctx) __attribute__((weak));
void failinject_v1_local_bind(unsigned long long ctx) __attribute__((weak));

/* Evaluates NAME; handles panic and print itself. Returns 1 when the point says "return". */
static inline int failinject_point_(const char *name) {
    const char *arg = NULL;
    size_t len = 0;
    if (!failinject_v1_eval)
        return 0;
    switch (failinject_v1_eval(name, &arg, &len)) {
    case FAILINJECT_RETURN:
        return 1;
    case FAILINJECT_PANIC:
        fprintf(stderr, "failinject: panic at %s: %.*s\n", name, (int)len, arg ? arg : "");
        abort();
    case FAILINJECT_PRINT:
        fprintf(stderr, "failinject: %s: %.*s\n", name, (int)len, arg ? arg : "");
        return 0;
    default:
        return 0;
    }
}

/* A fail point: sleep, pause, kill, print and panic take effect here; return is ignored. */
#define FAILINJECT_POINT(name) ((void)failinject_point_(name))

/* A fail point that makes the enclosing function return VALUE when its rule says return. */
#define FAILINJECT_RETURN_ON(name, value)                                                      \
    do {                                                                                       \
        if (failinject_point_(name))                                                           \
            return (value);                                                                    \
    } while (0)

/* Enters and leaves a scope: `within=NAME` rules apply to the thread in between. */
#define FAILINJECT_SCOPE_ENTER(name)                                                           \
    do {                                                                                       \
        if (failinject_v1_scope_enter)                                                         \
            failinject_v1_scope_enter(name);                                                   \
    } while (0)
#define FAILINJECT_SCOPE_LEAVE(name)                                                           \
    do {                                                                                       \
        if (failinject_v1_scope_leave)                                                         \
            failinject_v1_scope_leave(name);                                                   \
    } while (0)

/* Sets rules from inside the program: 0 on success, -1 on a bad rule or without the
 * preload (the reason goes to err when given). */
static inline int failinject_cfg(const char *rules, char *err, size_t err_len) {
    if (!failinject_v1_cfg) {
        if (err && err_len)
            snprintf(err, err_len, "libfailinject.so is not loaded");
        return -1;
    }
    return failinject_v1_cfg(rules, err, err_len);
}

#ifdef __cplusplus
}
#endif

#endif /* FAILINJECT_H */
