/* wordpiece.c - BERT BasicTokenizer + WordPiece (see wordpiece.h).
 *
 * Follows HuggingFace transformers tokenization_bert.py step by step, on
 * codepoints, with utf8proc for categories, case mapping and normalisation.
 * The vocabulary is one arena of NUL-terminated token strings (id -> token)
 * and an hmap (token -> id).
 * Python's str.lower() is full case mapping: the two places where it differs
 * from simple mapping in practice (U+0130 -> "i\u0307", final sigma) are
 * handled explicitly.
 * Special tokens in the text are split out first, the way the HF fast
 * tokenizer (tokenizers' AddedVocabulary) handles non-normalized added
 * tokens: leftmost-longest exact match on the raw text, the pieces between
 * them tokenized separately.  There are few of them, so the match is a scan
 * with a first-byte filter rather than an Aho-Corasick automaton.
 */
#include "wordpiece.h"

#include "hmap.h"
#include "mem.h"
#include "uni.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

/* HF BertTokenizer: max_input_chars_per_word=100 */
#define WP_MAX_WORD_CHARS 100

typedef struct wp_special {
    char *text;          /* owned, NUL-terminated */
    size_t len;
    int32_t id;
} wp_special;

struct wp_tokenizer {
    size_t n;            /* vocabulary size */
    char *arena;         /* all tokens, NUL-terminated */
    size_t *off;         /* n offsets into arena */
    size_t *len;         /* n byte lengths */
    hmap ids;            /* token -> id */
    int32_t cls, sep, unk;
    int lower, strip, chinese, lower_text;
    size_t max_len;
    wp_special *sp;      /* special tokens split out of the text */
    size_t n_sp, cap_sp;
    uint8_t sp_first[32];   /* bitmap of the specials' first bytes */
};

/* Normalizer options read from tokenizer.json (-1: not given). */
typedef struct wp_json_norm {
    int lower, strip, chinese;
} wp_json_norm;

