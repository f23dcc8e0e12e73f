/*
 * iobench: the whole-program I/O benchmark of bench/compare.sh.
 *
 *   iobench null N        N x write(fd, "x", 1) to /dev/null
 *   iobench file N PATH   N x write(fd, "x", 1) to the regular file PATH (created, truncated,
 *                         removed at the end; it grows to N bytes)
 *   iobench tasks         prints how many threads the process has (/proc/self/task entries)
 *
 * Before the timed loop, WARMUP untimed writes resolve lazy symbols and let a preload cache
 * what it caches (the real `write`, the descriptor's path and kind). The loop is timed with
 * clock_gettime(CLOCK_MONOTONIC). A failed write (an injected fault) is counted and the loop
 * goes on. One line is printed:
 *
 *   ns_per_call=137.4 calls=1000000 failed=10023 eio=10023 tasks=1
 *
 * `tasks` is counted after the loop: a preload that started a helper thread shows it there.
 * With N = 0 the program opens, warms up, counts tasks and exits: bench/compare.sh runs
 * N = 0 and N = 1000000 under callgrind and takes the difference, so that start-up, the
 * warm-up and the final printing cancel out.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 1000

static int count_tasks(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void usage(void) {
    fprintf(stderr, "usage: iobench null N | iobench file N PATH | iobench tasks\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage();
    }
    if (strcmp(argv[1], "tasks") == 0) {
        printf("tasks=%d\n", count_tasks());
        return 0;
    }
    if (argc < 3) {
        usage();
    }
    long n = strtol(argv[2], NULL, 10);
    const char *path;
    int fd;
    if (strcmp(argv[1], "null") == 0) {
        path = "/dev/null";
        fd = open(path, O_WRONLY);
    } else if (strcmp(argv[1], "file") == 0 && argc >= 4) {
        path = argv[3];
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    } else {
        usage();
        return 2;
    }
    if (fd < 0) {
        fprintf(stderr, "iobench: open %s: %s\n", path, strerror(errno));
        return 1;
    }

    static const char byte[1] = {'x'};
    long failed = 0, eio = 0;
    for (int i = 0; i < WARMUP; i++) {
        if (write(fd, byte, 1) != 1) {
            failed++;
        }
    }
    failed = 0;

    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (write(fd, byte, 1) != 1) {
            failed++;
            if (errno == EIO) {
                eio++;
            }
        }
    }
    double t1 = now_ns();

    int tasks = count_tasks();
    close(fd);
    if (strcmp(argv[1], "file") == 0) {
        unlink(path);
    }
    printf("ns_per_call=%.2f calls=%ld failed=%ld eio=%ld tasks=%d\n",
           n > 0 ? (t1 - t0) / (double)n : 0.0, n, failed, eio, tasks);
    return 0;
}
