/* tui_raster.c - pure Braille canvas for the embedding map (tui_map.c
 * draws it).  Each terminal cell holds 2 x 4 dots, the U+2800 block: dot
 * (col, row) sets bit  row<3 ? col*3+row : 6+col  of the code point's low
 * byte (the Unicode Braille numbering 1-8).  No curses here, so the unit
 * test #includes this file as it does tui_model.c.
 */
#include "tui.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

int tui_canvas_init(tui_canvas *c, int w, int h)
{
    memset(c, 0, sizeof *c);
    if (w < 1 || h < 1)
        return -ERR_RANGE;
    c->bits = mem_calloc((size_t)w * (size_t)h, 1);
    c->cat = mem_array((size_t)w * (size_t)h, sizeof *c->cat);
    if (!c->bits || !c->cat) {
        tui_canvas_done(c);
        return -ERR_NOMEM;
    }
    c->w = w;
    c->h = h;
    tui_canvas_clear(c);
    return 0;
}

void tui_canvas_done(tui_canvas *c)
{
    mem_free(c->bits);
    mem_free(c->cat);
    memset(c, 0, sizeof *c);
}

void tui_canvas_clear(tui_canvas *c)
{
    size_t n = (size_t)c->w * (size_t)c->h;
    memset(c->bits, 0, n);
    for (size_t i = 0; i < n; i++)
        c->cat[i] = -1;
}

int tui_canvas_plot(tui_canvas *c, double fx, double fy, int cat)
{
    static const unsigned char bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20},
                                            {0x40, 0x80}};
    if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1))   /* also rejects NaN */
        return -1;
    int dx = (int)(fx * (c->w * 2 - 1) + 0.5), dy = (int)(fy * (c->h * 4 - 1) + 0.5);
    int i = (dy / 4) * c->w + dx / 2;
    c->bits[i] |= bit[dy % 4][dx % 2];
    c->cat[i] = (short)cat;
    return i;
}

int tui_canvas_cell(const tui_canvas *c, int i, char out[4])
{
    unsigned m = c->bits[i];
    if (!m) {
        out[0] = ' ';
        out[1] = '\0';
        return 0;
    }
    unsigned cp = 0x2800 + m;   /* three-byte UTF-8: 1110xxxx 10xxxxxx 10xxxxxx */
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    out[3] = '\0';
    return (int)m;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void tui_bounds(const float *xy, size_t n, double trim, double box[4])
{
    box[0] = box[1] = -1;
    box[2] = box[3] = 1;
    if (n == 0)
        return;
    float *tmp = mem_array(n, sizeof *tmp);
    if (!tmp)
        return;
    for (int axis = 0; axis < 2; axis++) {
        for (size_t i = 0; i < n; i++)
            tmp[i] = xy[2 * i + (size_t)axis];
        qsort(tmp, n, sizeof *tmp, cmp_float);
        size_t cut = (size_t)(trim * (double)n);
        if (2 * cut >= n)
            cut = 0;
        double lo = tmp[cut], hi = tmp[n - 1 - cut];
        if (hi - lo < 1e-12) {   /* all equal: a unit box around them */
            lo -= 0.5;
            hi += 0.5;
        }
        box[axis] = lo;
        box[2 + axis] = hi;
    }
    mem_free(tmp);
}