/* The special tokens of HF BertTokenizer (unk, sep, pad, cls, mask). */
static const char *const wp_default_specials[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

wp_opts wp_opts_default(void)
{
    wp_opts o = {.lower = -1, .strip_accents = -1, .chinese = -1, .lower_text = 0,
                 .max_len = 512, .specials = NULL, .n_specials = 0};
    return o;
}

int32_t wp_lookup(const wp_tokenizer *t, const char *tok, size_t len)
{
    const int64_t *id = hmap_get_str(&t->ids, tok, len);
    return id ? (int32_t)*id : -1;
}

size_t wp_vocab_size(const wp_tokenizer *t) { return t->n; }
size_t wp_max_len(const wp_tokenizer *t) { return t->max_len; }
void wp_set_max_len(wp_tokenizer *t, size_t max_len) { t->max_len = max_len < 2 ? 2 : max_len; }
int wp_lowercases(const wp_tokenizer *t) { return t->lower; }
int wp_strips_accents(const wp_tokenizer *t) { return t->strip; }
int wp_splits_chinese(const wp_tokenizer *t) { return t->chinese; }
size_t wp_n_specials(const wp_tokenizer *t) { return t->n_sp; }
int32_t wp_cls(const wp_tokenizer *t) { return t->cls; }
int32_t wp_sep(const wp_tokenizer *t) { return t->sep; }
int32_t wp_unk(const wp_tokenizer *t) { return t->unk; }

const char *wp_token(const wp_tokenizer *t, int32_t id)
{
    return id >= 0 && (size_t)id < t->n ? t->arena + t->off[id] : NULL;
}

void wp_free(wp_tokenizer *t)
{
    if (!t)
        return;
    mem_free(t->arena);
    mem_free(t->off);
    mem_free(t->len);
    hmap_done(&t->ids);
    for (size_t i = 0; i < t->n_sp; i++)
        mem_free(t->sp[i].text);
    mem_free(t->sp);
    mem_free(t);
}

/* Adds a special token (text[0..len) -> id) unless it is empty, its id is
 * outside the vocabulary or the same text is already there. */
static int add_special(wp_tokenizer *t, const char *text, size_t len, int32_t id, err *e)
{
    unsigned char b;
    if (len == 0 || id < 0 || (size_t)id >= t->n)
        return 0;
    for (size_t i = 0; i < t->n_sp; i++)
        if (t->sp[i].len == len && memcmp(t->sp[i].text, text, len) == 0)
            return 0;
    if (mem_grow(&t->sp, &t->cap_sp, t->n_sp + 1, sizeof *t->sp) != 0 ||
        !(t->sp[t->n_sp].text = mem_strndup(text, len)))
        return err_set(e, ERR_NOMEM, "out of memory for the special tokens");
    t->sp[t->n_sp].len = len;
    t->sp[t->n_sp].id = id;
    t->n_sp++;
    b = (unsigned char)text[0];
    t->sp_first[b >> 3] |= (uint8_t)(1u << (b & 7));
    return 0;
}

/* Builds the token -> id map from the n tokens already in t->arena; src
 * names the vocabulary's file for errors. */
static int build_table(wp_tokenizer *t, const char *src, err *e)
{
    size_t bytes = 0;
    for (size_t id = 0; id < t->n; id++)
        bytes += t->len[id];
    if (hmap_reserve_str(&t->ids, t->n, bytes) < 0)
        return err_set(e, ERR_NOMEM, "%s: out of memory for the vocabulary", src);
    for (size_t id = 0; id < t->n; id++) {
        const char *s = t->arena + t->off[id];
        int added;
        int64_t *v = hmap_add_str(&t->ids, s, t->len[id], (int64_t)id, &added);
        if (!v)
            return err_set(e, ERR_NOMEM, "%s: out of memory for the vocabulary", src);
        if (!added)
            return err_set(e, ERR_PARSE, "%s: token '%s' appears twice (ids %lld and %zu)",
                           src, s, (long long)*v, id);
    }
    t->cls = wp_lookup(t, "[CLS]", 5);
    t->sep = wp_lookup(t, "[SEP]", 5);
    t->unk = wp_lookup(t, "[UNK]", 5);
    if (t->cls < 0 || t->sep < 0 || t->unk < 0)
        return err_set(e, ERR_PARSE, "%s: vocabulary lacks %s", src,
                       t->unk < 0 ? "[UNK]" : t->cls < 0 ? "[CLS]" : "[SEP]");
    return 0;
}

/* Settles the options (o's explicit values, else tokenizer.json's, else
 * HF's defaults) and adds o's special tokens (or the default five). */
static int apply_opts(wp_tokenizer *t, const wp_opts *o, const wp_json_norm *jn, err *e)
{
    wp_opts d = wp_opts_default();
    const char *const *sp;
    size_t n_sp;

    if (!o)
        o = &d;
    t->lower = o->lower >= 0 ? (o->lower != 0) : (jn->lower >= 0 ? jn->lower : 1);
    t->strip = o->strip_accents >= 0 ? (o->strip_accents != 0)
               : jn->strip >= 0      ? jn->strip
                                     : t->lower;
    t->chinese = o->chinese >= 0 ? (o->chinese != 0) : (jn->chinese >= 0 ? jn->chinese : 1);
    t->lower_text = o->lower_text;
    wp_set_max_len(t, o->max_len ? o->max_len : 512);
    sp = o->specials ? o->specials : wp_default_specials;
    n_sp = o->specials ? o->n_specials : sizeof wp_default_specials / sizeof *wp_default_specials;
    for (size_t i = 0; i < n_sp; i++) {
        size_t len = sp[i] ? strlen(sp[i]) : 0;
        if (len && add_special(t, sp[i], len, wp_lookup(t, sp[i], len), e) != 0)
            return -ERR_NOMEM;
    }
    return 0;
}

/* Allocates t's arrays for n tokens with `bytes` of text in total. */
static int alloc_vocab(wp_tokenizer *t, size_t n, size_t bytes, const char *src, err *e)
{
    t->arena = mem_alloc(bytes + n + 1);
    t->off = mem_array(n ? n : 1, sizeof *t->off);
    t->len = mem_array(n ? n : 1, sizeof *t->len);
    if (!t->arena || !t->off || !t->len)
        return err_set(e, ERR_NOMEM, "%s: out of memory for %zu tokens", src, n);
    return 0;
}

wp_tokenizer *wp_from_tokens(const char *const *tokens, size_t n, const wp_opts *o, err *e)
{
    wp_tokenizer *t = mem_calloc(1, sizeof *t);
    size_t bytes = 0, pos = 0;

    if (!t) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (n == 0 || n > INT32_MAX) {
        err_set(e, ERR_PARSE, "vocabulary: %zu tokens", n);
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        bytes += strlen(tokens[i]);
    if (alloc_vocab(t, n, bytes, "vocabulary", e) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(tokens[i]);
        memcpy(t->arena + pos, tokens[i], l + 1);
        t->off[i] = pos;
        t->len[i] = l;
        pos += l + 1;
    }
    t->n = n;
    if (build_table(t, "vocabulary", e) != 0 || apply_opts(t, o, &(wp_json_norm){-1, -1, -1}, e) != 0)
        goto fail;
    return t;
fail:
    wp_free(t);
    return NULL;
}

static int read_file(const char *path, char **out, size_t *len_out, err *e)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0;

    if (!f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path, strerror(errno));
    for (;;) {
        if (mem_grow(&buf, &cap, len + 65536 + 1, 1) != 0) {
            fclose(f);
            mem_free(buf);
            return err_set(e, ERR_NOMEM, "%s: out of memory", path);
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        fclose(f);
        mem_free(buf);
        return err_set(e, ERR_IO, "%s: read error", path);
    }
    fclose(f);
    buf[len] = '\0';
    *out = buf;
    *len_out = len;
    return 0;
}

static int load_txt(wp_tokenizer *t, const char *path, char *buf, size_t len, err *e)
{
    size_t n = 0, pos = 0, line = 0;

    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\n';
    if (len && buf[len - 1] != '\n')
        n++;
    if (n == 0 || n > INT32_MAX)
        return err_set(e, ERR_PARSE, "%s: empty vocabulary", path);
    if (alloc_vocab(t, n, len, path, e) != 0)
        return -ERR_NOMEM;
    for (size_t i = 0; i < len; line++) {
        size_t j = i;
        while (j < len && buf[j] != '\n')
            j++;
        size_t l = j - i;
        /* HF strips only "\n"; a CRLF file would never match anything there,
         * so we also drop one trailing "\r". */
        if (l && buf[i + l - 1] == '\r')
            l--;
        if (memchr(buf + i, '\0', l))
            return err_set(e, ERR_PARSE, "%s:%zu: NUL byte in token", path, line + 1);
        memcpy(t->arena + pos, buf + i, l);
        t->arena[pos + l] = '\0';
        t->off[line] = pos;
        t->len[line] = l;
        pos += l + 1;
        i = j + 1;
    }
    t->n = n;
    return 0;
}

/* A BertNormalizer boolean: 1/0, or -1 when absent or null. */
static int json_flag(const cJSON *norm, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(norm, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) != 0 : -1;
}

/* tokenizer.json's added_tokens: [{"id", "content", "normalized",
 * "single_word", ...}].  Only non-normalized, not single-word ones are
 * matched on the raw text (see wordpiece.h). */
static int load_added(wp_tokenizer *t, const char *path, const cJSON *added, err *e)
{
    const cJSON *a;
    size_t i = 0;

    if (!added)
        return 0;
    if (!cJSON_IsArray(added))
        return err_set(e, ERR_PARSE, "%s: added_tokens must be an array", path);
    cJSON_ArrayForEach(a, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(content) || id->valuedouble != (double)id->valueint)
            return err_set(e, ERR_PARSE, "%s: added_tokens[%zu] needs an integer id and a content",
                           path, i);
        if (json_flag(a, "normalized") != 1 && json_flag(a, "single_word") != 1 &&
            add_special(t, content->valuestring, strlen(content->valuestring), id->valueint, e))
            return -ERR_NOMEM;
        i++;
    }
    return 0;
}

static int load_json(wp_tokenizer *t, const char *path, const char *buf, size_t len,
                     wp_json_norm *jn, err *e)
{
    cJSON *root = cJSON_ParseWithLength(buf, len);
    const cJSON *model, *vocab, *norm;
    size_t n = 0, bytes = 0, pos = 0;
    int rc = 0;

    jn->lower = jn->strip = jn->chinese = -1;
    if (!root)
        return err_set(e, ERR_PARSE, "%s: not valid JSON", path);
    model = cJSON_GetObjectItemCaseSensitive(root, "model");
    vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) {
        rc = err_set(e, ERR_PARSE, "%s: no model.vocab object (not a WordPiece tokenizer.json?)", path);
        goto out;
    }
    norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (cJSON_IsObject(norm)) {
        jn->lower = json_flag(norm, "lowercase");
        jn->strip = json_flag(norm, "strip_accents");
        jn->chinese = json_flag(norm, "handle_chinese_chars");
    }
    for (const cJSON *c = vocab->child; c; c = c->next) {
        n++;
        bytes += strlen(c->string);
    }
    if (n == 0 || n > INT32_MAX) {
        rc = err_set(e, ERR_PARSE, "%s: empty model.vocab", path);
        goto out;
    }
    if ((rc = alloc_vocab(t, n, bytes, path, e)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        t->len[i] = SIZE_MAX;   /* marks an id not yet seen */
    for (const cJSON *c = vocab->child; c; c = c->next) {
        double v = cJSON_IsNumber(c) ? c->valuedouble : -1;
        size_t id, l = strlen(c->string);
        if (!(v >= 0 && v < (double)n && v == (double)(size_t)v)) {
            rc = err_set(e, ERR_PARSE, "%s: model.vocab['%s']: id must be an integer in [0, %zu)",
                         path, c->string, n);
            goto out;
        }
        id = (size_t)v;
        if (t->len[id] != SIZE_MAX) {
            rc = err_set(e, ERR_PARSE, "%s: model.vocab: id %zu used by '%s' and '%s'", path, id,
                         t->arena + t->off[id], c->string);
            goto out;
        }
        memcpy(t->arena + pos, c->string, l + 1);
        t->off[id] = pos;
        t->len[id] = l;
        pos += l + 1;
    }
    t->n = n;
    rc = load_added(t, path, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), e);
out:
    cJSON_Delete(root);
    return rc;
}

wp_tokenizer *wp_load(const char *path, const wp_opts *o, err *e)
{
    wp_tokenizer *t = mem_calloc(1, sizeof *t);
    char *buf = NULL;
    size_t len = 0, pl = strlen(path);
    wp_json_norm jn = {-1, -1, -1};

    if (!t) {
        err_set(e, ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (read_file(path, &buf, &len, e) != 0)
        goto fail;
    if (pl >= 5 && strcmp(path + pl - 5, ".json") == 0) {
        if (load_json(t, path, buf, len, &jn, e) != 0)
            goto fail;
    } else if (load_txt(t, path, buf, len, e) != 0) {
        goto fail;
    }
    if (build_table(t, path, e) != 0 || apply_opts(t, o, &jn, e) != 0)
        goto fail;
    mem_free(buf);
    return t;
fail:
    mem_free(buf);
    wp_free(t);
    return NULL;
}

/* ---- character classes (tokenization_bert.py) -------------------------- */

static int is_ws(int32_t c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return 1;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

static int is_control(int32_t c)
{
    utf8proc_category_t k;
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    k = utf8proc_category(c);
    /* Python's category "C*": Cc Cf Cs Co Cn (unassigned). */
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CS ||
           k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CN;
}

static int is_punct(int32_t c)
{
    utf8proc_category_t k;
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* Python's str.split() also splits on line/paragraph separators, which
 * survive cleaning (they are Zl/Zp, neither control nor Zs). */
static int is_split(int32_t c) { return c == ' ' || c == 0x2028 || c == 0x2029; }

static int is_cased(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

static int is_case_ignorable(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK || c == '\'' || c == '.' ||
           c == ':' || c == 0xB7 || c == 0x2019;
}

/* ---- encoding ----------------------------------------------------------- */

typedef struct wp_scratch {
    int32_t *a, *b;      /* codepoint buffers, cap_cp each */
    size_t cap_cp;
    char *u8;            /* UTF-8 work buffer, cap_u8 */
    size_t cap_u8;
    int32_t *piece;      /* ids of one word */
} wp_scratch;

/* Lowercases tok[0..n) into out (at most 2n codepoints); returns the count. */
static size_t lower_token(const int32_t *tok, size_t n, int32_t *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = tok[i];
        if (c == 0x130) {               /* LATIN CAPITAL I WITH DOT ABOVE */
            out[m++] = 'i';
            out[m++] = 0x307;
        } else if (c == 0x3A3) {        /* Final_Sigma rule of SpecialCasing */
            int before = 0, after = 0;
            for (size_t j = i; j-- > 0;)
                if (!is_case_ignorable(tok[j])) {
                    before = is_cased(tok[j]);
                    break;
                }
            for (size_t j = i + 1; j < n; j++)
                if (!is_case_ignorable(tok[j])) {
                    after = is_cased(tok[j]);
                    break;
                }
            out[m++] = before && !after ? 0x3C2 : 0x3C3;
        } else {
            out[m++] = utf8proc_tolower(c);
        }
    }
    return m;
}

/* NFD then drop nonspacing marks, from in[0..n) to out; returns the count.
 * Per-character decomposition is enough: canonical reordering only moves
 * marks with nonzero combining class, which are all dropped here. */
static size_t strip_accents(const int32_t *in, size_t n, int32_t *out, size_t cap)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        utf8proc_int32_t d[32];
        int bound = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char(in[i], d, 32, UTF8PROC_DECOMPOSE, &bound);
        if (k < 0 || k > 32) {
            d[0] = in[i];
            k = 1;
        }
        for (utf8proc_ssize_t j = 0; j < k; j++)
            if (utf8proc_category(d[j]) != UTF8PROC_CATEGORY_MN && m < cap)
                out[m++] = d[j];
    }
    return m;
}

/* Greedy longest-match WordPiece of w[0..n); appends ids to out (room for
 * `room`); returns the number appended. */
static size_t wordpiece(const wp_tokenizer *t, wp_scratch *s, const int32_t *w, size_t n,
                        int32_t *out, size_t room)
{
    size_t off[WP_MAX_WORD_CHARS + 1], bytes = 2, k = 0, start = 0;
    char *buf = s->u8;

    if (room == 0)
        return 0;
    if (n > WP_MAX_WORD_CHARS) {
        out[0] = t->unk;
        return 1;
    }
    /* buf = "##" + utf8(w); off[i] is the byte offset of char i */
    buf[0] = buf[1] = '#';
    for (size_t i = 0; i < n; i++) {
        off[i] = bytes;
        bytes += (size_t)utf8proc_encode_char(w[i], (utf8proc_uint8_t *)buf + bytes);
    }
    off[n] = bytes;
    while (start < n) {
        int32_t id = -1;
        size_t end = n;
        /* "##" goes right before char `start`: it overwrites bytes of
         * chars already consumed, which are never read again */
        if (start > 0)
            buf[off[start] - 2] = buf[off[start] - 1] = '#';
        for (; end > start; end--) {
            if (start == 0)
                id = wp_lookup(t, buf + 2, off[end] - 2);
            else
                id = wp_lookup(t, buf + off[start] - 2, off[end] - off[start] + 2);
            if (id >= 0)
                break;
        }
        if (id < 0) {                   /* the whole word becomes [UNK] */
            out[0] = t->unk;
            return 1;
        }
        s->piece[k++] = id;
        start = end;
    }
    if (k > room)
        k = room;
    memcpy(out, s->piece, k * sizeof *out);
    return k;
}

static int scratch_init(wp_scratch *s, size_t n_bytes)
{
    /* cleaning: each char may get 2 spaces; NFC output <= 3x input (utf8proc
     * canonical decomposition bound); lowercase <= 2x: size generously */
    s->cap_cp = 6 * n_bytes + 16;
    s->a = mem_array(s->cap_cp, sizeof *s->a);
    s->b = mem_array(s->cap_cp, sizeof *s->b);
    s->cap_u8 = 4 * s->cap_cp + 8;
    s->u8 = mem_alloc(s->cap_u8);
    s->piece = mem_array(WP_MAX_WORD_CHARS + 1, sizeof *s->piece);
    return s->a && s->b && s->u8 && s->piece ? 0 : -ERR_NOMEM;
}

static void scratch_done(wp_scratch *s)
{
    mem_free(s->a);
    mem_free(s->b);
    mem_free(s->u8);
    mem_free(s->piece);
}

/* Tokenizes text[0..len) (no special tokens inside) and appends the ids at
 * ids[*n..limit).  Steps 1-3 of tokenization_bert.py. */
static int encode_piece(const wp_tokenizer *t, wp_scratch *s, const char *text, size_t len,
                        int32_t *ids, size_t *n_io, size_t limit, err *e)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    size_t n = *n_io, na, nu = 0, i;
    utf8proc_ssize_t nd;

    /* 1. decode + clean + CJK spacing, straight to UTF-8 for NFC */
    for (i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {       /* invalid byte: U+FFFD, which cleaning drops */
            i++;
            continue;
        }
        i += (size_t)k;
        if (c == 0 || c == 0xFFFD || is_control(c))
            continue;
        if (is_ws(c)) {
            s->u8[nu++] = ' ';
        } else if (t->chinese && uni_is_cjk(c)) {
            s->u8[nu++] = ' ';
            nu += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)s->u8 + nu);
            s->u8[nu++] = ' ';
        } else {
            nu += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)s->u8 + nu);
        }
    }
    /* 2. NFC (transformers >= 4.31 normalises before splitting) */
    nd = utf8proc_decompose((const utf8proc_uint8_t *)s->u8, (utf8proc_ssize_t)nu, s->a,
                            (utf8proc_ssize_t)s->cap_cp, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (nd < 0 || (size_t)nd > s->cap_cp)
        return err_set(e, ERR_RANGE, "tokenizer: normalisation failed (%s)",
                       nd < 0 ? utf8proc_errmsg(nd) : "buffer");
    na = (size_t)utf8proc_normalize_utf32(s->a, nd, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    /* 3. whitespace tokens -> lowercase/strip -> punctuation split -> WordPiece */
    for (i = 0; i < na && n < limit;) {
        size_t j = i, m;
        int32_t *tok;
        while (i < na && is_split(s->a[i]))
            i++;
        j = i;
        while (j < na && !is_split(s->a[j]))
            j++;
        if (j == i)
            break;
        tok = s->a + i;
        m = j - i;
        if (t->lower) {
            /* lower into b, then (maybe) strip back into a's token slot: the
             * token only shrinks under stripping, but lowering may grow it,
             * so strip into b's second half */
            size_t ml = lower_token(tok, m, s->b);
            if (t->strip) {
                m = strip_accents(s->b, ml, s->b + ml, s->cap_cp - ml);
                tok = s->b + ml;
            } else {
                m = ml;
                tok = s->b;
            }
        } else if (t->strip) {
            m = strip_accents(tok, m, s->b, s->cap_cp);
            tok = s->b;
        }
        for (size_t a = 0; a < m && n < limit;) {
            size_t z = a;
            if (is_punct(tok[a])) {
                z = a + 1;
            } else {
                while (z < m && !is_punct(tok[z]))
                    z++;
            }
            n += wordpiece(t, s, tok + a, z - a, ids + n, limit - n);
            a = z;
        }
        i = j;
    }
    *n_io = n;
    return 0;
}

/* The leftmost special token at or after text[pos]: returns its offset
 * (len when there is none) with its byte length and id; the longest wins
 * among those starting at the same byte. */
static size_t find_special(const wp_tokenizer *t, const char *text, size_t len, size_t pos,
                           size_t *mlen, int32_t *id)
{
    for (size_t i = pos; i < len; i++) {
        unsigned char b = (unsigned char)text[i];
        size_t best = 0;
        if (!(t->sp_first[b >> 3] & (1u << (b & 7))))
            continue;
        for (size_t k = 0; k < t->n_sp; k++)
            if (t->sp[k].len > best && t->sp[k].len <= len - i &&
                memcmp(text + i, t->sp[k].text, t->sp[k].len) == 0) {
                best = t->sp[k].len;
                *id = t->sp[k].id;
            }
        if (best) {
            *mlen = best;
            return i;
        }
    }
    *mlen = 0;
    return len;
}

/* Simple lowercasing of UTF-8 (sentence-transformers do_lower_case) into
 * out (room for 2 len bytes: no lowercase mapping grows a character by more
 * than half); invalid bytes are copied as they are.  Returns the length. */
static size_t lower_utf8(const char *text, size_t len, char *out)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    size_t m = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0) {
            out[m++] = text[i++];
            continue;
        }
        i += (size_t)k;
        m += (size_t)utf8proc_encode_char(utf8proc_tolower(c), (utf8proc_uint8_t *)out + m);
    }
    return m;
}

