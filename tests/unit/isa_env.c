/* isa_env.c - linked into every unit test and benchmark program: caps the
 * ISA level of the engine's kernels from EMBEDLAB_ISA before main runs, as
 * the embedlab front end does (the engine never reads the environment), so
 * `EMBEDLAB_ISA=baseline make test` runs the whole suite on the portable
 * kernels.  A bad value stops the program with exit status 2. */
#include <stdio.h>
#include <stdlib.h>

#include "cpu.h"

__attribute__((constructor)) static void isa_env_apply(void)
{
    const char *s = getenv("EMBEDLAB_ISA");
    cpu_level l;
    err e;

    if (!s || !*s)
        return;
    if (cpu_level_parse(s, &l, &e) < 0) {
        fprintf(stderr, "EMBEDLAB_ISA: %s\n", e.msg);
        exit(2);
    }
    cpu_set_cap(l);
}
