/* test_skip.h - skipping a cmocka test with a reason.
 *
 * cmocka's skip() takes no message, and in TAP mode prints a skipped test as
 * `not ok N # SKIP name`.  test_skip() first prints `# skip: name: reason`,
 * which tests/run.sh shows next to the skip (it counts the test as skipped,
 * never passed or failed).  A test that cannot run on this CPU names the
 * missing feature in its reason ("CPU lacks avx512bf16"). */
#ifndef EMBEDLAB_TEST_SKIP_H
#define EMBEDLAB_TEST_SKIP_H

#include <stdarg.h>
#include <stdio.h>

__attribute__((unused, format(printf, 3, 4)))
static void test_skip_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fputs("# skip: ", stdout);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    _skip(file, line);
}
/* Use as: test_skip("CPU lacks %s", "avx512bf16"); return; */
#define test_skip(...) test_skip_at(__FILE__, __LINE__, __VA_ARGS__)

#endif