/* wp_encode with `limit` ids at most (>= 2), whatever max_len says. */
static int encode_upto(const wp_tokenizer *t, const char *text, size_t len, int32_t *ids,
                       size_t limit, size_t *n_out, err *e)
{
    wp_scratch s = {0};
    char *low = NULL;
    size_t n = 0, pos = 0;
    int rc = 0;

    *n_out = 0;
    if (limit < 2)
        return err_set(e, ERR_RANGE, "token buffer of %zu: need room for [CLS] and [SEP]", limit);
    if (t->lower_text) {
        if (!(low = mem_alloc(2 * len + 4))) {
            rc = err_set(e, ERR_NOMEM, "tokenizer: out of memory for %zu bytes of text", len);
            goto out;
        }
        len = lower_utf8(text, len, low);
        text = low;
    }
    if (scratch_init(&s, len) != 0) {
        rc = err_set(e, ERR_NOMEM, "tokenizer: out of memory for %zu bytes of text", len);
        goto out;
    }
    ids[n++] = t->cls;
    while (pos < len && n < limit - 1) {
        size_t mlen;
        int32_t id = -1;
        size_t at = find_special(t, text, len, pos, &mlen, &id);
        if ((rc = encode_piece(t, &s, text + pos, at - pos, ids, &n, limit - 1, e)) != 0)
            goto out;
        if (mlen && n < limit - 1)
            ids[n++] = id;
        pos = at + mlen;
    }
    ids[n++] = t->sep;
    *n_out = n;
out:
    scratch_done(&s);
    mem_free(low);
    return rc;
}

int wp_encode(const wp_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t cap,
              size_t *n_out, err *e)
{
    return encode_upto(t, text, len, ids, cap < t->max_len ? cap : t->max_len, n_out, e);
}

int wp_count(const wp_tokenizer *t, const char *text, size_t len, size_t *n_out, int *truncated,
             err *e)
{
    size_t limit = t->max_len + 1;   /* one more than fits tells a cut */
    int32_t *ids = mem_array(limit, sizeof *ids);
    int rc;

    *n_out = 0;
    if (truncated)
        *truncated = 0;
    if (!ids)
        return err_set(e, ERR_NOMEM, "tokenizer: out of memory");
    rc = encode_upto(t, text, len, ids, limit, n_out, e);
    mem_free(ids);
    if (rc == 0 && *n_out > t->max_len) {
        *n_out = t->max_len;
        if (truncated)
            *truncated = 1;
    }
    return rc;
}
